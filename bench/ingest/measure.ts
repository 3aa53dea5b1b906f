/** One measured cell: closed-loop clients for a fixed time, with the CPU each process spent on it. */
import os from 'node:os';
import { clusterCpu, processCpu } from '../lib/cpu.js';

export interface CpuSources {
  /** The server process (undefined for the floor). */
  serverPid?: number;
  /** The embedded cluster's data folder (its CPU is read from /proc). */
  dataDir?: string;
}

export interface Cell {
  events: number;
  requests: number;
  seconds: number;
  /** Seconds of CPU over the window: the server, Postgres, this load generator. */
  serverCpu: number;
  pgCpu: number;
  loadCpu: number;
  /** 1-minute load average at the end of the window (the machine is shared). */
  load: number;
}

export const perSecond = (c: Cell) => c.events / c.seconds;
/** Server CPU per request in ms, per event in µs; Postgres CPU per event in µs. */
export const serverMsPerRequest = (c: Cell) => (c.serverCpu / c.requests) * 1000;
export const serverUsPerEvent = (c: Cell) => (c.serverCpu / c.events) * 1e6;
export const pgUsPerEvent = (c: Cell) => (c.pgCpu / c.events) * 1e6;

const cpuNow = (s: CpuSources) => {
  const own = process.cpuUsage();
  return { server: processCpu(s.serverPid), pg: clusterCpu(s.dataDir), load: (own.user + own.system) / 1e6 };
};

/**
 * Runs `clients` loops of `step` (one request of `batch` events each) for `seconds` after a
 * 500 ms warm-up. `written` reads how many events the clients' budgets hold: its growth over the
 * window must equal the count, so a figure the database does not confirm is never printed.
 */
export async function measure(
  clients: number,
  batch: number,
  seconds: number,
  step: (i: number) => Promise<void>,
  written: () => Promise<number>,
  cpu: CpuSources,
  /** Called right before and after the measured window (a profiler). */
  around?: { start(): Promise<void>; stop(): Promise<void> },
): Promise<Cell> {
  let stop = Date.now() + 500;
  await Promise.all(
    Array.from({ length: clients }, async (_, i) => {
      while (Date.now() < stop) await step(i);
    }),
  );
  const before = await written();
  await around?.start();
  const cpu0 = cpuNow(cpu);
  let requests = 0;
  const started = performance.now();
  stop = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async (_, i) => {
      while (Date.now() < stop) {
        await step(i);
        requests++;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const cpu1 = cpuNow(cpu);
  await around?.stop();
  const events = requests * batch;
  const grew = (await written()) - before;
  if (grew !== events) throw new Error(`counted ${events} events in ${clients} clients but their budgets' logs grew by ${grew}`);
  return {
    events,
    requests,
    seconds: elapsed,
    serverCpu: cpu1.server - cpu0.server,
    pgCpu: cpu1.pg - cpu0.pg,
    loadCpu: cpu1.load - cpu0.load,
    load: os.loadavg()[0] ?? NaN,
  };
}
