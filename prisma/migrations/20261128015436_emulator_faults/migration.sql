-- CreateTable
CREATE TABLE "EmulatorFault" (
    "id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "vaultId" TEXT,
    "protectedItemId" TEXT,
    "containerId" TEXT,
    "code" TEXT,
    "message" TEXT,
    "remaining" INTEGER,
    "until" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "EmulatorFault_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "EmulatorFault_protectedItemId_kind_idx" ON "EmulatorFault"("protectedItemId", "kind");

-- CreateIndex
CREATE INDEX "EmulatorFault_kind_idx" ON "EmulatorFault"("kind");
