import { createHash } from 'node:crypto';
import { compactVerify, importJWK } from 'jose';
import { loadOrCreateSigningKey } from '../../src/auth/signing-key.ts';
import { vaultContainerName } from '../../src/storage/containers.ts';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { forgedTokens } from '../support/forged-tokens.ts';
import { targetDeployment, type TargetDeployment } from '../support/target-deployment.ts';

interface ErrorBody {
  error: { code: string; message: string };
}

/**
 * Tokens and tenancy, against a service with state in place: forged management and agent tokens are refused with
 * 401 and ARM's error body; a VM's agent token reads and writes its own container's restores and uploads only; a
 * Contributor of another subscription sees nothing of this one. (That backup blobs hold no plaintext is proven at the
 * storage layer: test/storage/backup-blobs.test.ts, "the raw committed blob holds no plaintext".)
 */
describe('security', () => {
  let t: TargetDeployment;
  let keyFile: string;
  const api = () => t.httpsUrl;

  beforeAll(async () => {
    t = await targetDeployment('security', { asProcess: false });
    keyFile = t.signingKeyFile;
  }, 120_000);
  afterAll(async () => {
    await t?.stop();
  });

  const call = async (
    path: string,
    token: string | undefined,
    init: { method?: string; body?: Buffer; headers?: Record<string, string> } = {},
  ) => {
    const response = await fetch(`${api()}${path}`, {
      method: init.method ?? 'GET',
      headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...init.headers },
      ...(init.body === undefined ? {} : { body: init.body }),
    });
    const bytes = Buffer.from(await response.arrayBuffer());
    return {
      status: response.status,
      headers: response.headers,
      bytes,
      json: () => JSON.parse(bytes.toString('utf8')) as ErrorBody,
    };
  };
  const expectArmError = (answer: Awaited<ReturnType<typeof call>>, status: number, code: string, label = '') => {
    expect({ label, status: answer.status, type: answer.headers.get('content-type') }).toEqual({
      label,
      status,
      type: 'application/json; charset=utf-8',
    });
    const body = answer.json();
    expect({ label, code: body.error.code }).toEqual({ label, code });
    expect(typeof body.error.message, label).toBe('string');
  };
  const vaultPath = () =>
    `/subscriptions/${t.subscriptionId}/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/${t.vault}?api-version=2023-06-01`;
  const agentPath = (container: string, rest: string) => `/agent/v1/containers/${encodeURIComponent(container)}${rest}`;

  it('refuses forged management tokens (signature, issuer, audience, expiry, alg none, HMAC with the public key) with 401', async () => {
    expect((await call(vaultPath(), t.token)).status).toBe(200);
    const forged = await forgedTokens(t.token, keyFile);
    expect(forged.map(([label]) => label)).toEqual(
      expect.arrayContaining([
        'wrong issuer',
        'wrong audience',
        'expired',
        'alg none',
        'HS256 keyed with the public key (PEM)',
        'signed by another key, with the real kid',
      ]),
    );
    for (const [label, token] of forged) {
      const answer = await call(vaultPath(), token);
      expectArmError(answer, 401, 'AuthenticationFailed', label);
      expect(answer.headers.get('www-authenticate'), label).toMatch(/^Bearer/);
    }
    // The claim tests are signed with the service's own key: only the claim is wrong.
    const key = await importJWK((await loadOrCreateSigningKey(keyFile)).publicJwk, 'ES256');
    for (const label of ['wrong issuer', 'wrong audience', 'expired', 'not valid yet']) {
      const token = forged.find(([l]) => l === label)?.[1] ?? '';
      await expect(compactVerify(token, key), label).resolves.toBeDefined();
    }
  });

  it('refuses forged agent tokens with 401, and an agent token on the management plane (and the reverse)', async () => {
    const own = agentPath(t.a.name, `/restores/${t.restoreId}`);
    expect((await call(own, t.a.agentToken)).status).toBe(200);
    for (const [label, token] of await forgedTokens(t.a.agentToken, keyFile))
      expectArmError(await call(own, token), 401, 'AuthenticationFailed', label);
    expectArmError(await call(own, t.token), 401, 'AuthenticationFailed', 'a management token on the agent plane');
    expectArmError(
      await call(vaultPath(), t.a.agentToken),
      401,
      'AuthenticationFailed',
      'an agent token on the management plane',
    );
  });

  it("an agent token cannot read another container's restore: 404 under its own name, 403 under the other's, nothing leaked", async () => {
    // What there is to leak: A's restore, readable by A.
    const mine = await call(agentPath(t.a.name, `/restores/${t.restoreId}/parts/0`), t.a.agentToken);
    expect(mine.status).toBe(200);
    expect(mine.headers.get('content-type')).toBe('application/octet-stream');
    expect(createHash('sha256').update(mine.bytes).digest('hex')).toBe(mine.headers.get('x-content-sha256'));

    const attempts: [string, string, number, string][] = [
      ['state, under its own name', agentPath(t.b.name, `/restores/${t.restoreId}`), 404, 'ResourceNotFound'],
      ['part, under its own name', agentPath(t.b.name, `/restores/${t.restoreId}/parts/0`), 404, 'ResourceNotFound'],
      [
        "state, under A's name",
        agentPath(t.a.name, `/restores/${t.restoreId}`),
        403,
        'UserErrorAgentNotAuthorizedForContainer',
      ],
      [
        "part, under A's name",
        agentPath(t.a.name, `/restores/${t.restoreId}/parts/0`),
        403,
        'UserErrorAgentNotAuthorizedForContainer',
      ],
    ];
    for (const [label, path, status, code] of attempts) {
      const answer = await call(path, t.b.agentToken);
      expectArmError(answer, status, code, label);
      expect(answer.headers.get('x-content-sha256'), label).toBeNull();
      expect(answer.headers.get('x-backup-type'), label).toBeNull();
      expect(answer.bytes.includes(mine.bytes.subarray(0, 64)), label).toBe(false);
      expect(answer.bytes.toString('utf8'), label).not.toMatch(/InProgress|partCount|Full/);
    }
  });

  it("an agent token cannot write into, inspect or commit another container's upload, nor acknowledge its commands", async () => {
    const block = Buffer.from('a block the wrong agent tries to slip into the backup');
    const sha = createHash('sha256').update(block).digest('hex');
    const put = {
      method: 'PUT',
      body: block,
      headers: { 'content-type': 'application/octet-stream', 'x-content-sha256': sha },
    };
    const upload = `/uploads/${t.openUploadId}`;
    const commit = Buffer.from(
      JSON.stringify({
        metadata: {
          backupType: 'Full',
          firstLsn: '1',
          lastLsn: '2',
          checkpointLsn: '1',
          databaseBackupLsn: '0',
          startTime: new Date().toISOString(),
          endTime: new Date().toISOString(),
          sizeBytes: block.length,
          sha256: sha,
          blockCount: 1,
        },
      }),
    );
    const [command] = (await t.sql.query<{ id: string }>(`SELECT "id" FROM "AgentCommand" WHERE "type" = 'restore'`))
      .rows;
    const attempts: [
      string,
      string,
      typeof put | { method: string; body?: Buffer; headers?: Record<string, string> },
      number,
    ][] = [
      ['block, under its own name', agentPath(t.b.name, `${upload}/blocks/0`), put, 404],
      ["block, under A's name", agentPath(t.a.name, `${upload}/blocks/0`), put, 403],
      ['upload state, under its own name', agentPath(t.b.name, upload), { method: 'GET' }, 404],
      [
        'commit, under its own name',
        agentPath(t.b.name, `${upload}/commit`),
        { method: 'POST', body: commit, headers: { 'content-type': 'application/json' } },
        404,
      ],
      ["ack of A's restore command", agentPath(t.b.name, `/commands/${command?.id}/ack`), { method: 'POST' }, 404],
    ];
    for (const [label, path, init, status] of attempts) {
      const answer = await call(path, t.b.agentToken, init);
      expect({ label, status: answer.status }).toEqual({ label, status });
      expect(typeof answer.json().error.code, label).toBe('string');
    }
    // Nothing was written: no block recorded, none staged in blob storage, the upload and the command untouched.
    expect((await t.sql.query('SELECT 1 FROM "UploadBlock" WHERE "uploadId" = $1', [t.openUploadId])).rowCount).toBe(0);
    const [row] = (
      await t.sql.query<{ state: string; blobName: string; vaultId: string }>(
        'SELECT "state", "blobName", "vaultId" FROM "BackupUpload" WHERE "id" = $1',
        [t.openUploadId],
      )
    ).rows;
    expect(row?.state).toBe('Open');
    const blob = BlobServiceClient.fromConnectionString(inject('blobConnectionString'))
      .getContainerClient(vaultContainerName('rv', row?.vaultId ?? ''))
      .getBlockBlobClient(row?.blobName ?? '');
    expect(await blob.exists()).toBe(false);
    await expect(blob.getBlockList('all')).rejects.toMatchObject({ statusCode: 404 });
    expect(
      (await t.sql.query<{ status: string }>('SELECT "status" FROM "AgentCommand" WHERE "id" = $1', [command?.id]))
        .rows[0]?.status,
    ).toBe('Pending');

    // The same block from A's own agent is taken: the refusals above were about whose upload it is.
    expect((await call(agentPath(t.a.name, `${upload}/blocks/0`), t.a.agentToken, put)).status).toBe(200);
    expect((await blob.getBlockList('uncommitted')).uncommittedBlocks).toHaveLength(1);
  });

  it('a Contributor of another subscription finds nothing of this one (404 SubscriptionNotFound)', async () => {
    const sub = `/subscriptions/${t.subscriptionId}`;
    const vault = `${sub}/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/${t.vault}`;
    const item = `${vault}/backupFabrics/Azure/protectionContainers/${encodeURIComponent(t.a.name)}/protectedItems/${encodeURIComponent(t.itemName)}`;
    for (const path of [
      vault,
      `${sub}/providers/Microsoft.RecoveryServices/vaults`,
      `${item}/recoveryPoints`,
      `${vault}/backupJobs`,
    ]) {
      const answer = await call(`${path}?api-version=2023-06-01`, t.otherSubscriptionToken);
      expectArmError(answer, 404, 'SubscriptionNotFound', path);
      expect(answer.bytes.toString('utf8'), path).not.toContain(t.vault);
      expect((await call(`${path}?api-version=2023-06-01`, t.token)).status, path).toBe(200);
    }
  });
});
