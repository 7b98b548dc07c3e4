-- AlterTable
ALTER TABLE "ProtectionContainer" ADD COLUMN     "availabilityGroup" JSONB,
ADD COLUMN     "containerType" TEXT NOT NULL DEFAULT 'VMAppContainer';
