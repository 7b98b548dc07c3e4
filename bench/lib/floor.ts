// The floor of the data-plane benchmarks: the CPU the service's work cannot go below, measured in the same run by a
// process of the bench's own that does nothing else (this file, forked): the bench process itself carries the agent and
// its simulated database, and collecting that heap's garbage — which the Buffers of every step provoke — was measured
// to raise the floor's receive and decryption steps by up to 2×. The same bytes go through each direction's
// unavoidable steps alone, one after the other, each timed with process.cpuUsage (the far end of each network leg is
// another process, bench/lib/floor-peer.ts):
//   ingest:       TLS receive (the agent's blocks, 4 MiB requests) → SHA-256 → AES-256-GCM encryption → plain-HTTP
//                 send (4 MiB requests, as blocks are staged in Azurite);
//   restore read: plain-HTTP receive (one download, as the service reads the blob) → AES-256-GCM decryption and tag
//                 check → SHA-256 (the service keeps it on read) → TLS send (one response).
// Hashing and the cipher work on 64 KiB pieces of 4 MiB blocks (a fresh key schedule and tag per block); the network
// legs use node:http/node:https as they come (keep-alive, default buffers): no framing, no parsing, no checks.
import { fork, type ChildProcess } from 'node:child_process';
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { request, type IncomingMessage } from 'node:http';
import { createServer, type Server } from 'node:https';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const BLOCK = 4 * 1024 * 1024;
const PIECE = 64 * 1024;
const GIB = 1024 ** 3;

export interface FloorStep {
  step: string;
  /** CPU seconds of this process per GiB. */
  cpuPerGib: number;
  seconds: number;
}

export interface Floor {
  steps: FloorStep[];
  /** The steps' CPU-s/GiB together. */
  cpuPerGib: number;
}

const cpuNow = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

// A full collection before each step, so that no step pays for the garbage of what ran before it (the bench's runs).
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

async function timed(step: string, bytes: number, work: () => Promise<void> | void): Promise<FloorStep> {
  collectGarbage();
  const c0 = cpuNow();
  const t0 = performance.now();
  await work();
  return { step, cpuPerGib: (cpuNow() - c0) / (bytes / GIB), seconds: (performance.now() - t0) / 1000 };
}

const drain = (message: IncomingMessage) =>
  new Promise<void>((resolve, reject) => {
    message.on('data', () => {});
    message.once('end', resolve);
    message.once('error', reject);
  });

/** Each 64 KiB piece of `bytes` bytes cut from 4 MiB blocks, with the block it starts. */
function forEachPiece(
  bytes: number,
  onBlock: (length: number) => void,
  onPiece: (piece: Buffer) => void,
  data: Buffer,
) {
  for (let done = 0; done < bytes; done += BLOCK) {
    const length = Math.min(BLOCK, bytes - done);
    onBlock(length);
    for (let at = 0; at < length; at += PIECE) onPiece(data.subarray(at, Math.min(at + PIECE, length)));
  }
}

export interface FloorBench {
  ingest(bytes: number): Promise<Floor>;
  restoreRead(bytes: number): Promise<Floor>;
  stop(): Promise<void>;
}

/**
 * Starts the floor's measuring process (with the service's TLS certificate for its TLS end); it starts its peer.
 */
export async function startFloor(tls: { cert: string; key: string }): Promise<FloorBench> {
  const child = fork(import.meta.filename, ['measure'], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let asked = 0;
  const ask = (direction: 'ingest' | 'restoreRead', bytes: number) =>
    new Promise<Floor>((resolve, reject) => {
      const id = ++asked;
      const onMessage = (m: { id: number; floor?: Floor; error?: string }) => {
        if (m.id !== id) return;
        child.off('message', onMessage);
        if (m.floor !== undefined) resolve(m.floor);
        else reject(new Error(`the floor's measuring process: ${m.error}`));
      };
      child.on('message', onMessage);
      child.send({ id, direction, bytes, tls });
    });
  return {
    ingest: (bytes) => ask('ingest', bytes),
    restoreRead: (bytes) => ask('restoreRead', bytes),
    async stop() {
      child.disconnect();
      await new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve(undefined)));
    },
  };
}

