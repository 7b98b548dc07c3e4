// The top of a V8 CPU profile (`node --cpu-prof`, e.g. BENCH_SERVICE_NODE_ARGS=--cpu-prof) as text: self time by
// function, and by where the code lives (node's internals by module, packages, the service's own files).
//   npx tsx bench/lib/profile-top.ts CPU.….cpuprofile [rows] [from-s to-s]
// Without a window it prints the busy time of each second first (to find the span of a benchmark run in it).
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
const profile = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
};
const rows = Number(process.argv[3] ?? 25);
const [from, to] = [Number(process.argv[4] ?? 0), Number(process.argv[5] ?? Infinity)];
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const idle = new Set(profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
const selfMs = new Map<number, number>();
const busyPerSecond: number[] = [];
let at = 0;
profile.samples.forEach((id, i) => {
  const ms = (profile.timeDeltas[i] ?? 0) / 1000;
  at += ms;
  const second = Math.floor(at / 1000);
  if (!idle.has(id)) busyPerSecond[second] = (busyPerSecond[second] ?? 0) + ms;
  if (at / 1000 >= from && at / 1000 < to) selfMs.set(id, (selfMs.get(id) ?? 0) + ms);
});
if (process.argv[4] === undefined)
  console.log(`busy ms per second: ${[...busyPerSecond].map((ms, s) => `${s}:${(ms ?? 0).toFixed(0)}`).join(' ')}`);
const total = [...selfMs.values()].reduce((a, b) => a + b, 0);

const where = (url: string) => {
  if (url === '') return '(native / V8)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg !== null) return pkg[1]!;
  if (url.startsWith('node:')) return url;
  const own = /\/(dist|src)\/(.*)$/.exec(url);
  return own === null ? url : `service: ${own[2]}`;
};
const tally = (key: (node: ProfileNode) => string) => {
  const sums = new Map<string, number>();
  for (const [id, ms] of selfMs) {
    const k = key(byId.get(id)!);
    sums.set(k, (sums.get(k) ?? 0) + ms);
  }
  return [...sums].sort((a, b) => b[1] - a[1]).slice(0, rows);
};
const print = (title: string, entries: [string, number][]) => {
  console.log(`\n${title}\n| self ms | % | |\n|---:|---:|---|`);
  for (const [name, ms] of entries) console.log(`| ${ms.toFixed(0)} | ${((100 * ms) / total).toFixed(1)} | ${name} |`);
};
console.log(`${process.argv[2]}: ${(total / 1000).toFixed(2)} s sampled (${from}–${to} s)`);
print(
  'By function (self time)',
  tally((n) => `${n.callFrame.functionName || '(anonymous)'} ${where(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`),
);
print(
  'By module (self time)',
  tally((n) => where(n.callFrame.url)),
);
