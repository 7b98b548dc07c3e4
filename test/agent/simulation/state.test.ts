import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  addRestoredDatabase,
  AgentStateStore,
  BackupNotAllowedError,
  backupRequest,
  type BackupType,
  findDatabase,
  initialChainState,
  openBackup,
  parseVmSpec,
  planBackup,
  recordBackup,
  restoreDatabase,
  RestoreChainError,
  setRecoveryModel,
  SimulatedDatabase,
  SimulationError,
  STATE_FILE,
  syncWithSpec,
  takeForeignBackup,
  type BackupMetadata,
  type AgentState,
  afterBackup,
  afterRecoveryModelChange,
} from '../../../src/agent/simulation/index.ts';
import { tempDir } from './helpers.ts';

const T0 = Date.parse('2024-01-01T00:00:00Z');
const MIN = 60_000;

const spec = (overrides: Record<string, unknown> = {}, extra: unknown[] = []) =>
  parseVmSpec({
    vmName: 'sqlvm1',
    resourceGroup: 'sql-rg',
    instances: [
      {
        name: 'MSSQLSERVER',
        databases: [
          {
            name: 'sales',
            sizeMiB: 1,
            writesPerMinute: 60,
            createdAt: new Date(T0).toISOString(),
            marker: 'M1',
            ...overrides,
          },
          { name: 'master', recoveryModel: 'SIMPLE', sizeMiB: 1, writesPerMinute: 0 },
          ...extra,
        ],
      },
    ],
  });

/** Takes a backup for the vault through the store: plan → stream → record. */
async function vaultBackup(
  store: AgentStateStore,
  name: string,
  type: BackupType,
  at: number,
): Promise<BackupMetadata> {
  const rec = findDatabase(store.state, 'MSSQLSERVER', name)!;
  const request = planBackup({ name, readOnly: rec.readOnly }, rec.chain, type, at);
  const handle = openBackup(store.database(rec), request);
  for await (const _ of handle.stream);
  const meta = await handle.completed;
  await store.update((s) => recordBackup(s, 'MSSQLSERVER', name, meta));
  return meta;
}

