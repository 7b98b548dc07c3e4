import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { BlobServiceClient } from '@azure/storage-blob';
import type { RecoveryServicesBackupClient } from '@azure/arm-recoveryservicesbackup';
import type { RecoveryServicesClient } from '@azure/arm-recoveryservices';
import { startTestServer, type TestServer } from '../support/server.ts';
import { fetchToken, sdkClients } from '../support/sdk.ts';
import { asSdkPolicy, fullPolicy } from '../support/policies.ts';
import { registeredSqlVm, until, type SqlVm } from '../support/vm.ts';
import { vaultContainerName } from '../../src/storage/containers.ts';
import { openDecrypted, type StoredBlock } from '../../src/storage/backup-blobs.ts';
import { dataKeyOf } from '../../src/services/backups.ts';

const poll = { updateIntervalInMs: 50 };
const MARKER = `plaintext-marker-${randomUUID()}`;

/** On-demand backups through the SDK, streamed by a real agent into (encrypted) blob storage, as recovery points. */
describe('backups through the SDK', () => {
  let server: TestServer;
  let vaults: RecoveryServicesClient;
  let backup: RecoveryServicesBackupClient;
  let vm: SqlVm;
  const subscriptionId = randomUUID();
  const vault = 'backup-vault';

  beforeAll(async () => {
    server = await startTestServer();
    const token = await fetchToken(server.httpsUrl);
    ({ vaults, backup } = sdkClients(server.httpsUrl, token, subscriptionId));
    const created = await vaults.vaults.createOrUpdate(
      'rg',
      vault,
      { location: 'westeurope', sku: { name: 'Standard' } },
      poll,
    );
    await backup.protectionPolicies.createOrUpdate(vault, 'rg', 'Daily', asSdkPolicy(fullPolicy()));
    vm = await registeredSqlVm(server, backup, token, created.id ?? '', {
      vmName: 'backupvm',
      resourceGroup: 'sql-rg',
      os: 'WindowsServer2022',
      instances: [
        {
          name: 'MSSQLSERVER',
          version: '2022',
          edition: 'Enterprise',
          pluginIsSysadmin: true,
          databases: [
            { name: 'sales', recoveryModel: 'FULL', sizeMiB: 256, files: 2, writesPerMinute: 600, marker: MARKER },
            { name: 'fresh', recoveryModel: 'FULL', sizeMiB: 1, files: 2, writesPerMinute: 0 },
            // Big enough never to finish before its cancellation (only what is sent is ever generated).
            { name: 'large', recoveryModel: 'FULL', sizeMiB: 16_384, files: 2, writesPerMinute: 0 },
          ],
        },
      ],
    });
    for (const db of ['sales', 'fresh', 'large']) {
      await backup.protectedItems.createOrUpdate(
        vault,
        'rg',
        'Azure',
        vm.containerName,
        `SQLDataBase;MSSQLSERVER;${db}`,
        {
          properties: {
            protectedItemType: 'AzureVmWorkloadSQLDatabase',
            policyId: `${created.id}/backupPolicies/Daily`,
          } as never,
        },
      );
    }
  });
  afterAll(async () => {
    await vm?.agent.stop();
    await server?.stop();
  });

  /** backups.trigger, then the operation's job (its id). */
  async function triggerBackup(db: string, backupType: string): Promise<string> {
    let statusUrl = '';
    await backup.backups.trigger(
      vault,
      'rg',
      'Azure',
      vm.containerName,
      `SQLDataBase;MSSQLSERVER;${db}`,
      { properties: { objectType: 'AzureWorkloadBackupRequest', backupType } as never },
      {
        onResponse: (raw) => {
          expect(raw.status).toBe(202);
          statusUrl = raw.headers.get('azure-asyncoperation') ?? '';
        },
      },
    );
    const operationId = new URL(statusUrl).pathname.split('/').pop() ?? '';
    return until('the backup job', async () => {
      const status = await backup.protectedItemOperationStatuses.get(
        vault,
        'rg',
        'Azure',
        vm.containerName,
        `SQLDataBase;MSSQLSERVER;${db}`,
        operationId,
      );
      return status.status === 'Succeeded' ? (status.properties as { jobId?: string }).jobId : undefined;
    });
  }

  /** backups.trigger, then the operation's job to its end. */
  async function backupNow(db: string, backupType: string) {
    const jobId = await triggerBackup(db, backupType);
    return until(
      'the job to end',
      async () => {
        const job = await backup.jobDetails.get(vault, 'rg', jobId);
        return job.properties?.status === 'InProgress' ? undefined : job;
      },
      60_000,
    );
  }

  it('takes a 256 MiB Full and a Log on demand, lists them as recovery points, and stores no plaintext', async () => {
    const full = await backupNow('sales', 'Full');
    expect(full.properties).toMatchObject({
      operation: 'Backup',
      status: 'Completed',
      entityFriendlyName: 'sales [backupvm]',
    });
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // a second of simulated writes to put in the log
    const log = await backupNow('sales', 'Log');
    expect(log.properties?.status).toBe('Completed');

    const points = [];
    for await (const p of backup.recoveryPoints.list(
      vault,
      'rg',
      'Azure',
      vm.containerName,
      'SQLDataBase;MSSQLSERVER;sales',
    ))
      points.push(p);
    const discrete = points.filter((p) => p.name !== 'DefaultRangeRecoveryPoint');
    expect(discrete.map((p) => [p.properties?.objectType, (p.properties as { type?: string }).type])).toEqual([
      ['AzureWorkloadSQLRecoveryPoint', 'Full'],
    ]);
    const range = points.find((p) => p.name === 'DefaultRangeRecoveryPoint');
    expect(range?.properties?.objectType).toBe('AzureWorkloadSQLPointInTimeRecoveryPoint');
    const timeRanges = (range?.properties as { timeRanges?: { startTime: Date; endTime: Date }[] }).timeRanges ?? [];
    expect(timeRanges).toHaveLength(1);
    expect(timeRanges[0]?.endTime.getTime()).toBeGreaterThan(timeRanges[0]?.startTime.getTime() ?? Infinity);

    const item = await backup.protectedItems.get(
      vault,
      'rg',
      'Azure',
      vm.containerName,
      'SQLDataBase;MSSQLSERVER;sales',
    );
    expect(item.properties).toMatchObject({ protectionState: 'Protected', lastBackupStatus: 'Healthy' });

    // The blobs in Azurite hold no readable byte of the database.
    const vaultRow = await server.app.db.vault.findFirstOrThrow({
      where: { subscriptionId: subscriptionId.toLowerCase(), nameKey: vault },
    });
    const container = BlobServiceClient.fromConnectionString(inject('blobConnectionString')).getContainerClient(
      vaultContainerName(server.config.blobContainerPrefix, vaultRow.id),
    );
    let blobs = 0;
    let largest = 0;
    for await (const blob of container.listBlobsFlat()) {
      const bytes = await container.getBlobClient(blob.name).downloadToBuffer();
      expect(bytes.length).toBeGreaterThan(0);
      expect(bytes.includes(Buffer.from(MARKER))).toBe(false);
      largest = Math.max(largest, bytes.length);
      blobs += 1;
    }
    expect(largest).toBeGreaterThan(256 * 1024 * 1024);
    // …while the backup itself, decrypted through the service's key, starts with the database's first page and its marker.
    const fullPoint = await server.app.db.recoveryPoint.findFirstOrThrow({
      where: { vaultId: vaultRow.id, type: 'Full' },
    });
    const stream = openDecrypted(
      container,
      fullPoint.blobName,
      await dataKeyOf(server.app, vaultRow.id),
      fullPoint.blocks as unknown as StoredBlock[],
    );
    const [first] = (await stream.take(1).toArray()) as Buffer[];
    stream.destroy();
    expect(first?.includes(Buffer.from(MARKER))).toBe(true);
    expect(blobs).toBe(2);
  });

  it('fails a Log with no Full before it, and a type the database cannot take', async () => {
    const log = await backupNow('fresh', 'Log');
    expect(log.properties).toMatchObject({ status: 'Failed' });
    expect((log.properties as { errorDetails?: { errorTitle?: string }[] }).errorDetails?.[0]?.errorTitle).toBe(
      'UserErrorParentFullBackupMissing',
    );
  });

  it('shows a job under its own vault only, whatever the case of the path, and says which part of the path names nothing', async () => {
    const log = await backupNow('fresh', 'Log');
    const jobId = log.name ?? '';
    const found = await backup.jobDetails.get(vault.toUpperCase(), 'RG', jobId.toUpperCase());
    expect(found).toMatchObject({
      id: log.id,
      name: jobId,
      properties: { status: log.properties?.status, startTime: log.properties?.startTime },
    });
    expect(found.id).toContain(`/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/${vault}/backupJobs/`);
    await vaults.vaults.createOrUpdate(
      'rg',
      'other-vault',
      { location: 'westeurope', sku: { name: 'Standard' } },
      poll,
    );
    await expect(backup.jobDetails.get('other-vault', 'rg', jobId)).rejects.toMatchObject({
      statusCode: 404,
      code: 'ResourceNotFound',
      message: `The job '${jobId}' was not found.`,
    });
    await expect(backup.jobDetails.get(vault, 'other-rg', jobId)).rejects.toMatchObject({
      statusCode: 404,
      code: 'ResourceNotFound',
      message: expect.stringContaining("'other-rg'"),
    });
    await expect(backup.jobDetails.get('no-vault', 'rg', randomUUID())).rejects.toMatchObject({
      statusCode: 404,
      message: expect.stringContaining('vaults/no-vault'),
    });
    const stranger = sdkClients(server.httpsUrl, await fetchToken(server.httpsUrl), randomUUID()).backup;
    await expect(stranger.jobDetails.get(vault, 'rg', jobId)).rejects.toMatchObject({ statusCode: 404 });
  });

  it('cancelling a Backup job stops its upload: the agent is refused and stops, and nothing of the backup remains', async () => {
    const jobId = await triggerBackup('large', 'Full');
    const upload = await until(
      'the upload to be under way',
      async () => {
        const found = await server.app.db.backupUpload.findFirst({
          where: { jobId },
          include: { _count: { select: { blocks: true } } },
        });
        return found !== null && found._count.blocks >= 3 ? found : undefined;
      },
      30_000,
    );
    let cancelStatus = 0;
    await backup.jobCancellations.trigger(vault, 'rg', jobId, { onResponse: (raw) => (cancelStatus = raw.status) });
    expect(cancelStatus).toBe(202);
    // The job is Cancelling once the 202 is out: only blocks already on their way may still be recorded.
    const atCancel = await server.app.db.uploadBlock.count({ where: { uploadId: upload.id } });
    const job = await until('the job to be cancelled', async () => {
      const found = await backup.jobDetails.get(vault, 'rg', jobId);
      return found.properties?.status === 'Cancelling' || found.properties?.status === 'InProgress' ? undefined : found;
    });
    expect(job.properties?.status).toBe('Cancelled');
    // The agent was refused and reported the backup cancelled, long before the end of the database.
    const command = await until('the agent to report', async () => {
      const found = await server.app.db.agentCommand.findFirst({
        where: { type: 'backup', payload: { path: ['backupId'], equals: upload.id } },
      });
      return found?.status === 'Failed' ? found : undefined;
    });
    expect(command.errorCode).toBe('UserErrorBackupCancelled');
    const received = await server.app.db.uploadBlock.count({ where: { uploadId: upload.id } });
    expect(received - atCancel).toBeLessThanOrEqual(server.config.backup.blocksInFlight);
    // No recovery point, no blob: not committed, not even staged blocks.
    expect(await server.app.db.backupUpload.findUniqueOrThrow({ where: { id: upload.id } })).toMatchObject({
      state: 'Failed',
      recoveryPointId: null,
    });
    const points = [];
    for await (const p of backup.recoveryPoints.list(
      vault,
      'rg',
      'Azure',
      vm.containerName,
      'SQLDataBase;MSSQLSERVER;large',
    ))
      points.push(p);
    expect(points).toEqual([]);
    const container = BlobServiceClient.fromConnectionString(inject('blobConnectionString')).getContainerClient(
      vaultContainerName(server.config.blobContainerPrefix, upload.vaultId),
    );
    const names = [];
    for await (const blob of container.listBlobsFlat({ includeUncommitedBlobs: true })) names.push(blob.name);
    expect(names).not.toContain(upload.blobName);
    expect(
      await container
        .getBlockBlobClient(upload.blobName)
        .getBlockList('all')
        .catch((error: { statusCode?: number }) => error.statusCode),
    ).toBe(404);
    // A portal shows it cancelled, as the job says, not failed.
    const vaultArmId = `/subscriptions/${subscriptionId}/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/${vault}`;
    const items = (await (
      await fetch(`${server.httpsUrl}/portal/v1${vaultArmId}/backupItems`, {
        headers: { authorization: `Bearer ${await fetchToken(server.httpsUrl)}` },
      })
    ).json()) as { value: { friendlyName: string; lastBackups: Record<string, { status: string }> }[] };
    expect(items.value.find((i) => i.friendlyName === 'large')?.lastBackups.Full).toMatchObject({
      status: 'Cancelled',
    });
    // A job that ended cannot be cancelled again.
    await expect(backup.jobCancellations.trigger(vault, 'rg', jobId)).rejects.toMatchObject({
      statusCode: 400,
      code: 'BMSUserErrorJobNotCancellable',
    });
  });

  it('refuses a block whose checksum is wrong and stores nothing of it; commits only complete uploads; refuses blocks of an ended or purged upload', async () => {
    // Act as the VM's agent over the wire, with its own token: the reference agent steps aside.
    const registration = vm.agent.registration;
    await vm.agent.stop();
    if (registration === null) throw new Error('the agent is not registered');
    const agentCall = (
      path: string,
      init: { method?: string; body?: Buffer | string; headers?: Record<string, string> } = {},
    ) =>
      fetch(`${server.httpsUrl}/agent/v1/containers/${encodeURIComponent(vm.containerName)}${path}`, {
        method: init.method ?? 'GET',
        headers: { authorization: `Bearer ${registration.agentToken}`, ...(init.headers ?? {}) },
        ...(init.body === undefined ? {} : { body: init.body }),
      });
    await backup.backups.trigger(vault, 'rg', 'Azure', vm.containerName, 'SQLDataBase;MSSQLSERVER;fresh', {
      properties: { objectType: 'AzureWorkloadBackupRequest', backupType: 'Full' } as never,
    });
    const command = await until('the backup command', async () => {
      const { commands } = (await (await agentCall('/commands?waitSeconds=1')).json()) as {
        commands: { id: string; type: string; payload: { backupId: string } }[];
      };
      return commands.find((c) => c.type === 'backup');
    });
    const json = { 'content-type': 'application/json' };
    const opened = await agentCall('/uploads', {
      method: 'POST',
      headers: json,
      body: JSON.stringify({
        backupId: command.payload.backupId,
        itemName: 'SQLDataBase;MSSQLSERVER;fresh',
        backupType: 'Full',
      }),
    });
    expect(opened.status).toBe(200);
    const block = Buffer.alloc(64 * 1024, 7);
    const wrongSha = createHash('sha256').update('something else').digest('hex');
    const refused = await agentCall(`/uploads/${command.payload.backupId}/blocks/0`, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream', 'x-content-sha256': wrongSha },
      body: block,
    });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('UserErrorBlockChecksumMismatch');
    const state = (await (await agentCall(`/uploads/${command.payload.backupId}`)).json()) as {
      receivedBlocks: number[];
      state: string;
    };
    expect(state).toMatchObject({ receivedBlocks: [], state: 'Open' });
    const metadata = {
      backupType: 'Full',
      firstLsn: '100',
      lastLsn: '200',
      checkpointLsn: '150',
      databaseBackupLsn: '0',
      startTime: new Date().toISOString(),
      endTime: new Date().toISOString(),
      sizeBytes: block.length,
      sha256: createHash('sha256').update(block).digest('hex'),
      blockCount: 1,
    };
    const incomplete = await agentCall(`/uploads/${command.payload.backupId}/commit`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ metadata }),
    });
    expect(incomplete.status).toBe(409);
    expect(((await incomplete.json()) as { error: { code: string } }).error.code).toBe(
      'UserErrorBackupUploadIncomplete',
    );
    const points = [];
    for await (const p of backup.recoveryPoints.list(
      vault,
      'rg',
      'Azure',
      vm.containerName,
      'SQLDataBase;MSSQLSERVER;fresh',
    ))
      points.push(p);
    expect(points).toEqual([]);
    // The right bytes are taken, and then the commit goes through.
    const accepted = await agentCall(`/uploads/${command.payload.backupId}/blocks/0`, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream', 'x-content-sha256': metadata.sha256 },
      body: block,
    });
    expect(accepted.status).toBe(200);
    const committed = await agentCall(`/uploads/${command.payload.backupId}/commit`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ metadata }),
    });
    expect(committed.status).toBe(200);

    // A block for the committed upload is refused before it is staged: the recovery point's blob gains nothing.
    const putBlock = (backupId: string, index: number) =>
      agentCall(`/uploads/${backupId}/blocks/${index}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/octet-stream', 'x-content-sha256': metadata.sha256 },
        body: block,
      });
    const late = await putBlock(command.payload.backupId, 1);
    expect(late.status).toBe(409);
    const upload = await server.app.db.backupUpload.findUniqueOrThrow({ where: { id: command.payload.backupId } });
    const container = BlobServiceClient.fromConnectionString(inject('blobConnectionString')).getContainerClient(
      vaultContainerName(server.config.blobContainerPrefix, upload.vaultId),
    );
    expect((await container.getBlockBlobClient(upload.blobName).getBlockList('all')).uncommittedBlocks ?? []).toEqual(
      [],
    );

    // A commit whose transaction fails (PostgreSQL refuses the recovery point) keeps the upload open and its blob:
    // the agent's retry commits it, with its data.
    const nextCommand = async (after: string[]) =>
      until('the next backup command', async () => {
        const { commands } = (await (await agentCall('/commands?waitSeconds=1')).json()) as {
          commands: { id: string; type: string; payload: { backupId: string } }[];
        };
        return commands.find((c) => c.type === 'backup' && !after.includes(c.payload.backupId));
      });
    await backup.backups.trigger(vault, 'rg', 'Azure', vm.containerName, 'SQLDataBase;MSSQLSERVER;fresh', {
      properties: { objectType: 'AzureWorkloadBackupRequest', backupType: 'Full' } as never,
    });
    const retried = await nextCommand([command.payload.backupId]);
    expect(
      (
        await agentCall('/uploads', {
          method: 'POST',
          headers: json,
          body: JSON.stringify({
            backupId: retried.payload.backupId,
            itemName: 'SQLDataBase;MSSQLSERVER;fresh',
            backupType: 'Full',
          }),
        })
      ).status,
    ).toBe(200);
    expect((await putBlock(retried.payload.backupId, 0)).status).toBe(200);
    const retriedUpload = await server.app.db.backupUpload.findUniqueOrThrow({
      where: { id: retried.payload.backupId },
    });
    // The database is shared with the suite's other files: the trigger, of a name of its own, refuses this item's
    // points only, and goes whatever happens.
    const refuse = `rv_test_refuse_${randomUUID().replace(/-/g, '')}`;
    await server.app.db.$executeRawUnsafe(
      `CREATE FUNCTION ${refuse}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$`,
    );
    let refusedCommit: Response;
    try {
      await server.app.db.$executeRawUnsafe(`CREATE TRIGGER ${refuse} BEFORE INSERT ON "RecoveryPoint" FOR EACH ROW
        WHEN (NEW."protectedItemId" = '${retriedUpload.protectedItemId}') EXECUTE FUNCTION ${refuse}()`);
      refusedCommit = await agentCall(`/uploads/${retried.payload.backupId}/commit`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ metadata }),
      });
    } finally {
      await server.app.db.$executeRawUnsafe(`DROP TRIGGER IF EXISTS ${refuse} ON "RecoveryPoint"`);
      await server.app.db.$executeRawUnsafe(`DROP FUNCTION ${refuse}()`);
    }
    expect(refusedCommit.status).toBe(500);
    const kept = await server.app.db.backupUpload.findUniqueOrThrow({ where: { id: retried.payload.backupId } });
    expect(kept).toMatchObject({ state: 'Open', recoveryPointId: null });
    const retryCommit = await agentCall(`/uploads/${retried.payload.backupId}/commit`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ metadata }),
    });
    expect(retryCommit.status).toBe(200);
    const { recoveryPointId } = (await retryCommit.json()) as { recoveryPointId: string };
    const point = await server.app.db.recoveryPoint.findUniqueOrThrow({ where: { id: recoveryPointId } });
    const pointBlocks = point.blocks as unknown as StoredBlock[];
    expect(
      ((await container.getBlockBlobClient(point.blobName).getBlockList('committed')).committedBlocks ?? []).map(
        (b) => b.name,
      ),
    ).toEqual(pointBlocks.map((b) => b.blockId));

    // A block for an upload purged with its item meanwhile (soft delete off) gets a 404, not a 500, and leaves no blob.
    await backup.backups.trigger(vault, 'rg', 'Azure', vm.containerName, 'SQLDataBase;MSSQLSERVER;fresh', {
      properties: { objectType: 'AzureWorkloadBackupRequest', backupType: 'Log' } as never,
    });
    const next = await nextCommand([command.payload.backupId, retried.payload.backupId]);
    expect(
      (
        await agentCall('/uploads', {
          method: 'POST',
          headers: json,
          body: JSON.stringify({
            backupId: next.payload.backupId,
            itemName: 'SQLDataBase;MSSQLSERVER;fresh',
            backupType: 'Log',
          }),
        })
      ).status,
    ).toBe(200);
    expect((await putBlock(next.payload.backupId, 0)).status).toBe(200);
    const purging = await server.app.db.backupUpload.findUniqueOrThrow({ where: { id: next.payload.backupId } });
    await backup.backupResourceVaultConfigs.update(vault, 'rg', { properties: { softDeleteFeatureState: 'Disabled' } });
    await backup.protectedItems.delete(vault, 'rg', 'Azure', vm.containerName, 'SQLDataBase;MSSQLSERVER;fresh');
    await until(
      'the purge',
      async () => (await server.app.db.backupUpload.findUnique({ where: { id: next.payload.backupId } })) === null,
    );
    const orphan = await putBlock(next.payload.backupId, 1);
    expect(orphan.status).toBe(404);
    expect(((await orphan.json()) as { error: { code: string } }).error.code).toBe('ResourceNotFound');
    expect(
      await container
        .getBlockBlobClient(purging.blobName)
        .getBlockList('all')
        .then(
          () => 200,
          (error: { statusCode?: number }) => error.statusCode,
        ),
    ).toBe(404);
  });
});
