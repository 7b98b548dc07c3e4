-- CreateEnum
CREATE TYPE "BuiltInRole" AS ENUM ('Contributor', 'BackupOperator', 'BackupReader');

-- CreateEnum
CREATE TYPE "OperationStatus" AS ENUM ('InProgress', 'Succeeded', 'Failed', 'Canceled');

-- CreateEnum
CREATE TYPE "JobStatus" AS ENUM ('InProgress', 'Completed', 'Failed', 'CompletedWithWarnings', 'Cancelled', 'Cancelling');

-- CreateTable
CREATE TABLE "Principal" (
    "id" TEXT NOT NULL,
    "clientId" TEXT,
    "secretHash" TEXT,
    "displayName" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Principal_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "RoleAssignment" (
    "id" TEXT NOT NULL,
    "principalId" TEXT NOT NULL,
    "role" "BuiltInRole" NOT NULL,
    "subscriptionId" TEXT NOT NULL,

    CONSTRAINT "RoleAssignment_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Vault" (
    "id" TEXT NOT NULL,
    "subscriptionId" TEXT NOT NULL,
    "resourceGroup" TEXT NOT NULL,
    "resourceGroupKey" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "nameKey" TEXT NOT NULL,
    "location" TEXT NOT NULL,
    "tags" JSONB NOT NULL DEFAULT '{}',
    "sku" JSONB NOT NULL,
    "identity" JSONB,
    "extraProperties" JSONB NOT NULL DEFAULT '{}',
    "publicNetworkAccess" TEXT NOT NULL DEFAULT 'Enabled',
    "softDeleteState" TEXT NOT NULL DEFAULT 'Enabled',
    "softDeleteRetentionDays" INTEGER NOT NULL DEFAULT 14,
    "enhancedSecurityState" TEXT NOT NULL DEFAULT 'Enabled',
    "storageType" TEXT NOT NULL DEFAULT 'GeoRedundant',
    "crossRegionRestore" BOOLEAN NOT NULL DEFAULT false,
    "etag" TEXT NOT NULL,
    "wrappedDataKey" BYTEA NOT NULL,
    "provisioningState" TEXT NOT NULL DEFAULT 'Succeeded',
    "createdBy" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Vault_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Operation" (
    "id" TEXT NOT NULL,
    "subscriptionId" TEXT NOT NULL,
    "resourceGroupKey" TEXT NOT NULL,
    "vaultNameKey" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "status" "OperationStatus" NOT NULL DEFAULT 'InProgress',
    "startTime" TIMESTAMPTZ(3) NOT NULL,
    "endTime" TIMESTAMPTZ(3),
    "errorStatus" INTEGER,
    "errorCode" TEXT,
    "errorMessage" TEXT,
    "jobId" TEXT,
    "target" JSONB NOT NULL DEFAULT '{}',

    CONSTRAINT "Operation_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Job" (
    "id" TEXT NOT NULL,
    "vaultId" TEXT NOT NULL,
    "operation" TEXT NOT NULL,
    "status" "JobStatus" NOT NULL DEFAULT 'InProgress',
    "entityFriendlyName" TEXT NOT NULL,
    "backupManagementType" TEXT NOT NULL DEFAULT 'AzureWorkload',
    "workloadType" TEXT NOT NULL DEFAULT 'SQLDataBase',
    "startTime" TIMESTAMPTZ(3) NOT NULL,
    "endTime" TIMESTAMPTZ(3),
    "errorDetails" JSONB NOT NULL DEFAULT '[]',
    "extendedInfo" JSONB NOT NULL DEFAULT '{}',
    "cancellable" BOOLEAN NOT NULL DEFAULT false,

    CONSTRAINT "Job_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Principal_clientId_key" ON "Principal"("clientId");

-- CreateIndex
CREATE INDEX "RoleAssignment_principalId_idx" ON "RoleAssignment"("principalId");

-- CreateIndex
CREATE UNIQUE INDEX "RoleAssignment_principalId_role_subscriptionId_key" ON "RoleAssignment"("principalId", "role", "subscriptionId");

-- CreateIndex
CREATE INDEX "Vault_subscriptionId_nameKey_idx" ON "Vault"("subscriptionId", "nameKey");

-- CreateIndex
CREATE UNIQUE INDEX "Vault_subscriptionId_resourceGroupKey_nameKey_key" ON "Vault"("subscriptionId", "resourceGroupKey", "nameKey");

-- CreateIndex
CREATE INDEX "Job_vaultId_startTime_id_idx" ON "Job"("vaultId", "startTime" DESC, "id");

-- AddForeignKey
ALTER TABLE "RoleAssignment" ADD CONSTRAINT "RoleAssignment_principalId_fkey" FOREIGN KEY ("principalId") REFERENCES "Principal"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Job" ADD CONSTRAINT "Job_vaultId_fkey" FOREIGN KEY ("vaultId") REFERENCES "Vault"("id") ON DELETE CASCADE ON UPDATE CASCADE;
