import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import type { RecoveryServicesBackupClient } from '@azure/arm-recoveryservicesbackup';
import { ownDatabase } from './databases.ts';
import { deployment, eventually, freePort, spawnApi, type ServiceProcess } from './processes.ts';
import { asSdkPolicy, fullPolicy } from './policies.ts';
import { createdVault, fetchToken, sdkClients } from './sdk.ts';
import { principalWith, startTestServer, type TestServer } from './server.ts';
import { registeredSqlVm, sqlVmSpec } from './vm.ts';
import { protectDatabase } from './protection.ts';

/** A registered VM of the target deployment, its agent stopped: its token still works, nothing moves by itself. */
export interface TargetContainer {
  name: string;
  agentToken: string;
}

/**
 * The service (API and workers: its own process, or in this one) on a database of its own, holding state worth
 * damaging: a vault with a policy, two registered VMs (A and B), a protected database on A with a Full recovery
 * point, an open upload of a second backup and a restore in progress to A. The agents are stopped once that state
 * exists, so the database stays still unless a request changes it.
 */
export interface TargetDeployment {
  httpsUrl: string;
  /** The service as a child process, when it was started as one. */
  process: ServiceProcess | undefined;
  /** The file holding the key the service signs tokens with. */
  signingKeyFile: string;
  sql: pg.Client;
  backup: RecoveryServicesBackupClient;
  subscriptionId: string;
  /** The development principal's token (Contributor on every subscription). */
  token: string;
  /** A Contributor of another subscription only. */
  otherSubscriptionToken: string;
  vault: string;
  policy: string;
  itemName: string;
  a: TargetContainer;
  b: TargetContainer;
  recoveryPointId: string;
  jobId: string;
  openUploadId: string;
  restoreId: string;
  /** Per table: row count and an md5 of every row's text. */
  snapshot(): Promise<Record<string, string>>;
  stop(): Promise<void>;
}

