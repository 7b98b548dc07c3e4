-- AlterTable
ALTER TABLE "Alert" ADD COLUMN     "openKey" TEXT;

-- AlterTable
ALTER TABLE "BackupUpload" ADD COLUMN     "blockSizeBytes" INTEGER;

-- AlterTable
ALTER TABLE "Operation" ADD COLUMN     "leaseOwner" TEXT,
ADD COLUMN     "leaseUntil" TIMESTAMPTZ(3);

-- CreateTable
CREATE TABLE "DeploymentSetting" (
    "name" TEXT NOT NULL,
    "value" TEXT NOT NULL,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "DeploymentSetting_pkey" PRIMARY KEY ("name")
);

-- CreateIndex
CREATE UNIQUE INDEX "Alert_openKey_key" ON "Alert"("openKey");
