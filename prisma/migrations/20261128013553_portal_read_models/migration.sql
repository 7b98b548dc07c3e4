-- DropIndex
DROP INDEX "Alert_vaultId_raisedAt_idx";

-- AlterTable
ALTER TABLE "Alert" ADD COLUMN     "containerId" TEXT,
ADD COLUMN     "jobId" TEXT;

-- AlterTable
ALTER TABLE "Job" ADD COLUMN     "protectedItemId" TEXT;

-- CreateTable
CREATE TABLE "VaultStorageUsage" (
    "vaultId" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "recoveryPoints" BIGINT NOT NULL DEFAULT 0,
    "sizeBytes" BIGINT NOT NULL DEFAULT 0,
    "storedBytes" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "VaultStorageUsage_pkey" PRIMARY KEY ("vaultId","type")
);

-- CreateIndex
CREATE INDEX "Alert_vaultId_raisedAt_id_idx" ON "Alert"("vaultId", "raisedAt" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "Alert_vaultId_kind_raisedAt_id_idx" ON "Alert"("vaultId", "kind", "raisedAt" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "Alert_vaultId_resolvedAt_raisedAt_id_idx" ON "Alert"("vaultId", "resolvedAt", "raisedAt" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "BackupUpload_protectedItemId_backupType_createdAt_idx" ON "BackupUpload"("protectedItemId", "backupType", "createdAt" DESC);

-- CreateIndex
CREATE INDEX "Job_vaultId_startTime_status_operation_idx" ON "Job"("vaultId", "startTime", "status", "operation");

-- AddForeignKey
ALTER TABLE "VaultStorageUsage" ADD CONSTRAINT "VaultStorageUsage_vaultId_fkey" FOREIGN KEY ("vaultId") REFERENCES "Vault"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- VaultStorageUsage follows RecoveryPoint through statement triggers (transition tables: one update per vault and
-- type per statement, however many points a retention sweep deletes). Rows are touched in (vaultId, type) order so
-- that concurrent statements lock them in the same order.
CREATE FUNCTION "vault_storage_usage_follow"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  change RECORD;
BEGIN
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    FOR change IN
      SELECT "vaultId", "type", count(*) AS points, sum("sizeBytes") AS size, sum("storedBytes") AS stored
      FROM old_points GROUP BY "vaultId", "type" ORDER BY "vaultId", "type"
    LOOP
      UPDATE "VaultStorageUsage"
      SET "recoveryPoints" = "recoveryPoints" - change.points, "sizeBytes" = "sizeBytes" - change.size, "storedBytes" = "storedBytes" - change.stored
      WHERE "vaultId" = change."vaultId" AND "type" = change."type";
    END LOOP;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO "VaultStorageUsage" ("vaultId", "type", "recoveryPoints", "sizeBytes", "storedBytes")
    SELECT "vaultId", "type", count(*), sum("sizeBytes"), sum("storedBytes")
    FROM new_points GROUP BY "vaultId", "type" ORDER BY "vaultId", "type"
    ON CONFLICT ("vaultId", "type") DO UPDATE SET
      "recoveryPoints" = "VaultStorageUsage"."recoveryPoints" + EXCLUDED."recoveryPoints",
      "sizeBytes" = "VaultStorageUsage"."sizeBytes" + EXCLUDED."sizeBytes",
      "storedBytes" = "VaultStorageUsage"."storedBytes" + EXCLUDED."storedBytes";
  END IF;
  RETURN NULL;
END;
$$;

CREATE TRIGGER "RecoveryPoint_usage_insert" AFTER INSERT ON "RecoveryPoint"
  REFERENCING NEW TABLE AS new_points FOR EACH STATEMENT EXECUTE FUNCTION "vault_storage_usage_follow"();
CREATE TRIGGER "RecoveryPoint_usage_update" AFTER UPDATE ON "RecoveryPoint"
  REFERENCING OLD TABLE AS old_points NEW TABLE AS new_points FOR EACH STATEMENT EXECUTE FUNCTION "vault_storage_usage_follow"();
CREATE TRIGGER "RecoveryPoint_usage_delete" AFTER DELETE ON "RecoveryPoint"
  REFERENCING OLD TABLE AS old_points FOR EACH STATEMENT EXECUTE FUNCTION "vault_storage_usage_follow"();

-- The points that exist already.
INSERT INTO "VaultStorageUsage" ("vaultId", "type", "recoveryPoints", "sizeBytes", "storedBytes")
SELECT "vaultId", "type", count(*), sum("sizeBytes"), sum("storedBytes") FROM "RecoveryPoint" GROUP BY "vaultId", "type";
