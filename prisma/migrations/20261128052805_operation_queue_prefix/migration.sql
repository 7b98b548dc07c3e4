-- AlterTable
ALTER TABLE "Operation" ADD COLUMN     "queuePrefix" TEXT NOT NULL DEFAULT '';

-- CreateIndex
CREATE INDEX "Operation_queuePrefix_status_idx" ON "Operation"("queuePrefix", "status");
