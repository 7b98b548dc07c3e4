import { createHash } from 'node:crypto';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openDecrypted, type StoredBlock } from '../../src/storage/backup-blobs.ts';
import { vaultContainerName } from '../../src/storage/containers.ts';
import { unwrapDataKey } from '../../src/storage/keys.ts';
import { backupRig, eventually, tomorrowFrom, type BackupRig } from '../support/processes.ts';

/**
 * kill -9 of the API process (src/server.ts, RV_WORKERS=false) while an agent streams a backup into it. The stream
 * goes from the agent process to the API, so this is the process whose death an upload must survive: (a) with the
 * API back, the agent resumes and sends only what the vault had not acknowledged; (b) with the agent gone too, the
 * attempt never commits, the abandoned-upload sweep fails its job and deletes its blob, and the next backup runs.
 */
describe('kill -9 of the API', () => {
  let rig: BackupRig;
  // Tomorrow 09:59 UTC: the 10:00 Log is the first scheduled backup (healed into a Full: there is none yet).
  const { start, at } = tomorrowFrom(9, 59);

  beforeAll(async () => {
    // An upload silent for 5 minutes of service time is abandoned (the sweep runs with every scheduler tick).
    rig = await backupRig({ name: 'apikill', sizeMiB: 48, start, env: { RV_ABANDONED_UPLOAD_MINUTES: '5' } });
  });
  afterAll(async () => {
    await rig?.stop();
  });

  const points = async () =>
    (
      await rig.sql.query<{ id: string; type: string; blobName: string; blocks: StoredBlock[]; sha256: string }>(
        'SELECT "id", "type", "blobName", "blocks", "sha256" FROM "RecoveryPoint" ORDER BY "endTime"',
      )
    ).rows;
  const blocksOf = async (uploadId: string) =>
    (
      await rig.sql.query<{ index: number }>(
        'SELECT "index" FROM "UploadBlock" WHERE "uploadId" = $1 ORDER BY "index"',
        [uploadId],
      )
    ).rows.map((r) => r.index);
  const openUpload = () =>
    eventually(
      'a backup to stream',
      async () => {
        const [open] = (await rig.uploads()).filter((u) => u.state === 'Open');
        return open !== undefined && (await blocksOf(open.id)).length >= 10 ? open : undefined;
      },
      30_000,
      20,
    );
  /** The block PUTs of `uploadId` in an API process's request log: all that reached it, and those it answered 200. */
  const blockRequests = (lines: string[], uploadId: string) => {
    const urls = new RegExp(`"url":"[^"]*/uploads/${uploadId}/blocks/(\\d+)"`);
    const received = new Map<string, number>();
    const answered: number[] = [];
    for (const line of lines) {
      let entry: { msg?: string; reqId?: string; res?: { statusCode?: number } };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        continue; // the banner, or a line cut by the kill
      }
      const index = urls.exec(line)?.[1];
      if (entry.msg === 'incoming request' && index !== undefined && entry.reqId !== undefined)
        received.set(entry.reqId, Number(index));
      const answeredIndex = entry.reqId === undefined ? undefined : received.get(entry.reqId);
      if (entry.msg === 'request completed' && entry.res?.statusCode === 200 && answeredIndex !== undefined)
        answered.push(answeredIndex);
    }
    return { received: [...received.values()], answered };
  };
  const container = () =>
    BlobServiceClient.fromConnectionString(inject('blobConnectionString')).getContainerClient(
      vaultContainerName('rv', rig.vaultId),
    );

  it('mid-upload, then restarted: the agent resumes, sends only the blocks the vault lacked, and the blob is the recovery point’s', async () => {
    await rig.approach(at(10, 0));
    const upload = await openUpload();
    await rig.api.kill();
    // What the vault acknowledged (answered 200) before it died, and what it had recorded.
    const acknowledged = blockRequests(rig.api.lines, upload.id).answered;
    const recorded = await blocksOf(upload.id);

    await rig.restartApi();
    await eventually(
      'the upload to commit',
      async () => (await rig.uploads()).find((u) => u.id === upload.id)?.state === 'Committed',
      30_000,
      100,
    );
    const [point] = await points();
    expect(point?.type).toBe('Full');
    const all = point!.blocks.map((b) => b.index);
    // What reached the restarted API: no block the vault had acknowledged, every block it had not recorded, and
    // nothing else but the few that were on their way when it died (recorded, their answer lost: the agent's client
    // sends those again).
    const resent = blockRequests(rig.api.lines, upload.id).received;
    // The kill landed mid-upload: blocks were left to send to the restarted API.
    expect(recorded.length).toBeLessThan(all.length);
    expect(resent.length).toBeGreaterThan(0);
    expect(acknowledged.length).toBeGreaterThanOrEqual(5);
    expect(resent.filter((index) => acknowledged.includes(index))).toEqual([]);
    expect(new Set(resent).size).toBe(resent.length);
    expect(all.filter((index) => !recorded.includes(index) && !resent.includes(index))).toEqual([]);
    expect(resent.length).toBeLessThanOrEqual(all.length - recorded.length + 4);

    // The committed blob is exactly the recovery point's: its block list, and its content decrypted.
    const blobs = await rig.blobs();
    expect(blobs.committed).toEqual(blobs.recoveryPoints);
    const committed =
      (await container().getBlockBlobClient(point!.blobName).getBlockList('committed')).committedBlocks ?? [];
    expect(committed.map((b) => [b.name, b.size])).toEqual(point!.blocks.map((b) => [b.blockId, b.storedBytes]));
    const {
      rows: [vault],
    } = await rig.sql.query<{ wrappedDataKey: Buffer }>('SELECT "wrappedDataKey" FROM "Vault" WHERE "id" = $1', [
      rig.vaultId,
    ]);
    const dataKey = unwrapDataKey(Buffer.from(rig.deploy.env.RV_MASTER_KEY ?? '', 'base64'), vault!.wrappedDataKey);
    const hash = createHash('sha256');
    for await (const chunk of openDecrypted(container(), point!.blobName, dataKey, point!.blocks))
      hash.update(chunk as Buffer);
    expect(hash.digest('hex')).toBe(point!.sha256);
  });

  it('mid-upload with the agent gone too: the attempt never commits, its job fails as abandoned, and the next backup runs', async () => {
    await rig.backup.backups.trigger(rig.vault, 'rg', 'Azure', rig.containerName, rig.itemName, {
      properties: { objectType: 'AzureWorkloadBackupRequest', backupType: 'Full' } as never,
    });
    const upload = await openUpload();
    expect(upload.jobId).not.toBeNull();
    await rig.api.kill();
    rig.agent.kill();
    await rig.agent.exited;
    await rig.restartApi();

    // Past the 5 minutes of silence: the worker's sweep fails the attempt (before the 10:15 Log is dispatched).
    await rig.approach(at(10, 15));
    await eventually(
      'the abandoned upload to fail',
      async () => (await rig.uploads()).find((u) => u.id === upload.id)?.state === 'Failed',
      30_000,
      100,
    );
    const {
      rows: [job],
    } = await rig.sql.query<{ status: string; errorDetails: { errorTitle: string; errorString: string }[] }>(
      'SELECT "status", "errorDetails" FROM "Job" WHERE "id" = $1',
      [upload.jobId],
    );
    expect(job?.status).toBe('Failed');
    expect(job?.errorDetails).toEqual([
      expect.objectContaining({
        errorTitle: 'UserErrorBackupUploadAbandoned',
        errorString: `The agent stopped sending backup ${upload.id} and never committed it.`,
      }),
    ]);
    expect((await points()).map((p) => p.type)).toEqual(['Full']);
    // The upload is Failed first (a racing commit then loses), its blob deleted just after (and on the way it is
    // briefly an empty committed blob: its staged blocks are discarded by committing an empty list before the delete).
    const attempt = (
      await rig.sql.query<{ blobName: string }>('SELECT "blobName" FROM "BackupUpload" WHERE "id" = $1', [upload.id])
    ).rows[0]!.blobName;
    const attemptBlob = async () =>
      container()
        .getBlockBlobClient(attempt)
        .getBlockList('all')
        .then(
          () => 200,
          (error: { statusCode?: number }) => error.statusCode,
        );
    await eventually("the attempt's blob to go", async () => (await attemptBlob()) === 404, 10_000, 100);
    const blobs = await rig.blobs();
    expect(blobs.committed).toEqual(blobs.recoveryPoints);

    // The agent back: the 10:15 Log is taken and committed.
    await rig.restartAgent();
    await eventually('the 10:15 Log', async () => (await points()).some((p) => p.type === 'Log'), 30_000, 100);
    expect((await points()).map((p) => p.type)).toEqual(['Full', 'Log']);
    const after = await rig.blobs();
    expect(after.committed).toEqual(after.recoveryPoints);
  });
});