/** The measuring end: its peer process and its TLS server (with the service's certificate). */
async function openFloor(tls: { cert: string; key: string }): Promise<FloorBench> {
  const data = randomBytes(BLOCK);
  const key = randomBytes(32);
  const peer: ChildProcess = fork(join(import.meta.dirname, 'floor-peer.ts'), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const peerPort = await new Promise<number>((resolve, reject) => {
    peer.once('message', (m: { port: number }) => resolve(m.port));
    peer.once('exit', (code) => reject(new Error(`the floor's peer exited (${code})`)));
  });
  let orders = 0;
  const order = (op: 'put' | 'get', bytes: number) =>
    new Promise<void>((resolve, reject) => {
      const id = ++orders;
      const onMessage = (m: { id?: number; error?: string }) => {
        if (m.id !== id) return;
        peer.off('message', onMessage);
        if (m.error === undefined) resolve();
        else reject(new Error(`the floor's peer: ${m.error}`));
      };
      peer.on('message', onMessage);
      peer.send({ id, op, bytes, url: `https://localhost:${tlsPort}/floor`, ca: tls.cert });
    });

  // This process's TLS end: drains PUTs (the agent's blocks), answers GET with the bytes asked for.
  const server: Server = createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    if (req.method === 'PUT') {
      void drain(req).then(() => res.writeHead(201).end());
      return;
    }
    let left = Number(new URL(req.url ?? '/', 'https://x').searchParams.get('bytes'));
    res.writeHead(200, { 'content-length': String(left) });
    const more = () => {
      while (left > 0) {
        const piece = data.subarray(0, Math.min(BLOCK, left));
        left -= piece.length;
        if (!res.write(piece)) return void res.once('drain', more);
      }
      res.end();
    };
    more();
  });
  // The peer keeps its connection between steps (a TLS handshake per request would count here): keep it open.
  server.keepAliveTimeout = 600_000;
  const tlsPort = await new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
  );

  const plainPut = async (bytes: number) => {
    for (let left = bytes; left > 0; left -= BLOCK) {
      const piece = data.subarray(0, Math.min(BLOCK, left));
      await new Promise<void>((resolve, reject) => {
        request(
          `http://127.0.0.1:${peerPort}/sink`,
          { method: 'PUT', headers: { 'content-length': String(piece.length) } },
          (res) => drain(res).then(resolve, reject),
        )
          .on('error', reject)
          .end(piece);
      });
    }
  };
  const plainGet = (bytes: number) =>
    new Promise<void>((resolve, reject) => {
      request(`http://127.0.0.1:${peerPort}/source?bytes=${bytes}`, (res) => drain(res).then(resolve, reject))
        .on('error', reject)
        .end();
    });
  const sha256 = (bytes: number) => {
    let hash = createHash('sha256');
    forEachPiece(
      bytes,
      () => {
        hash.digest();
        hash = createHash('sha256');
      },
      (piece) => hash.update(piece),
      data,
    );
  };
  // Ciphertext to decrypt: each block's tag computed once, outside the timing.
  const sealed = (length: number) => {
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, nonce);
    const ciphertext = Buffer.concat([cipher.update(data.subarray(0, length)), cipher.final()]);
    return { nonce, ciphertext, tag: cipher.getAuthTag() };
  };
  const sealedBlock = sealed(BLOCK);

  const floor = (steps: FloorStep[]): Floor => ({ steps, cpuPerGib: steps.reduce((sum, s) => sum + s.cpuPerGib, 0) });
  return {
    async ingest(bytes) {
      return floor([
        await timed('TLS receive', bytes, () => order('put', bytes)),
        await timed('SHA-256', bytes, () => sha256(bytes)),
        await timed('AES-256-GCM encryption', bytes, () => {
          let cipher = createCipheriv('aes-256-gcm', key, randomBytes(12));
          forEachPiece(
            bytes,
            () => {
              cipher.final();
              cipher.getAuthTag();
              cipher = createCipheriv('aes-256-gcm', key, randomBytes(12));
            },
            (piece) => cipher.update(piece),
            data,
          );
        }),
        await timed('plain-HTTP send', bytes, () => plainPut(bytes)),
      ]);
    },
    async restoreRead(bytes) {
      const blocks = Math.ceil(bytes / BLOCK);
      return floor([
        await timed('plain-HTTP receive', bytes, () => plainGet(bytes)),
        await timed('AES-256-GCM decryption', bytes, () => {
          for (let i = 0; i < blocks; i++) {
            const decipher = createDecipheriv('aes-256-gcm', key, sealedBlock.nonce);
            const { ciphertext } = sealedBlock;
            for (let at = 0; at < ciphertext.length; at += PIECE)
              decipher.update(ciphertext.subarray(at, Math.min(at + PIECE, ciphertext.length)));
            decipher.setAuthTag(sealedBlock.tag);
            decipher.final();
          }
        }),
        await timed('SHA-256', bytes, () => sha256(bytes)),
        await timed('TLS send', bytes, () => order('get', bytes)),
      ]);
    },
    async stop() {
      server.closeAllConnections();
      server.close();
      peer.disconnect();
      await new Promise((resolve) => (peer.exitCode === null ? peer.once('exit', resolve) : resolve(undefined)));
    },
  };
}

if (process.argv[2] === 'measure') {
  let floor: Promise<FloorBench> | undefined;
  process.on(
    'message',
    (m: { id: number; direction: 'ingest' | 'restoreRead'; bytes: number; tls: { cert: string; key: string } }) => {
      floor ??= openFloor(m.tls);
      floor
        .then((f) => f[m.direction](m.bytes))
        .then(
          (result) => process.send!({ id: m.id, floor: result }),
          (error: unknown) => process.send!({ id: m.id, error: String(error) }),
        );
    },
  );
  process.once('disconnect', () => {
    void floor?.then((f) => f.stop()).finally(() => process.exit(0));
    if (floor === undefined) process.exit(0);
  });
}
