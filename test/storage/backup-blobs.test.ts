import { createCipheriv, createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  BLOCK_OVERHEAD_BYTES,
  BackupIntegrityError,
  BlockChecksumError,
  commitBlob,
  deleteBlob,
  openDecrypted,
  stageBlock,
  type StoredBlock,
} from '../../src/storage/backup-blobs.ts';
import { vaultContainerName } from '../../src/storage/containers.ts';
import { createWrappedDataKey, unwrapDataKey } from '../../src/storage/keys.ts';

const MiB = 1024 * 1024;
const MARKER = 'RV-PLAINTEXT-MARKER-7f3a9c1e-do-not-store-in-clear';

const connectionString = inject('blobConnectionString');
const service = BlobServiceClient.fromConnectionString(connectionString);
const masterKey = randomBytes(32);
const dataKey = unwrapDataKey(masterKey, createWrappedDataKey(masterKey));
// A fresh container name: stageBlock must create it.
const container = service.getContainerClient(vaultContainerName('rvtest-blobs', randomUUID()));

afterAll(async () => {
  await container.deleteIfExists();
});

// ---------------------------------------------------------------------------------------------------------------
// Data

/** Deterministic, compressible "table rows" (text with pseudo-random numbers and names), like SQL pages. */
function tableRows(bytes: number, seed: number): Buffer {
  const names = ['Contoso', 'Fabrikam', 'Northwind', 'Tailspin', 'Woodgrove', 'Litware', 'Adatum', 'Proseware'];
  const states = ['Open', 'Shipped', 'Delivered', 'Cancelled'];
  const out = Buffer.alloc(bytes);
  let x = (seed * 2654435761) >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
  let at = 0;
  while (at < bytes) {
    const line = `${seed}:${at}|${names[next() % 8]} ${names[next() % 8]}|${next() % 100000}.${next() % 100}|${states[next() % 4]}|${next().toString(16)}\n`;
    at += out.write(line, at);
  }
  return out;
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Splits `data` into blocks and plants MARKER into every block that is long enough. */
function withMarkers(data: Buffer, blockSize: number): Buffer {
  for (let at = 0; at + Buffer.byteLength(MARKER) + 100 <= data.length; at += blockSize) data.write(MARKER, at + 100);
  return data;
}

function splitBlocks(data: Buffer, blockSize: number): Buffer[] {
  const parts: Buffer[] = [];
  for (let at = 0; at < data.length; at += blockSize)
    parts.push(data.subarray(at, Math.min(at + blockSize, data.length)));
  return parts;
}

/** A source that delivers `data` in chunks of `chunkSize` like a network request body. */
function sourceOf(data: Buffer, chunkSize = 64 * 1024): Readable {
  return Readable.from(splitBlocks(data, chunkSize), { objectMode: false });
}

async function stageAll(blobName: string, parts: Buffer[], compress: boolean, attempt = 'a1'): Promise<StoredBlock[]> {
  const blocks: StoredBlock[] = [];
  for (const [index, part] of parts.entries()) {
    blocks.push(
      await stageBlock({
        container,
        blobName,
        index,
        attempt,
        dataKey,
        source: sourceOf(part),
        contentLength: part.length,
        expectedSha256: sha256(part),
        compress,
      }),
    );
  }
  return blocks;
}

async function storeBackup(
  blobName: string,
  data: Buffer,
  blockSize: number,
  compress: boolean,
): Promise<StoredBlock[]> {
  const blocks = await stageAll(blobName, splitBlocks(data, blockSize), compress);
  await commitBlob(container, blobName, blocks, { recoveryPointId: 'rp-1', backupType: 'Full' });
  return blocks;
}

/** Everything the stream emitted before it ended or failed, and the failure. */
async function drain(stream: Readable): Promise<{ data: Buffer; error: unknown }> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return { data: Buffer.concat(chunks), error: undefined };
  } catch (error) {
    return { data: Buffer.concat(chunks), error };
  }
}

async function rawBlob(blobName: string): Promise<Buffer> {
  return container.getBlockBlobClient(blobName).downloadToBuffer();
}

function offsetOf(blocks: StoredBlock[], index: number): number {
  return blocks.slice(0, index).reduce((sum, b) => sum + b.storedBytes, 0);
}

/**
 * What an attacker with write access to the storage account can do: replace the stored bytes of existing block ids
 * (re-stage the same id with other bytes) and re-commit the very same block list — ids and sizes stay as recorded.
 */
