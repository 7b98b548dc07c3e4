// Readings of the bench's processes from /proc (Linux): memory and CPU time, by pid or by program.
import { readdirSync, readFileSync } from 'node:fs';

/** CPU seconds of a process, from /proc. */
export function usage(pid: number) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  const cpu = (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks (100/s)
  return { cpu };
}

/**
 * A process's resident memory (bytes), split as /proc counts it: `anonymous` is what the process allocated (V8's heap,
 * Buffers, malloc), `fileBacked` the pages of its executable and libraries it has touched — for a Node process mostly
 * the node binary's, shared with every other Node process on the machine.
 */
export function memory(pid: number) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
  return { rss: kib('VmRSS'), anonymous: kib('RssAnon'), fileBacked: kib('RssFile') + kib('RssShmem') };
}

/** The pid of this process's child running Azurite (startAzurite spawns it). */
export function azuritePid(): number {
  for (const task of readdirSync('/proc/self/task')) {
    for (const pid of readFileSync(`/proc/self/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('azurite')) return Number(pid);
    }
  }
  throw new Error('no Azurite child process found');
}

/**
 * CPU seconds of every PostgreSQL process on this machine (the server and its backends), each by pid: a backend that
 * exits between two readings takes its time with it, so compare readings over spans where the pools stay open.
 */
export function postgresCpu(): Map<number, number> {
  const cpu = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'postgres')
        cpu.set(Number(entry), usage(Number(entry)).cpu);
    } catch {
      // The process ended while being read.
    }
  }
  return cpu;
}

/** PostgreSQL's CPU seconds between two readings of `postgresCpu` (processes that started meanwhile count whole). */
export function postgresCpuSince(before: Map<number, number>): number {
  let seconds = 0;
  for (const [pid, now] of postgresCpu()) seconds += now - (before.get(pid) ?? 0);
  return seconds;
}
