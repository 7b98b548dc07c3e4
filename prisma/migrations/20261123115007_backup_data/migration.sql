-- CreateEnum
CREATE TYPE "UploadState" AS ENUM ('Open', 'Committed', 'Failed');

-- AlterTable
ALTER TABLE "ProtectedItem" ADD COLUMN     "chainBroken" BOOLEAN NOT NULL DEFAULT false;

-- CreateTable
CREATE TABLE "BackupUpload" (
    "id" TEXT NOT NULL,
    "vaultId" TEXT NOT NULL,
    "protectedItemId" TEXT NOT NULL,
    "containerId" TEXT NOT NULL,
    "jobId" TEXT,
    "backupType" TEXT NOT NULL,
    "isOnDemand" BOOLEAN NOT NULL DEFAULT false,
    "expiresAt" TIMESTAMPTZ(3),
    "compress" BOOLEAN NOT NULL DEFAULT false,
    "blobName" TEXT NOT NULL,
    "state" "UploadState" NOT NULL DEFAULT 'Open',
    "recoveryPointId" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "BackupUpload_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "UploadBlock" (
    "uploadId" TEXT NOT NULL,
    "index" INTEGER NOT NULL,
    "blockId" TEXT NOT NULL,
    "sha256" TEXT NOT NULL,
    "plaintextBytes" INTEGER NOT NULL,
    "storedBytes" INTEGER NOT NULL,
    "compressed" BOOLEAN NOT NULL,

    CONSTRAINT "UploadBlock_pkey" PRIMARY KEY ("uploadId","index")
);

-- CreateTable
CREATE TABLE "RecoveryPoint" (
    "id" TEXT NOT NULL,
    "vaultId" TEXT NOT NULL,
    "protectedItemId" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "blobName" TEXT NOT NULL,
    "blocks" JSONB NOT NULL,
    "firstLsn" BIGINT NOT NULL,
    "lastLsn" BIGINT NOT NULL,
    "checkpointLsn" BIGINT NOT NULL,
    "databaseBackupLsn" BIGINT NOT NULL,
    "differentialBaseLsn" BIGINT,
    "startTime" TIMESTAMPTZ(3) NOT NULL,
    "endTime" TIMESTAMPTZ(3) NOT NULL,
    "sizeBytes" BIGINT NOT NULL,
    "storedBytes" BIGINT NOT NULL,
    "sha256" TEXT NOT NULL,
    "isOnDemand" BOOLEAN NOT NULL DEFAULT false,
    "expiresAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "RecoveryPoint_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "BackupUpload_protectedItemId_state_idx" ON "BackupUpload"("protectedItemId", "state");

-- CreateIndex
CREATE INDEX "BackupUpload_state_updatedAt_idx" ON "BackupUpload"("state", "updatedAt");

-- CreateIndex
CREATE INDEX "RecoveryPoint_protectedItemId_endTime_idx" ON "RecoveryPoint"("protectedItemId", "endTime");

-- CreateIndex
CREATE INDEX "RecoveryPoint_vaultId_type_idx" ON "RecoveryPoint"("vaultId", "type");

-- AddForeignKey
ALTER TABLE "BackupUpload" ADD CONSTRAINT "BackupUpload_protectedItemId_fkey" FOREIGN KEY ("protectedItemId") REFERENCES "ProtectedItem"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "UploadBlock" ADD CONSTRAINT "UploadBlock_uploadId_fkey" FOREIGN KEY ("uploadId") REFERENCES "BackupUpload"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RecoveryPoint" ADD CONSTRAINT "RecoveryPoint_protectedItemId_fkey" FOREIGN KEY ("protectedItemId") REFERENCES "ProtectedItem"("id") ON DELETE CASCADE ON UPDATE CASCADE;
