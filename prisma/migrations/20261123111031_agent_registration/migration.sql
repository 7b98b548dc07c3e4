-- CreateEnum
CREATE TYPE "RegistrationStatus" AS ENUM ('NotRegistered', 'Registering', 'Registered', 'Unregistering');

-- CreateEnum
CREATE TYPE "CommandStatus" AS ENUM ('Pending', 'Delivered', 'Acknowledged', 'Succeeded', 'Failed');

-- CreateTable
CREATE TABLE "VaultCredential" (
    "id" TEXT NOT NULL,
    "vaultId" TEXT NOT NULL,
    "secretHash" TEXT NOT NULL,
    "expiresAt" TIMESTAMPTZ(3) NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL,
    "createdBy" TEXT NOT NULL,

    CONSTRAINT "VaultCredential_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ProtectionContainer" (
    "id" TEXT NOT NULL,
    "vaultId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "nameKey" TEXT NOT NULL,
    "friendlyName" TEXT NOT NULL,
    "vmResourceId" TEXT NOT NULL,
    "vmResourceIdKey" TEXT NOT NULL,
    "os" TEXT NOT NULL,
    "fqdn" TEXT,
    "agentVersion" TEXT NOT NULL,
    "registrationStatus" "RegistrationStatus" NOT NULL DEFAULT 'NotRegistered',
    "discovered" BOOLEAN NOT NULL DEFAULT false,
    "lastHeartbeatAt" TIMESTAMPTZ(3),
    "tokenGeneration" INTEGER NOT NULL DEFAULT 1,
    "inquiryInfo" JSONB,
    "lastInquiryAt" TIMESTAMPTZ(3),
    "registeredAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "ProtectionContainer_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "SqlInstance" (
    "id" TEXT NOT NULL,
    "containerId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "itemName" TEXT NOT NULL,
    "itemNameKey" TEXT NOT NULL,
    "version" TEXT NOT NULL,
    "edition" TEXT NOT NULL,
    "isProtectable" BOOLEAN NOT NULL,
    "notProtectableReason" JSONB,
    "inquiryError" JSONB,
    "dataDirectoryPaths" JSONB NOT NULL DEFAULT '[]',
    "discoveredAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "SqlInstance_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "SqlDatabase" (
    "id" TEXT NOT NULL,
    "vaultId" TEXT NOT NULL,
    "containerId" TEXT NOT NULL,
    "instanceName" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "itemName" TEXT NOT NULL,
    "itemNameKey" TEXT NOT NULL,
    "recoveryModel" TEXT NOT NULL,
    "isReadOnly" BOOLEAN NOT NULL DEFAULT false,
    "state" TEXT NOT NULL DEFAULT 'ONLINE',
    "isProtectable" BOOLEAN NOT NULL,
    "notProtectableReason" JSONB,
    "fileCount" INTEGER NOT NULL,
    "sizeBytes" BIGINT,
    "files" JSONB NOT NULL DEFAULT '[]',
    "discoveredAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "SqlDatabase_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AgentCommand" (
    "id" TEXT NOT NULL,
    "containerId" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "payload" JSONB NOT NULL DEFAULT '{}',
    "status" "CommandStatus" NOT NULL DEFAULT 'Pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "leaseUntil" TIMESTAMPTZ(3),
    "issuedAt" TIMESTAMPTZ(3) NOT NULL,
    "completedAt" TIMESTAMPTZ(3),
    "result" JSONB,
    "errorCode" TEXT,
    "errorMessage" TEXT,
    "operationId" TEXT,

    CONSTRAINT "AgentCommand_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "VaultCredential_vaultId_idx" ON "VaultCredential"("vaultId");

-- CreateIndex
CREATE UNIQUE INDEX "ProtectionContainer_vmResourceIdKey_key" ON "ProtectionContainer"("vmResourceIdKey");

-- CreateIndex
CREATE UNIQUE INDEX "ProtectionContainer_vaultId_nameKey_key" ON "ProtectionContainer"("vaultId", "nameKey");

-- CreateIndex
CREATE UNIQUE INDEX "SqlInstance_containerId_itemNameKey_key" ON "SqlInstance"("containerId", "itemNameKey");

-- CreateIndex
CREATE INDEX "SqlDatabase_vaultId_containerId_itemNameKey_idx" ON "SqlDatabase"("vaultId", "containerId", "itemNameKey");

-- CreateIndex
CREATE UNIQUE INDEX "SqlDatabase_containerId_itemNameKey_key" ON "SqlDatabase"("containerId", "itemNameKey");

-- CreateIndex
CREATE INDEX "AgentCommand_containerId_status_issuedAt_idx" ON "AgentCommand"("containerId", "status", "issuedAt");

-- AddForeignKey
ALTER TABLE "VaultCredential" ADD CONSTRAINT "VaultCredential_vaultId_fkey" FOREIGN KEY ("vaultId") REFERENCES "Vault"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ProtectionContainer" ADD CONSTRAINT "ProtectionContainer_vaultId_fkey" FOREIGN KEY ("vaultId") REFERENCES "Vault"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "SqlInstance" ADD CONSTRAINT "SqlInstance_containerId_fkey" FOREIGN KEY ("containerId") REFERENCES "ProtectionContainer"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "SqlDatabase" ADD CONSTRAINT "SqlDatabase_vaultId_fkey" FOREIGN KEY ("vaultId") REFERENCES "Vault"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "SqlDatabase" ADD CONSTRAINT "SqlDatabase_containerId_fkey" FOREIGN KEY ("containerId") REFERENCES "ProtectionContainer"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AgentCommand" ADD CONSTRAINT "AgentCommand_containerId_fkey" FOREIGN KEY ("containerId") REFERENCES "ProtectionContainer"("id") ON DELETE CASCADE ON UPDATE CASCADE;