/** Starts the target; `asProcess`: the service as a child process (src/server.ts), else in this process. */
export async function targetDeployment(name: string, options: { asProcess: boolean }): Promise<TargetDeployment> {
  const database = ownDatabase(`rv_target_${name}`);
  const databaseUrl = database.url;
  const subscriptionId = randomUUID();
  const stranger = principalWith('Contributor', [randomUUID()]);
  const env = {
    DATABASE_URL: databaseUrl,
    RV_MIGRATE_ON_START: 'true',
    RV_EMULATOR_CONTROLS: 'true',
    RV_LOG_LEVEL: 'warn',
  };
  let service: {
    httpsUrl: string;
    process: ServiceProcess | undefined;
    signingKeyFile: string;
    stop(): Promise<unknown>;
  };
  if (options.asProcess) {
    const deploy = deployment({ ...env, RV_PRINCIPALS: JSON.stringify([stranger]) });
    const api = await spawnApi(deploy, { httpsPort: await freePort() });
    service = {
      httpsUrl: api.httpsUrl,
      process: api,
      signingKeyFile: join(deploy.dataDir, 'token-signing-key.json'),
      stop: async () => {
        await api.stop();
        deploy.remove();
      },
    };
  } else {
    const server = await startTestServer(env, [stranger]);
    service = {
      httpsUrl: server.httpsUrl,
      process: undefined,
      signingKeyFile: server.config.token.signingKeyFile,
      stop: () => server.stop(),
    };
  }
  const sql = new pg.Client({ connectionString: databaseUrl });
  await sql.connect();
  const token = await fetchToken(service.httpsUrl);
  const { vaults, backup } = sdkClients(service.httpsUrl, token, subscriptionId);
  const vault = 'target-vault';
  const policy = 'WeeklyFull';
  const itemName = 'SQLDataBase;MSSQLSERVER;sales';
  const vaultArmId = await createdVault(vaults, vault);
  await backup.protectionPolicies.createOrUpdate(vault, 'rg', policy, asSdkPolicy(fullPolicy()));
  const server = { httpsUrl: service.httpsUrl } as TestServer;
  const vmA = await registeredSqlVm(server, backup, token, vaultArmId, sqlVmSpec('vma', ['sales']));
  const vmB = await registeredSqlVm(server, backup, token, vaultArmId, sqlVmSpec('vmb', ['other']));
  await protectDatabase(backup, vaultArmId, vmA.containerName, itemName, `${policy}`);
  const one = async <T>(what: string, query: string): Promise<T> =>
    eventually(what, async () => (await sql.query(query)).rows[0] as T | undefined, 30_000);
  await one(
    'the protection to be configured',
    `SELECT 1 FROM "ProtectedItem" WHERE "protectionState" <> 'IRPending' OR "nextFullAt" IS NOT NULL`,
  );
  const trigger = () =>
    backup.backups.trigger(vault, 'rg', 'Azure', vmA.containerName, itemName, {
      properties: { objectType: 'AzureWorkloadBackupRequest', backupType: 'Full' } as never,
    });
  await trigger();
  const { id: recoveryPointId } = await one<{ id: string }>(
    'the Full recovery point',
    'SELECT "id" FROM "RecoveryPoint"',
  );

  // From here on A's agent is away: what is asked of it waits, open, in the database.
  const a = { name: vmA.containerName, agentToken: vmA.agent.registration?.agentToken ?? '' };
  const b = { name: vmB.containerName, agentToken: vmB.agent.registration?.agentToken ?? '' };
  await Promise.all([vmA.agent.stop(), vmB.agent.stop()]);
  await trigger();
  const { id: openUploadId } = await one<{ id: string }>(
    'the open upload',
    `SELECT "id" FROM "BackupUpload" WHERE "state" = 'Open'`,
  );
  await backup.restores.beginTrigger(vault, 'rg', 'Azure', vmA.containerName, itemName, recoveryPointId, {
    properties: {
      objectType: 'AzureWorkloadSQLRestoreRequest',
      recoveryType: 'OriginalLocation',
      shouldUseAlternateTargetLocation: false,
      isNonRecoverable: false,
      targetInfo: { overwriteOption: 'Overwrite' },
    } as never,
  });
  const { id: restoreId } = await one<{ id: string }>(
    'the restore',
    `SELECT "id" FROM "Restore" WHERE "state" = 'InProgress'`,
  );
  await one('its command', `SELECT 1 FROM "AgentCommand" WHERE "type" = 'restore'`);
  const { id: jobId } = await one<{ id: string }>('a job', `SELECT "id" FROM "Job" ORDER BY "startTime" LIMIT 1`);

  const tables = (
    await sql.query<{ name: string }>(
      `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> '_prisma_migrations' ORDER BY 1`,
    )
  ).rows.map((r) => r.name);
  const snapshot = async () => {
    const result: Record<string, string> = {};
    for (const table of tables) {
      const { rows } = await sql.query<{ n: string; sum: string }>(
        `SELECT count(*) AS n, md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS sum FROM "${table}" t`,
      );
      result[table] = `${rows[0]?.n} rows, md5 ${rows[0]?.sum}`;
    }
    return result;
  };
  // Operations started above finish in the worker; wait until nothing moves any more.
  let last = await snapshot();
  await eventually(
    'the database to settle',
    async () => {
      const now = await snapshot();
      const same = JSON.stringify(now) === JSON.stringify(last);
      last = now;
      return same;
    },
    30_000,
    500,
  );

  return {
    httpsUrl: service.httpsUrl,
    process: service.process,
    signingKeyFile: service.signingKeyFile,
    sql,
    backup,
    subscriptionId,
    token,
    otherSubscriptionToken: await fetchToken(service.httpsUrl, stranger.clientId, stranger.clientSecret),
    vault,
    policy,
    itemName,
    a,
    b,
    recoveryPointId,
    jobId,
    openUploadId,
    restoreId,
    snapshot,
    async stop() {
      await service.stop();
      await sql.end();
      await database.drop();
    },
  };
}
