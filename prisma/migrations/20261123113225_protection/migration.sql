-- CreateEnum
CREATE TYPE "ProtectionState" AS ENUM ('IRPending', 'Protected', 'ProtectionError', 'ProtectionStopped', 'BackupsSuspended', 'ProtectionPaused');

-- AlterTable
ALTER TABLE "Vault" ADD COLUMN     "protectedItemCount" INTEGER NOT NULL DEFAULT 0;

-- CreateTable
CREATE TABLE "Policy" (
    "id" TEXT NOT NULL,
    "vaultId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "nameKey" TEXT NOT NULL,
    "properties" JSONB NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Policy_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ProtectedItem" (
    "id" TEXT NOT NULL,
    "vaultId" TEXT NOT NULL,
    "containerId" TEXT NOT NULL,
    "itemName" TEXT NOT NULL,
    "itemNameKey" TEXT NOT NULL,
    "friendlyName" TEXT NOT NULL,
    "instanceName" TEXT NOT NULL,
    "recoveryModel" TEXT NOT NULL,
    "isReadOnly" BOOLEAN NOT NULL DEFAULT false,
    "policyId" TEXT,
    "protectionState" "ProtectionState" NOT NULL DEFAULT 'IRPending',
    "intentId" TEXT,
    "healthStatus" TEXT NOT NULL DEFAULT 'Healthy',
    "lastBackupStatus" TEXT,
    "lastBackupTime" TIMESTAMPTZ(3),
    "lastBackupError" JSONB,
    "deferredDeleteAt" TIMESTAMPTZ(3),
    "nextFullAt" TIMESTAMPTZ(3),
    "nextDiffAt" TIMESTAMPTZ(3),
    "nextLogAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "ProtectedItem_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ProtectionIntent" (
    "id" TEXT NOT NULL,
    "vaultId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "nameKey" TEXT NOT NULL,
    "containerId" TEXT NOT NULL,
    "itemName" TEXT NOT NULL,
    "itemNameKey" TEXT NOT NULL,
    "policyId" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "ProtectionIntent_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Policy_vaultId_nameKey_key" ON "Policy"("vaultId", "nameKey");

-- CreateIndex
CREATE INDEX "ProtectedItem_vaultId_itemNameKey_id_idx" ON "ProtectedItem"("vaultId", "itemNameKey", "id");

-- CreateIndex
CREATE INDEX "ProtectedItem_deferredDeleteAt_idx" ON "ProtectedItem"("deferredDeleteAt");

-- CreateIndex
CREATE UNIQUE INDEX "ProtectedItem_containerId_itemNameKey_key" ON "ProtectedItem"("containerId", "itemNameKey");

-- CreateIndex
CREATE INDEX "ProtectionIntent_containerId_idx" ON "ProtectionIntent"("containerId");

-- CreateIndex
CREATE UNIQUE INDEX "ProtectionIntent_vaultId_nameKey_key" ON "ProtectionIntent"("vaultId", "nameKey");

-- AddForeignKey
ALTER TABLE "Policy" ADD CONSTRAINT "Policy_vaultId_fkey" FOREIGN KEY ("vaultId") REFERENCES "Vault"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ProtectedItem" ADD CONSTRAINT "ProtectedItem_vaultId_fkey" FOREIGN KEY ("vaultId") REFERENCES "Vault"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ProtectedItem" ADD CONSTRAINT "ProtectedItem_containerId_fkey" FOREIGN KEY ("containerId") REFERENCES "ProtectionContainer"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ProtectedItem" ADD CONSTRAINT "ProtectedItem_policyId_fkey" FOREIGN KEY ("policyId") REFERENCES "Policy"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ProtectionIntent" ADD CONSTRAINT "ProtectionIntent_vaultId_fkey" FOREIGN KEY ("vaultId") REFERENCES "Vault"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ProtectionIntent" ADD CONSTRAINT "ProtectionIntent_policyId_fkey" FOREIGN KEY ("policyId") REFERENCES "Policy"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
