/** What the fan-out benchmark reads off the server instances: /metrics and RSS. */
import { once } from 'node:events';
import fs from 'node:fs/promises';
import WebSocket from 'ws';
import type { Instance } from '../lib/env.js';
import { sleep } from './common.js';

/** What one instance's /metrics says (the event-loop delay histogram resets at every scrape). */
export interface Scrape {
  lag: Map<number, number>;
  /** realtime_wake_to_send_seconds: the hub's own wake-up → sends (absent on older servers). */
  wake: Map<number, number>;
  /** realtime_commit_to_send_seconds: COMMIT returned (on whichever instance) → sends. */
  commit: Map<number, number>;
  eldP99: number;
  eldMax: number;
  gc: number;
  cpu: number;
  /** realtime_log_queries_total, realtime_log_reads_total, realtime_memory_pages_total. */
  logQueries: number;
  logReads: number;
  memoryPages: number;
  /** nodejs_heap_size_used_bytes: after fullGc, the live heap. */
  heapUsed: number;
}

export async function scrape(instances: Instance[]): Promise<Scrape[]> {
  return Promise.all(
    instances.map(async (i) => {
      const text = await fetch(`${i.base}/metrics`).then((r) => r.text());
      const buckets = (name: string) => {
        const b = new Map<number, number>();
        for (const m of text.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\d+)`, 'gm')))
          b.set(m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[2]));
        return b;
      };
      const one = (name: string) => Number(new RegExp(`^${name} ([0-9.e+-]+)`, 'm').exec(text)?.[1] ?? NaN);
      let gc = 0;
      for (const m of text.matchAll(/^nodejs_gc_duration_seconds_sum\{kind="[^"]+"\} ([0-9.e+-]+)/gm)) gc += Number(m[1]);
      return {
        lag: buckets('ws_delivery_lag_seconds'),
        wake: buckets('realtime_wake_to_send_seconds'),
        commit: buckets('realtime_commit_to_send_seconds'),
        eldP99: one('nodejs_eventloop_lag_p99_seconds') * 1000,
        eldMax: one('nodejs_eventloop_lag_max_seconds') * 1000,
        gc,
        cpu: one('process_cpu_seconds_total'),
        logQueries: one('realtime_log_queries_total'),
        logReads: one('realtime_log_reads_total'),
        memoryPages: one('realtime_memory_pages_total'),
        heapUsed: one('nodejs_heap_size_used_bytes'),
      };
    }),
  );
}

/** The bucket bound (ms) under which `p`% of the sends between two scrapes fell, both instances summed. */
export function lagQuantile(before: Scrape[], after: Scrape[], p: number, which: 'lag' | 'wake' | 'commit' = 'lag'): string {
  const sum = (s: Scrape[]) => {
    const m = new Map<number, number>();
    for (const x of s) for (const [le, n] of x[which]) m.set(le, (m.get(le) ?? 0) + n);
    return m;
  };
  const b = sum(before);
  const a = sum(after);
  const bounds = [...a.keys()].sort((x, y) => x - y);
  const total = (a.get(Infinity) ?? 0) - (b.get(Infinity) ?? 0);
  if (total <= 0) return '–';
  for (const le of bounds) {
    if ((a.get(le) ?? 0) - (b.get(le) ?? 0) >= (p / 100) * total) return Number.isFinite(le) ? `≤ ${le * 1000}` : '> 30000';
  }
  return '–';
}

/**
 * Both instances' RSS: the lowest of 12 samples over 3 s each, so garbage waiting for the next GC
 * (which comes and goes by MiBs) weighs less than the memory that stays.
 */
export async function rss(instances: Instance[]): Promise<number> {
  let total = 0;
  for (const i of instances) {
    let low = Infinity;
    for (let n = 0; n < 12; n++) {
      const status = await fs.readFile(`/proc/${i.child.pid}/status`, 'utf8');
      low = Math.min(low, Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024);
      await sleep(250);
    }
    total += low;
  }
  return total;
}

/**
 * A full, memory-reducing GC in each instance through its inspector (`--inspect`, then
 * HeapProfiler.collectGarbage twice), as V8's idle-time memory reducer runs on its own some 10–30 s
 * into an idle period (observed: RSS of both instances with 10k idle sockets stayed at 420 MiB for
 * 25 s after they opened, then fell to 291 MiB, below the 311 MiB they had with no socket at all).
 * RSS just after opening counts the opening's garbage; after this, the heap in use is what stays.
 */
export async function fullGc(inspectorPorts: number[]): Promise<void> {
  await Promise.all(
    inspectorPorts.map(async (port) => {
      const targets = (await fetch(`http://127.0.0.1:${port}/json/list`).then((r) => r.json())) as { webSocketDebuggerUrl: string }[];
      const url = targets[0]?.webSocketDebuggerUrl;
      if (!url) throw new Error(`no inspector target on port ${port}`);
      const ws = new WebSocket(url);
      await once(ws, 'open');
      try {
        for (let id = 1; id <= 2; id++) {
          const answered = new Promise<void>((resolve) => {
            const onMessage = (data: WebSocket.RawData) => {
              if ((JSON.parse(data.toString()) as { id?: number }).id !== id) return;
              ws.off('message', onMessage);
              resolve();
            };
            ws.on('message', onMessage);
          });
          ws.send(JSON.stringify({ id, method: 'HeapProfiler.collectGarbage' }));
          await answered;
        }
      } finally {
        ws.close();
      }
    }),
  );
}
