import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import { createHash } from 'node:crypto';
import { afterAll } from 'vitest';
import {
  FRAME_HEADER_SIZE,
  FRAME_OVERHEAD,
  FrameKind,
  PREAMBLE_SIZE,
  type BackupHandle,
} from '../../../src/agent/simulation/index.ts';

/** A temp directory removed after the file's tests. */
export function tempDir(prefix = 'rv-sim-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export async function collect(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
}

export async function bytesOf(handle: BackupHandle): Promise<Buffer> {
  return collect(handle.stream);
}

/** A Readable over `buf`, cut into chunks of random small sizes (exercises the reader's reassembly). */
export function choppy(buf: Buffer, rnd: () => number, maxChunk = 7000): Readable {
  const parts: Buffer[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const n = 1 + Math.floor(rnd() * maxChunk);
    parts.push(buf.subarray(pos, pos + n));
    pos += n;
  }
  return Readable.from(parts);
}

/** Deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface ParsedFrame {
  offset: number;
  kind: number;
  payload: Buffer;
}

/** Splits a (valid-framed) backup into frames; payloads are views into `buf`. */
export function frames(buf: Buffer): ParsedFrame[] {
  const out: ParsedFrame[] = [];
  let pos = PREAMBLE_SIZE;
  while (pos < buf.length) {
    const kind = buf.readUInt8(pos);
    const length = buf.readUInt32LE(pos + 8);
    out.push({ offset: pos, kind, payload: buf.subarray(pos + FRAME_HEADER_SIZE, pos + FRAME_HEADER_SIZE + length) });
    pos += FRAME_OVERHEAD + length;
  }
  return out;
}

/**
 * Recomputes every frame CRC and the END frame's counts and SHA-256, as a tamperer who knows the format would:
 * only content validation can then catch the change.
 */
export function reseal(buf: Buffer): Buffer {
  const b = Buffer.from(buf);
  const fs = frames(b);
  const hash = createHash('sha256');
  hash.update(b.subarray(0, PREAMBLE_SIZE));
  for (const f of fs) {
    const end = f.offset + FRAME_HEADER_SIZE + f.payload.length;
    if (f.kind === FrameKind.End) {
      f.payload.writeUInt32LE(fs.length - 1, 0);
      f.payload.writeBigUInt64LE(BigInt(f.offset), 4);
      hash.copy().digest().copy(f.payload, 12);
    }
    b.writeUInt32LE(crc32(b.subarray(f.offset, end)), end);
    hash.update(b.subarray(f.offset, end + 4));
  }
  return b;
}
