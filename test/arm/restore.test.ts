import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { clockDeployment, type ClockDeployment } from '../support/own-database.ts';
import { registeredSqlVm, type SqlVm } from '../support/vm.ts';
import { dailyFullWithLogs } from '../support/policies.ts';
import { tomorrowFrom } from '../support/processes.ts';
import { vaultContainerName } from '../../src/storage/containers.ts';
import { protectDatabase } from '../support/protection.ts';

const poll = { updateIntervalInMs: 50 };
const ITEM = 'SQLDataBase;MSSQLSERVER;sales';
/** The first error title of a workload job (the SDK's base Job type has no errorDetails). */
const errorTitleOf = (job: { properties?: object }) =>
  (job.properties as { errorDetails?: { errorTitle?: string }[] } | undefined)?.errorDetails?.[0]?.errorTitle;
const instance = (databases: object[]) => [
  { name: 'MSSQLSERVER', version: '2022', edition: 'Enterprise', pluginIsSysadmin: true, databases },
];

/**
 * Restores through the official SDK, applied by reference agents: a simulated week of backups of a database that
 * changes every second, then restores to random seconds, to a second VM, as files, and from a tampered blob. The
 * proof of a restore is the agent's: the restored image's SHA-256 equals the source's content hash at that second.
 */
