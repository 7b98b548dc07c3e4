-- CreateTable
CREATE TABLE "Alert" (
    "id" TEXT NOT NULL,
    "vaultId" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "severity" TEXT NOT NULL,
    "protectedItemId" TEXT,
    "entityName" TEXT NOT NULL,
    "code" TEXT,
    "message" TEXT NOT NULL,
    "raisedAt" TIMESTAMPTZ(3) NOT NULL,
    "resolvedAt" TIMESTAMPTZ(3),
    "acknowledgedAt" TIMESTAMPTZ(3),

    CONSTRAINT "Alert_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Alert_vaultId_raisedAt_idx" ON "Alert"("vaultId", "raisedAt");

-- CreateIndex
CREATE INDEX "Alert_protectedItemId_kind_resolvedAt_idx" ON "Alert"("protectedItemId", "kind", "resolvedAt");

-- AddForeignKey
ALTER TABLE "Alert" ADD CONSTRAINT "Alert_vaultId_fkey" FOREIGN KEY ("vaultId") REFERENCES "Vault"("id") ON DELETE CASCADE ON UPDATE CASCADE;
