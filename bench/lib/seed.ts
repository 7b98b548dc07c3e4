// Seeding for the benchmarks that need thousands of protected items: vaults and policies go through the API (their
// keys and validation matter), VMs, items and a Full recovery point each by SQL (thousands of SDK calls would
// dominate the run).
import type pg from 'pg';

/**
 * For every vault in the database (each with one policy): `vms` registered VMs and `databasesPerVm` protected
 * databases per VM, each with a Full recovery point ending at `fullAt` (so that logs need no healing).
 */
export async function seedProtectedItems(
  sql: pg.Client,
  vms: number,
  databasesPerVm: number,
  fullAt: Date,
): Promise<void> {
  await sql.query(
    `
    INSERT INTO "ProtectionContainer" ("id", "vaultId", "name", "nameKey", "friendlyName", "vmResourceId", "vmResourceIdKey", "os", "agentVersion",
      "registrationStatus", "discovered", "lastHeartbeatAt", "registeredAt", "createdAt", "updatedAt")
    SELECT gen_random_uuid()::text, v."id", 'VMAppContainer;Compute;rg;vm' || n, lower('VMAppContainer;Compute;rg;vm' || n), 'vm' || n,
      '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm' || n || '-' || v."id",
      lower('/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm' || n || '-' || v."id"),
      'WindowsServer2022', 'bench', 'Registered', true, now(), now(), now(), now()
    FROM "Vault" v CROSS JOIN generate_series(1, $1::int) n`,
    [vms],
  );
  await sql.query(
    `
    INSERT INTO "ProtectedItem" ("id", "vaultId", "containerId", "itemName", "itemNameKey", "friendlyName", "instanceName", "recoveryModel",
      "policyId", "protectionState", "createdAt", "updatedAt")
    SELECT gen_random_uuid()::text, c."vaultId", c."id", 'SQLDataBase;MSSQLSERVER;db' || d, 'sqldatabase;mssqlserver;db' || d, 'db' || d, 'MSSQLSERVER', 'FULL',
      p."id", 'Protected', now(), now()
    FROM "ProtectionContainer" c
    -- The bench's own policy: every vault also holds Azure's default policies, made with it.
    JOIN LATERAL (SELECT id FROM "Policy" WHERE "vaultId" = c."vaultId" AND "nameKey" NOT IN ('hourlylogbackup', 'defaultpolicy', 'enhancedpolicy') LIMIT 1) p ON true
    CROSS JOIN generate_series(1, $1::int) d`,
    [databasesPerVm],
  );
  await sql.query(
    `UPDATE "Vault" v SET "protectedItemCount" = (SELECT count(*) FROM "ProtectedItem" i WHERE i."vaultId" = v."id")`,
  );
  await sql.query(
    `
    INSERT INTO "RecoveryPoint" ("id", "vaultId", "protectedItemId", "type", "blobName", "blocks", "firstLsn", "lastLsn", "checkpointLsn",
      "databaseBackupLsn", "startTime", "endTime", "sizeBytes", "storedBytes", "sha256", "createdAt")
    SELECT (1000000000000000 + row_number() OVER ())::text, i."vaultId", i."id", 'Full', i."id" || '/seed.bak', '[]', 100, 200, 150, 0,
      $1, $1, 1, 1, repeat('0', 64), $1
    FROM "ProtectedItem" i`,
    [fullAt],
  );
  await sql.query('ANALYZE');
}
