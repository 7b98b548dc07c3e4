// The far end of the floor's network legs (bench/lib/floor.ts), in a process of its own so that the bench process's
// CPU is that of its own side alone: a plain-HTTP server that drains what is PUT to it (as Azurite takes a staged
// block) and serves bytes on GET (as Azurite serves a download), and a TLS client that, when told over IPC, PUTs bytes
// to the bench in block-sized requests (as the agent sends blocks) or downloads from it (as the agent reads a restore).
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import { Agent, request } from 'node:https';

const BLOCK = 4 * 1024 * 1024;
const block = randomBytes(BLOCK);

const drain = (message: IncomingMessage) =>
  new Promise<void>((resolve, reject) => {
    message.on('data', () => {});
    message.once('end', resolve);
    message.once('error', reject);
  });

const server = createServer((req, res) => {
  if (req.method === 'PUT') {
    void drain(req).then(() => res.writeHead(201).end());
    return;
  }
  let left = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('bytes'));
  res.writeHead(200, { 'content-length': String(left) });
  const more = () => {
    while (left > 0) {
      const piece = block.subarray(0, Math.min(BLOCK, left));
      left -= piece.length;
      if (!res.write(piece)) return void res.once('drain', more);
    }
    res.end();
  };
  more();
});

type Order = { id: number; op: 'put' | 'get'; url: string; bytes: number; ca: string };

const tls = new Map<string, Agent>();
async function carry(order: Order): Promise<void> {
  const agent = tls.get(order.ca) ?? new Agent({ keepAlive: true, ca: order.ca });
  tls.set(order.ca, agent);
  if (order.op === 'get') {
    await new Promise<void>((resolve, reject) => {
      request(`${order.url}?bytes=${order.bytes}`, { agent }, (res) => drain(res).then(resolve, reject))
        .on('error', reject)
        .end();
    });
    return;
  }
  for (let left = order.bytes; left > 0; left -= BLOCK) {
    const piece = block.subarray(0, Math.min(BLOCK, left));
    await new Promise<void>((resolve, reject) => {
      request(order.url, { method: 'PUT', agent, headers: { 'content-length': String(piece.length) } }, (res) =>
        drain(res).then(resolve, reject),
      )
        .on('error', reject)
        .end(piece);
    });
  }
}

server.keepAliveTimeout = 600_000; // as the bench's end: one connection for all the floor's steps
server.listen(0, '127.0.0.1', () => {
  process.send!({ port: (server.address() as { port: number }).port });
});
process.on('message', (order: Order) => {
  carry(order).then(
    () => process.send!({ id: order.id }),
    (error: unknown) => process.send!({ id: order.id, error: String(error) }),
  );
});
process.once('disconnect', () => process.exit(0));
