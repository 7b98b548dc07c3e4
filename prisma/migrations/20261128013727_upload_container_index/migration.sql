-- CreateIndex
CREATE INDEX "BackupUpload_containerId_state_idx" ON "BackupUpload"("containerId", "state");