describe('restore', () => {
  let d: ClockDeployment;
  let vaultArmId: string;
  let source: SqlVm;
  let target: SqlVm;
  const vault = 'restore-vault';
  const containerArmId = (vm: SqlVm) => `${vaultArmId}/backupFabrics/Azure/protectionContainers/${vm.containerName}`;
  const sourceHashAt = (t: Date) => {
    const store = source.agent.simulatedState!;
    return store.database(store.state.databases.find((db) => db.name === 'sales')!).contentHashAt(t);
  };
  const restoredOn = (vm: SqlVm, name: string) =>
    vm.agent.simulatedState!.state.databases.find((db) => db.name === name);
  const restore = (recoveryPointId: string, properties: object) =>
    d.backup.restores.beginTriggerAndWait(
      vault,
      'rg',
      'Azure',
      source.containerName,
      ITEM,
      recoveryPointId,
      { properties: properties as never },
      poll,
    );
  const pointInTime = (t: Date, targetInfo: object, extra: object = {}) =>
    restore('DefaultRangeRecoveryPoint', {
      objectType: 'AzureWorkloadSQLPointInTimeRestoreRequest',
      recoveryType: 'AlternateLocation',
      shouldUseAlternateTargetLocation: true,
      pointInTime: t,
      targetInfo,
      ...extra,
    });
  const fullPoints = async () => {
    const points = [];
    for await (const p of d.backup.recoveryPoints.list(vault, 'rg', 'Azure', source.containerName, ITEM, {
      filter: "restorePointQueryType eq 'Full'",
    }))
      points.push(p);
    return points;
  };
  let range: { startTime: Date; endTime: Date };

  beforeAll(async () => {
    d = await clockDeployment('restore', { RV_BACKUP_BLOCK_SIZE_BYTES: String(256 * 1024) });
    vaultArmId =
      (await d.vaults.vaults.createOrUpdate('rg', vault, { location: 'westeurope', sku: { name: 'Standard' } }, poll))
        .id ?? '';
    await d.backup.protectionPolicies.createOrUpdate(vault, 'rg', 'DailyHourly', dailyFullWithLogs(60));
    const start = tomorrowFrom(21, 59).start;
    await d.clock({ to: start.toISOString() });
    source = await registeredSqlVm(d.server, d.backup, d.token, vaultArmId, {
      vmName: 'sourcevm',
      resourceGroup: 'sql-rg',
      os: 'WindowsServer2022',
      instances: instance([{ name: 'sales', recoveryModel: 'FULL', sizeMiB: 1, files: 2, writesPerMinute: 60 }]),
    });
    target = await registeredSqlVm(d.server, d.backup, d.token, vaultArmId, {
      vmName: 'targetvm',
      resourceGroup: 'sql-rg',
      os: 'WindowsServer2022',
      instances: instance([{ name: 'other', recoveryModel: 'FULL', sizeMiB: 1, files: 2, writesPerMinute: 0 }]),
    });
    await protectDatabase(d.backup, vaultArmId, source.containerName, ITEM, 'DailyHourly');
    const week = await d.clock({ advanceSeconds: 7 * 86_400 });
    expect(week.backupsStarted).toBe(7 + 7 * 24 - 7);
    const logRange = await d.backup.recoveryPoints.get(
      vault,
      'rg',
      'Azure',
      source.containerName,
      ITEM,
      'DefaultRangeRecoveryPoint',
    );
    const ranges = (logRange.properties as { timeRanges?: { startTime: Date; endTime: Date }[] }).timeRanges ?? [];
    expect(ranges).toHaveLength(1);
    range = ranges[0]!;
  }, 180_000);
  afterAll(async () => {
    await source?.agent.stop();
    await target?.agent.stop();
    await d?.stop();
  });

  it('restores 20 random seconds of a simulated week to a second VM, each proven equal to the source at that second', async () => {
    const first = Math.ceil(range.startTime.getTime() / 1000);
    const last = Math.floor(range.endTime.getTime() / 1000);
    const seconds = fc.sample(fc.integer({ min: first, max: last }), { seed: 20261123, numRuns: 20 });
    const proven = new Set<string>();
    for (const [i, second] of seconds.entries()) {
      const t = new Date(second * 1000);
      await pointInTime(t, {
        overwriteOption: 'FailOnConflict',
        containerId: containerArmId(target),
        databaseName: `MSSQLSERVER/sales_${i}`,
      });
      const restored = restoredOn(target, `sales_${i}`);
      expect(restored?.restoredFrom?.pointInTime, `restore ${i} to ${t.toISOString()}`).toBe(t.toISOString());
      expect(restored?.restoredFrom?.sha256, `restore ${i} to ${t.toISOString()}`).toBe(sourceHashAt(t));
      proven.add(restored?.restoredFrom?.sha256 ?? '');
    }
    // The database changes every second: twenty different seconds, twenty different contents.
    expect(proven.size).toBe(new Set(seconds).size);
    const jobs = [];
    for await (const job of d.backup.backupJobs.list(vault, 'rg', { filter: "operation eq 'Restore'" }))
      jobs.push(job.properties?.status);
    expect(jobs).toEqual(Array(20).fill('Completed'));
  }, 120_000);

  it('refuses a point in time outside every range, naming the ranges, and targets outside the vault', async () => {
    const before = new Date(range.startTime.getTime() - 3_600_000);
    const refused = await pointInTime(before, {
      overwriteOption: 'FailOnConflict',
      containerId: containerArmId(target),
      databaseName: 'MSSQLSERVER/never',
    }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ statusCode: 400, code: 'UserErrorRestorePointNotInRange' });
    expect((refused as Error).message).toContain(range.startTime.toISOString());
    const elsewhere = `/subscriptions/${d.subscriptionId}/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/another/backupFabrics/Azure/protectionContainers/${target.containerName}`;
    const t = new Date(range.endTime.getTime() - 1000);
    await expect(
      pointInTime(t, { overwriteOption: 'FailOnConflict', containerId: elsewhere, databaseName: 'MSSQLSERVER/never' }),
    ).rejects.toMatchObject({ statusCode: 400, code: 'BMSUserErrorInvalidInput' });
    const unknown = `${vaultArmId}/backupFabrics/Azure/protectionContainers/VMAppContainer;Compute;sql-rg;novm`;
    await expect(
      pointInTime(t, { overwriteOption: 'FailOnConflict', containerId: unknown, databaseName: 'MSSQLSERVER/never' }),
    ).rejects.toMatchObject({ statusCode: 400 });
    await expect(
      pointInTime(t, {
        overwriteOption: 'FailOnConflict',
        containerId: containerArmId(target),
        databaseName: 'NOSUCHINSTANCE/never',
      }),
    ).rejects.toMatchObject({ statusCode: 400 });
    expect(restoredOn(target, 'never')).toBeUndefined();
  });

  it('restores a Full to the original database only with Overwrite, and the next backup is a Full', async () => {
    const [full] = await fullPoints();
    const olr = {
      objectType: 'AzureWorkloadSQLRestoreRequest',
      recoveryType: 'OriginalLocation',
      shouldUseAlternateTargetLocation: false,
      isNonRecoverable: false,
    };
    await expect(restore(full!.name!, { ...olr, targetInfo: { overwriteOption: 'FailOnConflict' } })).rejects.toThrow(
      /UserErrorCannotRestoreExistingDBWithoutForceOverwrite/,
    );
    const failedJob = [];
    for await (const job of d.backup.backupJobs.list(vault, 'rg', {
      filter: "operation eq 'Restore' and status eq 'Failed'",
    }))
      failedJob.push(errorTitleOf(job));
    expect(failedJob).toContain('UserErrorCannotRestoreExistingDBWithoutForceOverwrite');

    const recordBefore = restoredOn(source, 'sales');
    await restore(full!.name!, { ...olr, targetInfo: { overwriteOption: 'Overwrite' } });
    const replaced = restoredOn(source, 'sales');
    expect(replaced?.model.base).not.toEqual(recordBefore?.model.base);
    const fullTime = (full!.properties as { recoveryPointTimeInUTC?: Date }).recoveryPointTimeInUTC;
    expect(replaced?.restoredFrom?.pointInTime).toBe(fullTime?.toISOString());
    // The restored database has a log chain of its own: the next scheduled (hourly) log heals into a Full.
    const fullsBefore = (await fullPoints()).length;
    expect((await d.clock({ advanceSeconds: 3_600 })).backupsStarted).toBe(1);
    expect(await fullPoints()).toHaveLength(fullsBefore + 1);
  });

  it('restores as files into a directory of the second VM, with a manifest', async () => {
    const t = new Date(Math.floor((range.startTime.getTime() + range.endTime.getTime()) / 2000) * 1000);
    await pointInTime(
      t,
      {
        overwriteOption: 'Overwrite',
        containerId: containerArmId(target),
        targetDirectoryForFileRestore: 'F:\\restore\\sales',
      },
      { recoveryMode: 'FileRecovery' },
    );
    const directory = join(target.agent.filesRoot, 'F', 'restore', 'sales');
    const manifest = JSON.parse(readFileSync(join(directory, 'manifest.json'), 'utf8')) as {
      pointInTime: string;
      files: { fileName: string; type: string }[];
      restoreScript: string;
    };
    expect(manifest.pointInTime).toBe(t.toISOString());
    expect(manifest.files[0]?.type).toBe('Full');
    expect(manifest.files.slice(1).every((f) => f.type === 'Log')).toBe(true);
    for (const file of manifest.files) expect(existsSync(join(directory, file.fileName))).toBe(true);
    expect(manifest.restoreScript).toContain(`STOPAT = N'${t.toISOString()}'`);
  });

  it('fails a restore from a tampered blob with a clear error and leaves the target untouched', async () => {
    const [, full] = await fullPoints();
    const point = await d.server.app.db.recoveryPoint.findUniqueOrThrow({ where: { id: full!.name! } });
    expect((point.blocks as unknown[]).length).toBeGreaterThan(2);
    // Flip one byte of the second stored block in place: same block ids, same sizes, same committed list.
    const blob = BlobServiceClient.fromConnectionString(inject('blobConnectionString'))
      .getContainerClient(vaultContainerName(d.server.config.blobContainerPrefix, point.vaultId))
      .getBlockBlobClient(point.blobName);
    const { committedBlocks = [] } = await blob.getBlockList('committed');
    let offset = 0;
    for (const [i, block] of committedBlocks.entries()) {
      const bytes = await blob.downloadToBuffer(offset, block.size);
      if (i === 1) bytes[100] = bytes[100]! ^ 0xff;
      await blob.stageBlock(block.name, bytes, bytes.length);
      offset += block.size;
    }
    await blob.commitBlockList(committedBlocks.map((b) => b.name));

    const other = restoredOn(target, 'other');
    const imagesBefore = readdirSync(target.agent.simulatedState!.imagesDir);
    await expect(
      restore(full!.name!, {
        objectType: 'AzureWorkloadSQLRestoreRequest',
        recoveryType: 'AlternateLocation',
        targetInfo: {
          overwriteOption: 'Overwrite',
          containerId: containerArmId(target),
          databaseName: 'MSSQLSERVER/other',
        },
      }),
    ).rejects.toThrow(/UserErrorRecoveryPointIntegrityCheckFailed.*block 1 .*GCM tag/);
    expect(restoredOn(target, 'other')).toEqual(other);
    expect(readdirSync(target.agent.simulatedState!.imagesDir)).toEqual(imagesBefore);
    const titles = [];
    for await (const job of d.backup.backupJobs.list(vault, 'rg', {
      filter: "operation eq 'Restore' and status eq 'Failed'",
    }))
      titles.push(errorTitleOf(job));
    expect(titles).toContain('UserErrorRecoveryPointIntegrityCheckFailed');
  });
});
