-- CreateIndex
CREATE INDEX "AgentCommand_operationId_idx" ON "AgentCommand"("operationId");

-- CreateIndex
CREATE INDEX "BackupUpload_jobId_idx" ON "BackupUpload"("jobId");
