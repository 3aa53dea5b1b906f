/**
 * CPU time of processes, read from /proc (Linux): the kernel's own accounting, the same counters
 * process.cpuUsage() reads, so it needs nothing from the measured process and is not skewed by other
 * work on a shared machine — a process waiting for a core is not charged. Elsewhere every reading
 * is NaN and the benchmarks print "n/a".
 */
import fs from 'node:fs';
import path from 'node:path';

/** USER_HZ: /proc counts in ticks of 1/100 s on every Linux architecture Node supports. */
const TICK_S = 0.01;

/** utime, stime, cutime, cstime (ticks) and the parent pid of one process, or undefined if it is gone. */
function stat(pid: number): { ppid: number; own: number; children: number } | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name is in parentheses and may hold spaces: fields count from after the last ')'.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const n = (i: number) => Number(f[i - 3]);
  return { ppid: n(4), own: n(14) + n(15), children: n(16) + n(17) };
}

/** Seconds of CPU a process has used (user + system). */
export function processCpu(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  const s = stat(pid);
  return s ? s.own * TICK_S : NaN;
}

/**
 * Seconds of CPU of a Postgres cluster: the postmaster, its live children (backends, WAL writer,
 * checkpointer …) and the children that exited (reaped by the postmaster, so counted in its
 * cutime/cstime), so a connection closed between two readings is still counted.
 */
export function clusterCpu(dataDir: string | undefined): number {
  if (!dataDir) return NaN;
  let postmaster: number;
  try {
    postmaster = Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return NaN;
  }
  const root = stat(postmaster);
  if (!root) return NaN;
  let ticks = root.own + root.children;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const s = stat(Number(entry));
    if (s && s.ppid === postmaster) ticks += s.own;
  }
  return ticks * TICK_S;
}
