import pg from 'pg';

/**
 * Fills one vault (created through the API, with one policy) with `items` protected databases on `vms` registered VMs
 * by SQL, each with a Full recovery point an hour before `asOf` (the service clock), and sets the vault's item counter: a vault at the 2000-item
 * limit in a second, where 2000 real configurations would take minutes. One database in 37 is ActionRequired.
 */
export async function seedProtectedItems(
  databaseUrl: string,
  vaultRowId: string,
  vms: number,
  items: number,
  asOf: Date,
) {
  const sql = new pg.Client({ connectionString: databaseUrl });
  await sql.connect();
  try {
    await sql.query('BEGIN');
    await sql.query(
      `INSERT INTO "ProtectionContainer" ("id", "vaultId", "name", "nameKey", "friendlyName", "vmResourceId", "vmResourceIdKey", "os",
         "agentVersion", "registrationStatus", "discovered", "lastHeartbeatAt", "registeredAt", "createdAt", "updatedAt")
       SELECT gen_random_uuid()::text, $1, 'VMAppContainer;Compute;big-rg;bigvm' || n, lower('VMAppContainer;Compute;big-rg;bigvm' || n),
         'bigvm' || n, '/subscriptions/s/resourceGroups/big-rg/providers/Microsoft.Compute/virtualMachines/bigvm' || n || '-' || $1,
         lower('/subscriptions/s/resourceGroups/big-rg/providers/Microsoft.Compute/virtualMachines/bigvm' || n || '-' || $1),
         'WindowsServer2022', 'seed', 'Registered', true, now(), now(), now(), now()
       FROM generate_series(1, $2::int) n`,
      [vaultRowId, vms],
    );
    await sql.query(
      `INSERT INTO "ProtectedItem" ("id", "vaultId", "containerId", "itemName", "itemNameKey", "friendlyName", "instanceName",
         "recoveryModel", "policyId", "protectionState", "healthStatus", "lastBackupStatus", "lastBackupTime", "createdAt", "updatedAt")
       SELECT gen_random_uuid()::text, $1, c.id, 'SQLDataBase;MSSQLSERVER;db' || lpad(n::text, 4, '0'),
         'sqldatabase;mssqlserver;db' || lpad(n::text, 4, '0'), 'db' || lpad(n::text, 4, '0'), 'MSSQLSERVER', 'FULL', p.id, 'Protected',
         CASE WHEN n % 37 = 0 THEN 'ActionRequired' ELSE 'Healthy' END, 'Healthy', $4::timestamptz - interval '1 hour', now(), now()
       FROM generate_series(0, $2::int - 1) n
       JOIN (SELECT id, row_number() OVER (ORDER BY name) - 1 AS k FROM "ProtectionContainer" WHERE "vaultId" = $1) c ON c.k = n % $3
       -- The policy the test made: every vault also holds Azure's default policies, made with it.
       JOIN (SELECT id FROM "Policy" WHERE "vaultId" = $1 AND "nameKey" NOT IN ('hourlylogbackup', 'defaultpolicy', 'enhancedpolicy') LIMIT 1) p ON true`,
      [vaultRowId, items, vms, asOf],
    );
    await sql.query(
      `INSERT INTO "RecoveryPoint" ("id", "vaultId", "protectedItemId", "type", "blobName", "blocks", "firstLsn", "lastLsn",
         "checkpointLsn", "databaseBackupLsn", "startTime", "endTime", "sizeBytes", "storedBytes", "sha256", "createdAt")
       SELECT gen_random_uuid()::text, $1, i.id, 'Full', i.id || '/seed.bak', '[]', 100, 200, 150, 0,
         $2::timestamptz - interval '65 minutes', $2::timestamptz - interval '1 hour', 1048576, 734003, repeat('0', 64), now()
       FROM "ProtectedItem" i WHERE i."vaultId" = $1`,
      [vaultRowId, asOf],
    );
    await sql.query(`UPDATE "Vault" SET "protectedItemCount" = $2 WHERE "id" = $1`, [vaultRowId, items]);
    await sql.query('COMMIT');
  } catch (error) {
    await sql.query('ROLLBACK');
    throw error;
  } finally {
    await sql.end();
  }
}