describe('backup rules (chain.ts)', () => {
  const db = SimulatedDatabase.create({ seed: 'rules', sizeMiB: 1, writesPerMinute: 60, createdAt: T0 });
  const traits = { name: 'sales', readOnly: false };

  function refusal(fn: () => unknown): BackupNotAllowedError {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(BackupNotAllowedError);
      return e as BackupNotAllowedError;
    }
    throw new Error('expected a refusal');
  }

  it('no full yet → UserErrorParentFullBackupMissing for Differential and Log', () => {
    const chain = initialChainState('FULL');
    expect(refusal(() => planBackup(traits, chain, 'Log', T0)).code).toBe('UserErrorParentFullBackupMissing');
    expect(refusal(() => planBackup(traits, chain, 'Differential', T0)).code).toBe('UserErrorParentFullBackupMissing');
    expect(planBackup(traits, chain, 'Full', T0).type).toBe('Full');
  });

  it('SIMPLE → no log backups; master and read-only → Full/CopyOnlyFull only', () => {
    let simple = initialChainState('SIMPLE');
    simple = afterBackup(simple, openBackup(db, planBackup(traits, simple, 'Full', T0)).metadata);
    expect(simple.logChain).toBeNull();
    expect(refusal(() => planBackup(traits, simple, 'Log', T0 + MIN)).code).toBe(
      'UserErrorSQLPODoesNotSupportBackupType',
    );
    expect(planBackup(traits, simple, 'Differential', T0 + MIN).type).toBe('Differential');
    const full = afterBackup(initialChainState('FULL'), openBackup(db, backupRequest.full(T0)).metadata);
    for (const t of ['Differential', 'Log'] as const) {
      expect(refusal(() => planBackup({ name: 'master', readOnly: false }, full, t, T0 + MIN)).code).toBe(
        'UserErrorSQLPODoesNotSupportBackupType',
      );
      expect(refusal(() => planBackup({ name: 'ro', readOnly: true }, full, t, T0 + MIN)).code).toBe(
        'UserErrorSQLPODoesNotSupportBackupType',
      );
    }
    expect(planBackup({ name: 'master', readOnly: false }, full, 'CopyOnlyFull', T0 + MIN).type).toBe('CopyOnlyFull');
  });

  it('a Full starts the log chain once; later Fulls move the differential base but not the chain; CopyOnlyFull moves nothing', () => {
    let chain = initialChainState('FULL');
    const f1 = openBackup(db, planBackup(traits, chain, 'Full', T0 + MIN)).metadata;
    chain = afterBackup(chain, f1);
    const l1 = openBackup(db, planBackup(traits, chain, 'Log', T0 + 16 * MIN)).metadata;
    expect(l1.firstLsn).toBe(f1.lastLsn);
    chain = afterBackup(chain, l1);
    const f2 = openBackup(db, planBackup(traits, chain, 'Full', T0 + 20 * MIN)).metadata;
    expect(f2.databaseBackupLsn).toBe(f1.checkpointLsn);
    chain = afterBackup(chain, f2);
    const copy = openBackup(db, planBackup(traits, chain, 'CopyOnlyFull', T0 + 25 * MIN)).metadata;
    chain = afterBackup(chain, copy);
    const d = openBackup(db, planBackup(traits, chain, 'Differential', T0 + 28 * MIN)).metadata;
    expect(d.differentialBaseLsn).toBe(f2.checkpointLsn); // not the copy-only
    const l2 = openBackup(db, planBackup(traits, chain, 'Log', T0 + 31 * MIN)).metadata;
    expect(l2.firstLsn).toBe(l1.lastLsn); // the full did not restart the chain
    expect(l2.databaseBackupLsn).toBe(f2.checkpointLsn);
  });

  it('switching to SIMPLE and back breaks the chain until a Full or Differential', () => {
    let chain = afterBackup(initialChainState('FULL'), openBackup(db, backupRequest.full(T0)).metadata);
    chain = afterRecoveryModelChange(chain, 'SIMPLE');
    expect(chain.logChain).toBeNull();
    chain = afterRecoveryModelChange(chain, 'FULL');
    expect(refusal(() => planBackup(traits, chain, 'Log', T0 + 5 * MIN)).code).toBe('UserErrorSQLLSNValidationFailure');
    const diff = openBackup(db, planBackup(traits, chain, 'Differential', T0 + 6 * MIN)).metadata;
    chain = afterBackup(chain, diff);
    expect(planBackup(traits, chain, 'Log', T0 + 9 * MIN)).toMatchObject({
      type: 'Log',
      previous: { lastLsn: diff.lastLsn },
    });
  });
});