async function replaceStoredBlocks(
  blobName: string,
  blocks: StoredBlock[],
  replacements: Map<number, Buffer>,
): Promise<void> {
  const blob = container.getBlockBlobClient(blobName);
  for (const [index, bytes] of replacements) await blob.stageBlock(blocks[index]!.blockId, bytes, bytes.length);
  await blob.commitBlockList(blocks.map((b) => b.blockId));
}

async function storedBytesOf(blobName: string, blocks: StoredBlock[], index: number): Promise<Buffer> {
  return container.getBlockBlobClient(blobName).downloadToBuffer(offsetOf(blocks, index), blocks[index]!.storedBytes);
}

function expectIntegrityError(
  error: unknown,
  blockIndex: number | undefined,
  reason: BackupIntegrityError['reason'],
): void {
  expect(error).toBeInstanceOf(BackupIntegrityError);
  const e = error as BackupIntegrityError;
  expect({ blockIndex: e.blockIndex, reason: e.reason }).toEqual({ blockIndex, reason });
  if (blockIndex !== undefined) expect(e.message).toContain(`block ${blockIndex}`);
}

// ---------------------------------------------------------------------------------------------------------------

describe('round trip', () => {
  it('creates the vault container on first use', async () => {
    const fresh = service.getContainerClient(vaultContainerName('rvtest-fresh', randomUUID()));
    try {
      expect(await fresh.exists()).toBe(false);
      const part = tableRows(1000, 9);
      const block = await stageBlock({
        container: fresh,
        blobName: 'first/full.bak',
        index: 0,
        attempt: 'a',
        dataKey,
        source: sourceOf(part),
        contentLength: part.length,
        expectedSha256: sha256(part),
        compress: false,
      });
      await commitBlob(fresh, 'first/full.bak', [block], {});
      expect((await drain(openDecrypted(fresh, 'first/full.bak', dataKey, [block]))).data.equals(part)).toBe(true);
    } finally {
      await fresh.deleteIfExists();
    }
  });

  const data = withMarkers(tableRows(3 * MiB + 123_457, 1), MiB);
  const parts = splitBlocks(data, MiB);

  it.each([false, true])(
    'stores 3 × 1 MiB + a short block and reads back the plaintext (compress: %s)',
    async (compress) => {
      const blobName = `roundtrip-${compress}/full.bak`;
      const blocks = await storeBackup(blobName, data, MiB, compress);

      expect(blocks.map((b) => b.index)).toEqual([0, 1, 2, 3]);
      expect(new Set(blocks.map((b) => b.blockId.length)).size).toBe(1);
      expect(blocks.map((b) => b.plaintextBytes)).toEqual(parts.map((p) => p.length));
      expect(blocks.map((b) => b.sha256)).toEqual(parts.map(sha256));
      expect(blocks.every((b) => b.compressed === compress)).toBe(true);
      if (compress) {
        for (const b of blocks) expect(b.storedBytes).toBeLessThan(b.plaintextBytes / 2);
      } else {
        expect(blocks.map((b) => b.storedBytes)).toEqual(parts.map((p) => p.length + BLOCK_OVERHEAD_BYTES));
      }

      const props = await container.getBlockBlobClient(blobName).getProperties();
      expect(props.contentLength).toBe(blocks.reduce((sum, b) => sum + b.storedBytes, 0));
      expect(props.metadata).toMatchObject({ recoverypointid: 'rp-1', backuptype: 'Full' });

      const { data: read, error } = await drain(openDecrypted(container, blobName, dataKey, blocks));
      expect(error).toBeUndefined();
      expect(read.length).toBe(data.length);
      expect(read.equals(data)).toBe(true);

      // Blocks may be handed over in any order; commit is idempotent.
      await commitBlob(container, blobName, [...blocks].reverse(), { recoveryPointId: 'rp-1', backupType: 'Full' });
      expect((await drain(openDecrypted(container, blobName, dataKey, [...blocks].reverse()))).data.equals(data)).toBe(
        true,
      );
    },
  );

  it.each([false, true])('the raw committed blob holds no plaintext (compress: %s)', async (compress) => {
    const blobName = `raw-${compress}/full.bak`;
    await storeBackup(blobName, data, MiB, compress);
    const raw = await rawBlob(blobName);

    expect(data.includes(MARKER)).toBe(true);
    expect(raw.includes(MARKER)).toBe(false);
    expect(raw.includes(Buffer.from(MARKER, 'utf16le'))).toBe(false);
    expect(raw.equals(data)).toBe(false);
    // No 32-byte window of any block's plaintext shows up either.
    for (const part of parts) {
      for (const at of [0, 4096, part.length - 32]) expect(raw.includes(part.subarray(at, at + 32))).toBe(false);
    }
  });

  it('reads an empty and a one-byte block', async () => {
    const blobName = 'tiny/log.bak';
    const parts = [Buffer.from('x'), Buffer.alloc(0)];
    const blocks = await stageAll(blobName, parts, false);
    await commitBlob(container, blobName, blocks, {});
    expect((await drain(openDecrypted(container, blobName, dataKey, blocks))).data.toString()).toBe('x');
  });
});

