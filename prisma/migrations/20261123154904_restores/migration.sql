-- CreateTable
CREATE TABLE "Restore" (
    "id" UUID NOT NULL,
    "vaultId" TEXT NOT NULL,
    "protectedItemId" TEXT NOT NULL,
    "targetContainerId" TEXT NOT NULL,
    "operationId" TEXT NOT NULL,
    "jobId" TEXT,
    "parts" TEXT[],
    "pointInTime" TIMESTAMPTZ(3),
    "state" TEXT NOT NULL DEFAULT 'InProgress',
    "errorCode" TEXT,
    "errorMessage" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Restore_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Restore_targetContainerId_state_idx" ON "Restore"("targetContainerId", "state");