describe('agent state (state.ts)', () => {
  it('round-trips through the state dir, atomically', async () => {
    const dir = tempDir();
    const store = await AgentStateStore.open(dir);
    const changes = await store.update((s) => syncWithSpec(s, spec(), T0 + 5 * MIN));
    expect(changes.added).toEqual(['MSSQLSERVER/sales', 'MSSQLSERVER/master']);
    const full = await vaultBackup(store, 'sales', 'Full', T0 + 10 * MIN);
    const log = await vaultBackup(store, 'sales', 'Log', T0 + 25 * MIN);
    await store.update((s) => setRecoveryModel(s, 'MSSQLSERVER', 'sales', 'BULK_LOGGED', T0 + 26 * MIN));

    expect(readdirSync(dir).sort()).toEqual([STATE_FILE, 'images']); // no temp files left
    const again = await AgentStateStore.open(dir);
    expect(again.state).toEqual(store.state);
    const rec = findDatabase(again.state, 'MSSQLSERVER', 'sales')!;
    expect(rec.createdAt).toBe(new Date(T0).toISOString()); // the spec's createdAt, not "now"
    expect(rec.lastBackups.Full).toEqual(full);
    expect(rec.lastBackups.Log).toEqual(log);
    expect(rec.chain).toMatchObject({
      recoveryModel: 'BULK_LOGGED',
      lastFull: { checkpointLsn: full.checkpointLsn },
      logChain: { lastLsn: log.lastLsn },
    });
    expect(rec.recoveryModelChanges).toEqual([
      { at: new Date(T0 + 26 * MIN).toISOString(), from: 'FULL', to: 'BULK_LOGGED' },
    ]);
    // Continues where it stopped: the next log continues the chain, and the content is the same function.
    const next = await vaultBackup(again, 'sales', 'Log', T0 + 40 * MIN);
    expect(next.firstLsn).toBe(log.lastLsn);
    expect(again.database(rec).contentHashAt(T0 + 40 * MIN)).toBe(
      store.database(findDatabase(store.state, 'MSSQLSERVER', 'sales')!).contentHashAt(T0 + 40 * MIN),
    );
    // A database without createdAt in the spec was created "now".
    expect(findDatabase(again.state, 'MSSQLSERVER', 'master')!.createdAt).toBe(new Date(T0 + 5 * MIN).toISOString());
  });

  it('a crash mid-write leaves the previous state and a temp file that the next open removes', async () => {
    const dir = tempDir();
    const store = await AgentStateStore.open(dir);
    await store.update((s) => syncWithSpec(s, spec(), T0));
    const before = readFileSync(join(dir, STATE_FILE), 'utf8');
    writeFileSync(join(dir, `${STATE_FILE}.tmp-999-1`), '{"version":1,"datab');
    const again = await AgentStateStore.open(dir);
    expect(readFileSync(join(dir, STATE_FILE), 'utf8')).toBe(before);
    expect(again.state).toEqual(store.state);
    expect(readdirSync(dir).sort()).toEqual([STATE_FILE, 'images']);
  });

  it('rejects unreadable state; a failed update changes nothing', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, STATE_FILE), '{"version": 99, "databases": [], "deletedDatabases": []}');
    await expect(AgentStateStore.open(dir)).rejects.toThrow(/unsupported state version 99/);
    writeFileSync(join(dir, STATE_FILE), 'not json');
    await expect(AgentStateStore.open(dir)).rejects.toThrow(SimulationError);

    const dir2 = tempDir();
    const store = await AgentStateStore.open(dir2);
    await store.update((s) => syncWithSpec(s, spec(), T0));
    const before = structuredClone(store.state);
    await expect(
      store.update((s: AgentState) => setRecoveryModel(s, 'MSSQLSERVER', 'nope', 'SIMPLE', T0)),
    ).rejects.toThrow(/no database/);
    expect(store.state).toEqual(before);
  });

  it('follows the spec: removed, recreated, recovery model switched', async () => {
    const dir = tempDir();
    const store = await AgentStateStore.open(dir);
    await store.update((s) => syncWithSpec(s, spec({}, [{ name: 'gone', sizeMiB: 1 }]), T0));
    await vaultBackup(store, 'sales', 'Full', T0 + MIN);
    const guid = findDatabase(store.state, 'MSSQLSERVER', 'sales')!.model.databaseGuid;

    const r1 = await store.update((s) => syncWithSpec(s, spec({ recoveryModel: 'SIMPLE' }), T0 + 2 * MIN));
    expect(r1).toEqual({
      added: [],
      removed: ['MSSQLSERVER/gone'],
      recreated: [],
      recoveryModelChanged: ['MSSQLSERVER/sales'],
    });
    const sales = findDatabase(store.state, 'MSSQLSERVER', 'sales')!;
    expect(sales.model.databaseGuid).toBe(guid);
    expect(sales.chain.logChain).toBeNull();
    await expect(vaultBackup(store, 'sales', 'Log', T0 + 3 * MIN)).rejects.toMatchObject({
      code: 'UserErrorSQLPODoesNotSupportBackupType',
    });

    await store.update((s) => syncWithSpec(s, spec({ recoveryModel: 'FULL' }), T0 + 4 * MIN));
    await expect(vaultBackup(store, 'sales', 'Log', T0 + 5 * MIN)).rejects.toMatchObject({
      code: 'UserErrorSQLLSNValidationFailure',
    });
    const full = await vaultBackup(store, 'sales', 'Full', T0 + 6 * MIN);
    expect((await vaultBackup(store, 'sales', 'Log', T0 + 7 * MIN)).firstLsn).toBe(full.lastLsn);

    const r2 = await store.update((s) =>
      syncWithSpec(s, spec({ writesPerMinute: 120, recoveryModel: 'FULL' }), T0 + 8 * MIN),
    );
    expect(r2.recreated).toEqual(['MSSQLSERVER/sales']);
    const recreated = findDatabase(store.state, 'MSSQLSERVER', 'sales')!;
    expect(recreated.model.writes.writesPerMinute).toBe(120);
    expect(recreated.lastBackups).toEqual({});
    expect(store.state.deletedDatabases.map((d) => d.name)).toEqual(['gone', 'sales']);
  });

  it('a backup taken by another tool breaks the chain the vault sees', async () => {
    const dir = tempDir();
    const store = await AgentStateStore.open(dir);
    await store.update((s) => syncWithSpec(s, spec(), T0));
    const full = await vaultBackup(store, 'sales', 'Full', T0 + MIN);
    const l1 = await vaultBackup(store, 'sales', 'Log', T0 + 16 * MIN);
    // A DBA runs BACKUP LOG to their own share: SQL Server's chain moves on, the vault never gets the bytes.
    const rec = findDatabase(store.state, 'MSSQLSERVER', 'sales')!;
    const db = store.database(rec);
    const foreign = takeForeignBackup(db, { name: 'sales', readOnly: false }, rec.chain, 'Log', T0 + 20 * MIN);
    await store.update((s) => recordBackup(s, 'MSSQLSERVER', 'sales', foreign.metadata, { foreign: true }));
    const l2 = await vaultBackup(store, 'sales', 'Log', T0 + 31 * MIN);
    expect(l2.firstLsn).toBe(foreign.metadata.lastLsn);
    expect(l2.firstLsn).not.toBe(l1.lastLsn); // what the service's commit check flags (UserErrorSQLLSNValidationFailure)
    expect(findDatabase(store.state, 'MSSQLSERVER', 'sales')!.lastBackups.Log).toEqual(l2);

    const requests = [
      backupRequest.full(full.endTime),
      backupRequest.log(l1.endTime, full),
      backupRequest.log(l2.endTime, { lastLsn: foreign.metadata.lastLsn, endTime: foreign.metadata.endTime }),
    ];
    await expect(
      restoreDatabase({ parts: requests.map((r) => () => openBackup(db, r).stream), targetDir: dir }),
    ).rejects.toThrow(RestoreChainError);
    // With the foreign log the chain is whole again (the foreign backup is a real backup).
    const withForeign = [requests[0]!, requests[1]!, backupRequest.log(foreign.metadata.endTime, l1), requests[2]!];
    const ok = await restoreDatabase({
      parts: withForeign.map((r) => () => openBackup(db, r).stream),
      stopAt: T0 + 30 * MIN,
      targetDir: dir,
    });
    expect(ok.sha256).toBe(db.contentHashAt(T0 + 30 * MIN));

    // A foreign (non-copy-only) Full becomes the differential base.
    const rec2 = findDatabase(store.state, 'MSSQLSERVER', 'sales')!;
    const foreignFull = takeForeignBackup(db, { name: 'sales', readOnly: false }, rec2.chain, 'Full', T0 + 35 * MIN);
    await store.update((s) => recordBackup(s, 'MSSQLSERVER', 'sales', foreignFull.metadata, { foreign: true }));
    const diff = await vaultBackup(store, 'sales', 'Differential', T0 + 40 * MIN);
    expect(diff.differentialBaseLsn).toBe(foreignFull.metadata.checkpointLsn);
    expect(diff.differentialBaseLsn).not.toBe(full.checkpointLsn);
  });

  it('restored databases: new or overwriting, persisted, still simulated, and restorable in turn', async () => {
    const dir = tempDir();
    const store = await AgentStateStore.open(dir);
    await store.update((s) => syncWithSpec(s, spec(), T0));
    const full = await vaultBackup(store, 'sales', 'Full', T0 + MIN);
    await vaultBackup(store, 'sales', 'Log', T0 + 16 * MIN);
    const source = store.database(findDatabase(store.state, 'MSSQLSERVER', 'sales')!);
    const rec = findDatabase(store.state, 'MSSQLSERVER', 'sales')!;
    const stopAt = T0 + 9 * MIN + 30_000;
    const parts = [backupRequest.full(full.endTime), backupRequest.log(rec.lastBackups.Log!.endTime, full)];
    const restore = await restoreDatabase({
      parts: parts.map((r) => () => openBackup(source, r).stream),
      stopAt,
      targetDir: store.imagesDir,
      fileName: 'sales_copy.img',
    });
    expect(restore.sha256).toBe(source.contentHashAt(stopAt));

    const restoredAt = T0 + 20 * MIN;
    expect(() =>
      addRestoredDatabase(structuredClone(store.state), {
        instanceName: 'MSSQLSERVER',
        name: 'sales',
        restore,
        restoredAt,
      }),
    ).toThrow(/already exists/);
    await store.update((s) =>
      addRestoredDatabase(s, {
        instanceName: 'MSSQLSERVER',
        name: 'sales_copy',
        restore,
        restoredAt,
        writesPerMinute: 60,
        stateDir: dir,
      }),
    );

    const again = await AgentStateStore.open(dir);
    const copy = findDatabase(again.state, 'MSSQLSERVER', 'sales_copy')!;
    expect(copy).toMatchObject({
      origin: 'restore',
      restoredFrom: { restoredLsn: restore.restoredLsn, sha256: restore.sha256 },
    });
    expect(copy.model.base).toMatchObject({ kind: 'image', path: 'images/sales_copy.img' });
    expect(copy.model.familyGuid).toBe(source.familyGuid);
    expect(copy.model.databaseGuid).not.toBe(source.databaseGuid);
    const copyDb = again.database(copy);
    expect(copyDb.contentHashAt(restoredAt)).toBe(restore.sha256);
    const later = restoredAt + 10 * MIN;
    expect(copyDb.contentHashAt(later)).not.toBe(restore.sha256);
    // It needs its own Full first, and then backs up and restores like any database.
    await expect(vaultBackup(again, 'sales_copy', 'Log', later)).rejects.toMatchObject({
      code: 'UserErrorParentFullBackupMissing',
    });
    const copyFull = await vaultBackup(again, 'sales_copy', 'Full', later);
    const copyLog = await vaultBackup(again, 'sales_copy', 'Log', later + 5 * MIN);
    const t = later + 3 * MIN + 17_000;
    const round = await restoreDatabase({
      parts: [backupRequest.full(copyFull.endTime), backupRequest.log(copyLog.endTime, copyFull)].map(
        (r) => () => openBackup(copyDb, r).stream,
      ),
      stopAt: t,
      targetDir: join(dir, 'second'),
    });
    expect(round.sha256).toBe(copyDb.contentHashAt(t));

    // Original-location overwrite: new incarnation of "sales", same family, chain reset, spec identity kept.
    await again.update((s) =>
      addRestoredDatabase(s, {
        instanceName: 'MSSQLSERVER',
        name: 'sales',
        restore,
        restoredAt: T0 + 50 * MIN,
        overwrite: true,
        stateDir: dir,
      }),
    );
    const over = findDatabase(again.state, 'MSSQLSERVER', 'sales')!;
    expect(over.origin).toBe('spec');
    expect(over.model.writes.writesPerMinute).toBe(60); // kept from the replaced database
    expect(over.chain).toEqual(initialChainState('FULL'));
    expect(again.database(over).contentHashAt(T0 + 50 * MIN)).toBe(restore.sha256);
    const sync = await again.update((s) => syncWithSpec(s, spec(), T0 + 51 * MIN));
    expect(sync).toEqual({ added: [], removed: [], recreated: [], recoveryModelChanged: [] }); // the spec did not change
    expect(await again.pruneImages()).toEqual([]);
  });
});