describe('checksums and retries', () => {
  const parts = splitBlocks(tableRows(3 * 256 * 1024, 2), 256 * 1024);

  it.each([false, true])(
    'a wrong announced SHA-256 rejects with BlockChecksumError and is never committed (compress: %s)',
    async (compress) => {
      const blobName = `badsha-${compress}/full.bak`;
      const good = await stageAll(blobName, parts, compress);
      const part = parts[1]!;
      const wrong = sha256(Buffer.concat([part, Buffer.from('!')]));
      const attempt = stageBlock({
        container,
        blobName,
        index: 1,
        attempt: 'a2',
        dataKey,
        source: sourceOf(part),
        contentLength: part.length,
        expectedSha256: wrong,
        compress,
      });
      await expect(attempt).rejects.toBeInstanceOf(BlockChecksumError);
      await expect(attempt).rejects.toThrow(/SHA-256/);

      const blob = container.getBlockBlobClient(blobName);
      // Streamed (uncompressed) blocks are staged before the checksum is known; compressed ones are checked first.
      const uncommitted = (await blob.getBlockList('uncommitted')).uncommittedBlocks ?? [];
      expect(uncommitted.length).toBe(compress ? 3 : 4);

      await commitBlob(container, blobName, good, {});
      const committed = (await blob.getBlockList('committed')).committedBlocks ?? [];
      expect(committed.map((b) => b.name)).toEqual(good.map((b) => b.blockId));
      expect((await blob.getBlockList('uncommitted')).uncommittedBlocks ?? []).toEqual([]);
      expect((await drain(openDecrypted(container, blobName, dataKey, good))).data.equals(Buffer.concat(parts))).toBe(
        true,
      );
    },
  );

  it('rejects a malformed announced SHA-256 before reading the source', async () => {
    const source = sourceOf(parts[0]!);
    await expect(
      stageBlock({
        container,
        blobName: 'malformed/full.bak',
        index: 0,
        attempt: 'a',
        dataKey,
        source,
        contentLength: parts[0]!.length,
        expectedSha256: 'abc',
        compress: false,
      }),
    ).rejects.toBeInstanceOf(BlockChecksumError);
    expect(source.readableDidRead).toBe(false);
  });

  it.each([false, true])(
    'more or fewer bytes than announced reject with BlockChecksumError, without hanging (compress: %s)',
    async (compress) => {
      const part = parts[0]!;
      const args = {
        container,
        blobName: `length-${compress}/full.bak`,
        index: 0,
        dataKey,
        expectedSha256: sha256(part),
        compress,
      };
      await expect(
        stageBlock({ ...args, attempt: 'short', source: sourceOf(part.subarray(1)), contentLength: part.length }),
      ).rejects.toThrow(BlockChecksumError);
      await expect(
        stageBlock({
          ...args,
          attempt: 'long',
          source: sourceOf(Buffer.concat([part, Buffer.from('x')])),
          contentLength: part.length,
        }),
      ).rejects.toThrow(BlockChecksumError);
    },
  );

  it.each([false, true])('a source that fails mid-block rejects with its error (compress: %s)', async (compress) => {
    const part = parts[0]!;
    async function* broken() {
      yield part.subarray(0, 100_000);
      throw new Error('agent connection lost');
    }
    await expect(
      stageBlock({
        container,
        blobName: `broken-${compress}/full.bak`,
        index: 0,
        attempt: 'a',
        dataKey,
        source: Readable.from(broken(), { objectMode: false }),
        contentLength: part.length,
        expectedSha256: sha256(part),
        compress,
      }),
    ).rejects.toThrow('agent connection lost');
  });

  it('a retried block (same index, new attempt) works and only the committed list counts', async () => {
    const blobName = 'retry/full.bak';
    const blocks = await stageAll(blobName, parts, false);
    const part = parts[1]!;
    const base = {
      container,
      blobName,
      index: 1,
      dataKey,
      contentLength: part.length,
      expectedSha256: sha256(part),
      compress: false,
    };

    // Attempt 2: the agent's bytes were corrupted on the way (announced checksum is of the good bytes).
    const corrupted = Buffer.from(part);
    corrupted[1000]! ^= 0xff;
    await expect(stageBlock({ ...base, attempt: 'a2', source: sourceOf(corrupted) })).rejects.toBeInstanceOf(
      BlockChecksumError,
    );
    // Attempt 3: good bytes, staged as a different block id.
    const retried = await stageBlock({ ...base, attempt: 'a3', source: sourceOf(part) });
    expect(retried.index).toBe(1);
    expect(retried.blockId).not.toBe(blocks[1]!.blockId);
    expect(retried.blockId.length).toBe(blocks[1]!.blockId.length);

    const final = [blocks[0]!, retried, blocks[2]!];
    await commitBlob(container, blobName, final, {});
    const blob = container.getBlockBlobClient(blobName);
    expect(((await blob.getBlockList('committed')).committedBlocks ?? []).map((b) => b.name)).toEqual(
      final.map((b) => b.blockId),
    );
    expect((await drain(openDecrypted(container, blobName, dataKey, final))).data.equals(Buffer.concat(parts))).toBe(
      true,
    );
    // The superseded attempt is no part of the backup.
    const stale = await drain(openDecrypted(container, blobName, dataKey, blocks));
    expectIntegrityError(stale.error, 1, 'missing');
  });

  it('a connection lost mid-block fails fast (a streamed body is never re-sent) and a new attempt works', async () => {
    const proxy = await startCuttingProxy(new URL(container.url));
    try {
      const viaProxy = BlobServiceClient.fromConnectionString(
        proxy.connectionString(connectionString),
      ).getContainerClient(container.containerName);
      const part = tableRows(2 * MiB, 3);
      const base = {
        container: viaProxy,
        blobName: 'cut/full.bak',
        index: 0,
        dataKey,
        contentLength: part.length,
        expectedSha256: sha256(part),
        compress: false,
      };
      proxy.cutAfter(256 * 1024);
      const started = Date.now();
      const failed = await stageBlock({ ...base, attempt: 'a1', source: sourceOf(part) }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(failed).toBeInstanceOf(Error);
      expect((failed as Error).message).toMatch(/cannot be re-sent/); // the retry policy's replay was refused at once
      expect(failed).not.toBeInstanceOf(BlockChecksumError);
      expect(Date.now() - started).toBeLessThan(20_000);

      const block = await stageBlock({ ...base, attempt: 'a2', source: sourceOf(part) });
      await commitBlob(viaProxy, 'cut/full.bak', [block], {});
      expect((await drain(openDecrypted(container, 'cut/full.bak', dataKey, [block]))).data.equals(part)).toBe(true);
    } finally {
      await proxy.close();
    }
  });
});

describe('tampering', () => {
  const blockSize = 64 * 1024;
  const data = withMarkers(tableRows(4 * blockSize, 4), blockSize);
  const parts = splitBlocks(data, blockSize);

  it.each([
    ['the magic', 0, 'format'],
    ['the flags', 3, 'format'],
    ['the nonce', 9, 'tag'],
    ['the ciphertext', 16 + 30_000, 'tag'],
    ['the last ciphertext byte', 16 + blockSize - 1, 'tag'],
    ['the tag', 16 + blockSize + 15, 'tag'],
  ] as const)(
    'one byte flipped in %s of a stored block fails the read at that block, after only the earlier blocks',
    async (_what, at, reason) => {
      const blobName = `tamper-${at}/full.bak`;
      const blocks = await storeBackup(blobName, data, blockSize, false);
      const stored = await storedBytesOf(blobName, blocks, 1);
      stored[at]! ^= 0x01;
      await replaceStoredBlocks(blobName, blocks, new Map([[1, stored]]));
      expect((await rawBlob(blobName)).length).toBe(offsetOf(blocks, 4)); // same layout, one byte different

      const { data: emitted, error } = await drain(openDecrypted(container, blobName, dataKey, blocks));
      expectIntegrityError(error, 1, reason);
      expect(emitted.equals(parts[0]!)).toBe(true); // block 0 only: nothing of block 1 (or later) came out
    },
  );

  it('a corrupted block spanning many pieces is refused before any of its bytes reach a reader that reads as they come', async () => {
    // 512 KiB blocks are decrypted in 64 KiB pieces: every piece of block 1 decrypts before its (flipped) tag is
    // checked, so a stream that passed pieces on as they were decrypted would hand the reader most of the block.
    const size = 512 * 1024;
    const whole = withMarkers(tableRows(3 * size, 5), size);
    const blobName = 'tamper-pieces/full.bak';
    const blocks = await storeBackup(blobName, whole, size, false);
    const stored = await storedBytesOf(blobName, blocks, 1);
    stored[stored.length - 1]! ^= 0x01; // the last byte of the GCM tag
    await replaceStoredBlocks(blobName, blocks, new Map([[1, stored]]));

    const refused = new Error('refused by the caller');
    const seen: unknown[] = [];
    const stream = openDecrypted(container, blobName, dataKey, blocks, {
      mapError: async (error) => {
        seen.push(error);
        return refused;
      },
    });
    stream.read(0);
    await stream.firstBlock; // block 0 is sound
    let received = 0;
    const error = await new Promise<unknown>((resolve) => {
      stream.on('readable', () => {
        for (let chunk = stream.read(1024) as Buffer | null; chunk !== null; chunk = stream.read(1024) as Buffer | null)
          received += chunk.length;
      });
      stream.once('error', resolve);
      stream.once('end', () => resolve(undefined));
    });
    expect(error).toBe(refused); // the caller's mapping of the failure is what the reader sees
    expectIntegrityError(seen[0], 1, 'tag');
    expect(received).toBe(size); // block 0 whole, not one byte of block 1
  });

  it('a corrupted first block fails before the stream yields anything: firstBlock rejects', async () => {
    const blobName = 'tamper-first/full.bak';
    const blocks = await storeBackup(blobName, data, blockSize, false);
    const stored = await storedBytesOf(blobName, blocks, 0);
    stored[20]! ^= 0x01;
    await replaceStoredBlocks(blobName, blocks, new Map([[0, stored]]));
    const stream = openDecrypted(container, blobName, dataKey, blocks);
    stream.read(0);
    const failure = await stream.firstBlock.then(
      () => undefined,
      (error: unknown) => error,
    );
    expectIntegrityError(failure, 0, 'tag');
    expect(stream.destroyed).toBe(true);
    expect(stream.readableLength).toBe(0);
  });

  it('a flipped byte in a compressed block fails the read', async () => {
    const blobName = 'tamper-compressed/full.bak';
    const blocks = await storeBackup(blobName, data, blockSize, true);
    const stored = await storedBytesOf(blobName, blocks, 2);
    stored[Math.floor(stored.length / 2)]! ^= 0x80;
    await replaceStoredBlocks(blobName, blocks, new Map([[2, stored]]));
    const { data: emitted, error } = await drain(openDecrypted(container, blobName, dataKey, blocks));
    expectIntegrityError(error, 2, 'tag');
    expect(emitted.equals(Buffer.concat(parts.slice(0, 2)))).toBe(true);
  });

  it('swapping the contents of two blocks is detected (AAD binds the index)', async () => {
    const blobName = 'swap/full.bak';
    const blocks = await storeBackup(blobName, data, blockSize, false);
    const one = await storedBytesOf(blobName, blocks, 1);
    const two = await storedBytesOf(blobName, blocks, 2);
    await replaceStoredBlocks(
      blobName,
      blocks,
      new Map([
        [1, two],
        [2, one],
      ]),
    );
    const { data: emitted, error } = await drain(openDecrypted(container, blobName, dataKey, blocks));
    expectIntegrityError(error, 1, 'tag');
    expect(emitted.equals(parts[0]!)).toBe(true);
  });

  it('a block moved from another blob is detected (AAD binds the blob name)', async () => {
    const source = await storeBackup('move-from/full.bak', data, blockSize, false);
    const target = await storeBackup('move-to/full.bak', data, blockSize, false);
    await replaceStoredBlocks(
      'move-to/full.bak',
      target,
      new Map([[3, await storedBytesOf('move-from/full.bak', source, 3)]]),
    );
    const { data: emitted, error } = await drain(openDecrypted(container, 'move-to/full.bak', dataKey, target));
    expectIntegrityError(error, 3, 'tag');
    expect(emitted.equals(Buffer.concat(parts.slice(0, 3)))).toBe(true);
  });

  it('a reordered commit is detected before anything is emitted', async () => {
    const blobName = 'reorder/full.bak';
    const blocks = await storeBackup(blobName, data, blockSize, false);
    await container.getBlockBlobClient(blobName).commitBlockList([0, 2, 1, 3].map((i) => blocks[i]!.blockId));
    const { data: emitted, error } = await drain(openDecrypted(container, blobName, dataKey, blocks));
    expectIntegrityError(error, 1, 'missing');
    expect(emitted.length).toBe(0);
  });

  it('a missing block is detected before anything is emitted', async () => {
    const blobName = 'missing/full.bak';
    const blocks = await storeBackup(blobName, data, blockSize, false);
    await container.getBlockBlobClient(blobName).commitBlockList([0, 2, 3].map((i) => blocks[i]!.blockId));
    const { data: emitted, error } = await drain(openDecrypted(container, blobName, dataKey, blocks));
    expectIntegrityError(error, 1, 'missing');
    expect(emitted.length).toBe(0);
    expect((error as Error).message).toContain('missing');

    // A truncated record (the caller lost a block) is not a complete backup either.
    expectIntegrityError(
      (await drain(openDecrypted(container, blobName, dataKey, [blocks[0]!, blocks[2]!]))).error,
      undefined,
      'missing',
    );
    // Nor is a blob that is gone.
    await deleteBlob(container, blobName);
    expectIntegrityError(
      (await drain(openDecrypted(container, blobName, dataKey, blocks))).error,
      undefined,
      'missing',
    );
  });

  it('a record that disagrees with the stored block (SHA-256, length, compression) and a wrong key are detected', async () => {
    const blobName = 'record/full.bak';
    const blocks = await storeBackup(blobName, data, blockSize, false);
    const withBlock = (index: number, patch: Partial<StoredBlock>) =>
      blocks.map((b) => (b.index === index ? { ...b, ...patch } : b));

    const badSha = await drain(
      openDecrypted(container, blobName, dataKey, withBlock(2, { sha256: sha256(Buffer.from('other')) })),
    );
    expectIntegrityError(badSha.error, 2, 'sha256');
    expect(badSha.data.equals(Buffer.concat(parts.slice(0, 2)))).toBe(true);
    expectIntegrityError(
      (await drain(openDecrypted(container, blobName, dataKey, withBlock(1, { plaintextBytes: blockSize - 1 })))).error,
      1,
      'length',
    );
    expectIntegrityError(
      (await drain(openDecrypted(container, blobName, dataKey, withBlock(1, { storedBytes: blockSize })))).error,
      1,
      'length',
    );
    expectIntegrityError(
      (await drain(openDecrypted(container, blobName, dataKey, withBlock(0, { compressed: true })))).error,
      0,
      'format',
    );

    const wrongKey = await drain(openDecrypted(container, blobName, randomBytes(32), blocks));
    expectIntegrityError(wrongKey.error, 0, 'tag');
    expect(wrongKey.data.length).toBe(0);

    // A compressed block's SHA-256 is the decompressed plaintext's, checked as well.
    const compressed = await storeBackup('record/compressed.bak', data, blockSize, true);
    const badCompressedSha = compressed.map((b) =>
      b.index === 1 ? { ...b, sha256: sha256(Buffer.from('other')) } : b,
    );
    const read = await drain(openDecrypted(container, 'record/compressed.bak', dataKey, badCompressedSha));
    expectIntegrityError(read.error, 1, 'sha256');
    expect(read.data.equals(parts[0]!)).toBe(true);
  });
});

describe('commit and delete', () => {
  it('refuses a block list with gaps or duplicates', async () => {
    const parts = splitBlocks(tableRows(3000, 5), 1000);
    const blocks = await stageAll('gaps/full.bak', parts, false);
    await expect(commitBlob(container, 'gaps/full.bak', [blocks[0]!, blocks[2]!], {})).rejects.toThrow(
      /missing or duplicated/,
    );
    await expect(commitBlob(container, 'gaps/full.bak', [blocks[0]!, blocks[0]!, blocks[1]!], {})).rejects.toThrow(
      /missing or duplicated/,
    );
  });

  it('deletes a committed blob, an upload with only uncommitted blocks, and nothing at all', async () => {
    const parts = splitBlocks(tableRows(3000, 6), 1000);
    const committed = await stageAll('delete-committed/full.bak', parts, false);
    await commitBlob(container, 'delete-committed/full.bak', committed, {});
    await stageAll('delete-committed/full.bak', parts, false, 'a2'); // plus uncommitted blocks
    await stageAll('delete-uncommitted/full.bak', parts, true);
    expect(
      (
        (await container.getBlockBlobClient('delete-uncommitted/full.bak').getBlockList('uncommitted'))
          .uncommittedBlocks ?? []
      ).length,
    ).toBe(3);

    for (const name of ['delete-committed/full.bak', 'delete-uncommitted/full.bak', 'never-existed/full.bak']) {
      await deleteBlob(container, name);
      await expect(container.getBlockBlobClient(name).getBlockList('all')).rejects.toMatchObject({ statusCode: 404 });
      expect(await container.getBlockBlobClient(name).exists()).toBe(false);
    }
    // No container at all is fine too.
    await deleteBlob(service.getContainerClient(vaultContainerName('rvtest-none', randomUUID())), 'x.bak');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// 256 MiB through stageBlock and back, with memory and throughput measured (reported, not asserted, except memory).

const BIG_BLOCK = 4 * MiB;
const BIG_BLOCKS = 64;
const CHUNK = 256 * 1024;
const zeros = Buffer.alloc(CHUNK);

/** Block `index` of the big backup: incompressible AES-CTR keystream, generated lazily in 256 KiB chunks. */
function* bigBlockChunks(index: number): Generator<Buffer> {
  const key = createHash('sha256').update(`big-${index}`).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  for (let at = 0; at < BIG_BLOCK; at += CHUNK) yield cipher.update(zeros);
}

function* bigBackupChunks(): Generator<Buffer> {
  for (let i = 0; i < BIG_BLOCKS; i += 1) yield* bigBlockChunks(i);
}

function report(line: string): void {
  process.stdout.write(`[backup-blobs] ${line}\n`);
}

class Measure {
  private readonly wall = process.hrtime.bigint();
  private readonly cpu = process.cpuUsage();
  done(bytes: number): { mibPerSecond: number; cpuSecondsPerGiB: number } {
    const seconds = Number(process.hrtime.bigint() - this.wall) / 1e9;
    const cpu = process.cpuUsage(this.cpu);
    return {
      mibPerSecond: bytes / MiB / seconds,
      cpuSecondsPerGiB: (cpu.user + cpu.system) / 1e6 / (bytes / (1024 * MiB)),
    };
  }
}

describe('a 256 MiB backup', () => {
  const blobName = 'big/full.bak';
  const baselineName = 'big/baseline.bin';
  const shas: string[] = [];

  beforeAll(() => {
    for (let i = 0; i < BIG_BLOCKS; i += 1) {
      const hash = createHash('sha256');
      for (const chunk of bigBlockChunks(i)) hash.update(chunk);
      shas.push(hash.digest('hex'));
    }
  });

  afterAll(async () => {
    await deleteBlob(container, blobName);
    await deleteBlob(container, baselineName);
  });

  it('streams through stageBlock (4 MiB blocks) and back through openDecrypted in bounded memory', async () => {
    const total = BIG_BLOCK * BIG_BLOCKS;
    const before = process.memoryUsage();
    let peak = before.rss;
    let peakBuffers = before.arrayBuffers;
    const sample = () => {
      peak = Math.max(peak, process.memoryUsage.rss());
    };
    const sampler = setInterval(() => {
      const now = process.memoryUsage();
      peak = Math.max(peak, now.rss);
      peakBuffers = Math.max(peakBuffers, now.arrayBuffers);
    }, 10);
    try {
      const staging = new Measure();
      const blocks: StoredBlock[] = [];
      for (let index = 0; index < BIG_BLOCKS; index += 1) {
        blocks.push(
          await stageBlock({
            container,
            blobName,
            index,
            attempt: 'a1',
            dataKey,
            source: Readable.from(bigBlockChunks(index), { objectMode: false }),
            contentLength: BIG_BLOCK,
            expectedSha256: shas[index]!,
            compress: false,
          }),
        );
        sample();
      }
      const staged = staging.done(total);
      await commitBlob(container, blobName, blocks, { recoveryPointId: 'big' });

      const reading = new Measure();
      const hash = createHash('sha256');
      let bytes = 0;
      for await (const chunk of openDecrypted(container, blobName, dataKey, blocks)) {
        hash.update(chunk as Buffer);
        bytes += (chunk as Buffer).length;
        sample();
      }
      const read = reading.done(total);
      clearInterval(sampler);
      const growthMiB = (peak - before.rss) / MiB;

      const expected = createHash('sha256');
      for (const chunk of bigBackupChunks()) expected.update(chunk);
      const expectedSha256 = expected.digest('hex');
      expect(bytes).toBe(total);
      expect(hash.digest('hex')).toBe(expectedSha256);
      expect(growthMiB).toBeLessThan(100);

      // Baseline in the same run: the same bytes as a plain uploadStream / download of one blob, no crypto.
      const blob = container.getBlockBlobClient(baselineName);
      const plainUp = new Measure();
      await blob.uploadStream(Readable.from(bigBackupChunks(), { objectMode: false }), BIG_BLOCK, 1);
      const up1 = plainUp.done(total);
      const plainUp5 = new Measure();
      await blob.uploadStream(Readable.from(bigBackupChunks(), { objectMode: false }), BIG_BLOCK, 5);
      const up5 = plainUp5.done(total);
      const plainDown = new Measure();
      const plainHash = createHash('sha256');
      for await (const chunk of (await blob.download()).readableStreamBody!) plainHash.update(chunk as Buffer);
      const down = plainDown.done(total);
      expect(plainHash.digest('hex')).toBe(expectedSha256);
      const generate = new Measure();
      for (const chunk of bigBackupChunks()) void chunk;
      const gen = generate.done(total);

      const f = (m: { mibPerSecond: number; cpuSecondsPerGiB: number }) =>
        `${m.mibPerSecond.toFixed(0)} MiB/s, ${m.cpuSecondsPerGiB.toFixed(2)} CPU-s/GiB`;
      report(
        `rss growth streaming 256 MiB in and out: ${growthMiB.toFixed(1)} MiB (peak rss ${(peak / MiB).toFixed(0)} MiB; ` +
          `peak Buffer memory ${((peakBuffers - before.arrayBuffers) / MiB).toFixed(1)} MiB above the start)`,
      );
      report(`stageBlock x64 (4 MiB, uncompressed, sequential): ${f(staged)}`);
      report(`uploadStream baseline (4 MiB buffers, concurrency 1): ${f(up1)}`);
      report(`uploadStream baseline (4 MiB buffers, concurrency 5): ${f(up5)}`);
      report(`openDecrypted (consumer hashes): ${f(read)}`);
      report(`plain download baseline (one GET of the whole blob, consumer hashes): ${f(down)}`);
      report(`test data generation alone (included in the upload figures): ${f(gen)}`);
    } finally {
      clearInterval(sampler);
    }
  });
});

describe('compression', () => {
  it('stages 32 MiB of table rows compressed and uncompressed (measured, reported)', async () => {
    const parts = Array.from({ length: 8 }, (_, i) => tableRows(BIG_BLOCK, 100 + i));
    const total = parts.length * BIG_BLOCK;
    const lines: string[] = [];
    for (const compress of [false, true]) {
      const blobName = `compression-${compress}/full.bak`;
      const m = new Measure();
      const blocks = await stageAll(blobName, parts, compress);
      const staged = m.done(total);
      await commitBlob(container, blobName, blocks, {});
      const r = new Measure();
      const { data, error } = await drain(openDecrypted(container, blobName, dataKey, blocks));
      const read = r.done(total);
      expect(error).toBeUndefined();
      expect(data.equals(Buffer.concat(parts))).toBe(true);
      const stored = blocks.reduce((sum, b) => sum + b.storedBytes, 0);
      lines.push(
        `${compress ? 'brotli-1' : 'none    '}: stored ${((stored / total) * 100).toFixed(1)} % | staging ${staged.mibPerSecond.toFixed(0)} MiB/s ` +
          `(${staged.cpuSecondsPerGiB.toFixed(2)} CPU-s/GiB) | reading ${read.mibPerSecond.toFixed(0)} MiB/s (${read.cpuSecondsPerGiB.toFixed(2)} CPU-s/GiB)`,
      );
      await deleteBlob(container, blobName);
    }
    for (const line of lines) report(`32 MiB of table rows, ${line}`);
  });
});

// ---------------------------------------------------------------------------------------------------------------

/** A TCP proxy in front of Azurite that can cut one connection after it forwarded N bytes of request. */
async function startCuttingProxy(target: URL): Promise<{
  connectionString(original: string): string;
  cutAfter(bytes: number): void;
  close(): Promise<void>;
}> {
  let cutAfter: number | undefined;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    let forwarded = 0;
    client.on('data', (chunk: Buffer) => {
      forwarded += chunk.length;
      if (cutAfter !== undefined && forwarded > cutAfter) {
        cutAfter = undefined;
        client.destroy();
        upstream.destroy();
        return;
      }
      upstream.write(chunk);
    });
    upstream.pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    connectionString: (original) =>
      original.replace(/BlobEndpoint=http:\/\/[^/;]+/, `BlobEndpoint=http://127.0.0.1:${port}`),
    cutAfter: (bytes) => {
      cutAfter = bytes;
    },
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
