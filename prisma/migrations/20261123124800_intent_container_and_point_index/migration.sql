-- CreateIndex
CREATE INDEX "RecoveryPoint_protectedItemId_type_endTime_idx" ON "RecoveryPoint"("protectedItemId", "type", "endTime");

-- Intents of VMs unregistered before intents followed their container out: nothing to keep.
DELETE FROM "ProtectionIntent" i WHERE NOT EXISTS (SELECT 1 FROM "ProtectionContainer" c WHERE c."id" = i."containerId");

-- AddForeignKey
ALTER TABLE "ProtectionIntent" ADD CONSTRAINT "ProtectionIntent_containerId_fkey" FOREIGN KEY ("containerId") REFERENCES "ProtectionContainer"("id") ON DELETE CASCADE ON UPDATE CASCADE;
