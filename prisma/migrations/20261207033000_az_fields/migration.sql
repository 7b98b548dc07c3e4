-- AlterTable
ALTER TABLE "Job" ADD COLUMN     "activityId" TEXT;

-- AlterTable
ALTER TABLE "Policy" ADD COLUMN     "backupManagementType" TEXT NOT NULL DEFAULT 'AzureWorkload';

-- AlterTable
ALTER TABLE "RecoveryPoint" ADD COLUMN     "files" JSONB NOT NULL DEFAULT '[]';
