/**
 * A client process of `npm run bench:fanout` (forked by Clients with `--client-worker`): holds its
 * share of the sockets and answers the main process over IPC.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import WebSocket from 'ws';
import { type DeviceSpec, parallel, sleep, token } from './common.js';

export interface Device extends DeviceSpec {
  ws?: WebSocket;
  cursor: number;
  gaps: number;
  repeats: number;
  /** Unexpected closes by the server (not the storm's own terminate). */
  closes: number;
  /** Storm: the head to reach, and when it was reached (ms after the drop). */
  target?: number;
  caughtAt?: number;
  stormAt?: number;
  /** Storm: when the last reopened socket's upgrade completed (before `hello` and `subscribe`). */
  openedAt?: number;
}

export type Request =
  | { op: 'open'; devices: DeviceSpec[] }
  | { op: 'record'; from: number; to: number }
  | { op: 'collect' }
  | { op: 'storm'; ids: number[]; targets: Record<string, number>; at: number }
  | { op: 'caught'; deadline: number }
  | { op: 'check'; heads: Record<string, number>; deadline: number }
  | { op: 'close' };

/** What `collect` answers: latencies from serverTime, and each delivery for commit → delivery. */
export interface Collected {
  big: Float64Array;
  small: Float64Array;
  eldP99: number;
  eldMax: number;
  /** Delivery i: event (budgets[budget[i]], seq[i]) reached a socket at at[i] (ms); big[i] = 1 on the big budget. */
  deliveries: { budgets: string[]; budget: Uint32Array; seq: Float64Array; at: Float64Array; big: Uint8Array };
}

/** A client process (`--client-worker`): holds its share of the sockets, answers the main process over IPC. */
export async function clientWorker(): Promise<void> {
  const devices = new Map<number, Device>();
  const tokens = new Map<string, string>();
  const rec = { from: Infinity, to: -Infinity, big: [] as number[], small: [] as number[] };
  // Every delivery in the window, for commit → delivery: the main process looks up each event's
  // commit time (pg_xact_commit_timestamp) once the phase is over.
  const deliveries = {
    budgets: [] as string[],
    index: new Map<string, number>(),
    budget: [] as number[],
    seq: [] as number[],
    at: [] as number[],
    big: [] as number[],
  };
  const budgetIndex = (id: string) => {
    let i = deliveries.index.get(id);
    if (i === undefined) {
      i = deliveries.budgets.push(id) - 1;
      deliveries.index.set(id, i);
    }
    return i;
  };
  const eld = monitorEventLoopDelay({ resolution: 5 });
  eld.enable();
  let storming = false;

  const open = (d: Device) =>
    new Promise<void>((resolve, reject) => {
      let t = tokens.get(d.uid);
      if (!t) {
        t = token(d.uid);
        tokens.set(d.uid, t);
      }
      const ws = new WebSocket(d.url, { headers: { authorization: `Bearer ${t}` } });
      d.ws = ws;
      let settled = false;
      const timer = setTimeout(() => fail(new Error('subscribe timed out')), 60_000);
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(err);
      };
      ws.on('message', (data) => {
        const msg = JSON.parse(data.toString()) as { type: string; events?: { sequence: number; serverTime: number }[] };
        if (msg.type === 'events') {
          const now = Date.now();
          for (const e of msg.events ?? []) {
            if (e.sequence === d.cursor + 1) d.cursor = e.sequence;
            else if (e.sequence <= d.cursor) d.repeats++;
            else {
              d.gaps++;
              d.cursor = e.sequence;
            }
            if (e.serverTime >= rec.from && e.serverTime <= rec.to) {
              (d.big ? rec.big : rec.small).push(now - e.serverTime);
              deliveries.budget.push(budgetIndex(d.budgetId));
              deliveries.seq.push(e.sequence);
              deliveries.at.push(now);
              deliveries.big.push(d.big ? 1 : 0);
            }
          }
          if (d.target !== undefined && d.caughtAt === undefined && d.stormAt !== undefined && d.cursor >= d.target) d.caughtAt = now;
        } else if (msg.type === 'hello') {
          ws.send(JSON.stringify({ type: 'subscribe', budgetId: d.budgetId, after: d.cursor }));
        } else if (msg.type === 'subscribed') {
          settled = true;
          clearTimeout(timer);
          resolve();
        } else if (msg.type === 'error') {
          fail(new Error(`server error: ${JSON.stringify(msg)}`));
        }
      });
      ws.once('open', () => {
        d.openedAt = Date.now();
      });
      ws.once('error', (err) => fail(err));
      ws.once('close', () => {
        if (settled && d.ws === ws && !storming) d.closes++;
        fail(new Error('closed before subscribed'));
      });
    });

  /** Opens with retries (a storm may meet a full accept backlog); returns the failed attempts. */
  const openRetrying = async (d: Device): Promise<number> => {
    for (let failures = 0; ; failures++) {
      try {
        await open(d);
        return failures;
      } catch (err) {
        d.ws?.terminate();
        if (failures > 20) throw err;
        await sleep(50 + Math.random() * 200);
      }
    }
  };

  const handle = async (m: Request): Promise<unknown> => {
    switch (m.op) {
      case 'open': {
        const fresh = m.devices.map((s): Device => ({ ...s, cursor: 0, gaps: 0, repeats: 0, closes: 0 }));
        for (const d of fresh) devices.set(d.id, d);
        let failures = 0;
        // Not `failures += await …`: that reads `failures` before the await and drops the other
        // loops' increments (the same lost update bench/ingest.ts had).
        await parallel(fresh, 100, async (d) => {
          const n = await openRetrying(d);
          failures += n;
        });
        return { failures };
      }
      case 'record':
        rec.from = m.from;
        rec.to = m.to;
        rec.big = [];
        rec.small = [];
        deliveries.budgets = [];
        deliveries.index.clear();
        deliveries.budget = [];
        deliveries.seq = [];
        deliveries.at = [];
        deliveries.big = [];
        eld.reset();
        return {};
      case 'collect': {
        const result: Collected = {
          big: Float64Array.from(rec.big),
          small: Float64Array.from(rec.small),
          eldP99: eld.percentile(99) / 1e6,
          eldMax: eld.max / 1e6,
          deliveries: {
            budgets: deliveries.budgets,
            budget: Uint32Array.from(deliveries.budget),
            seq: Float64Array.from(deliveries.seq),
            at: Float64Array.from(deliveries.at),
            big: Uint8Array.from(deliveries.big),
          },
        };
        rec.from = Infinity;
        return result;
      }
      case 'storm': {
        const victims = m.ids.map((id) => devices.get(id) as Device);
        storming = true;
        for (const d of victims) {
          d.target = m.targets[d.budgetId] ?? 0;
          d.stormAt = m.at;
          d.caughtAt = undefined;
          d.ws?.terminate();
        }
        const resubscribed: number[] = [];
        const upgraded: number[] = [];
        let failures = 0;
        await Promise.all(
          victims.map(async (d) => {
            const n = await openRetrying(d);
            failures += n;
            const now = Date.now();
            resubscribed.push(now - m.at);
            upgraded.push((d.openedAt ?? now) - m.at);
            if (d.cursor >= (d.target ?? 0) && d.caughtAt === undefined) d.caughtAt = now;
          }),
        );
        storming = false;
        return { resubscribed, upgraded, failures };
      }
      case 'caught': {
        const victims = [...devices.values()].filter((d) => d.stormAt !== undefined);
        while (victims.some((d) => d.caughtAt === undefined) && Date.now() < m.deadline) await sleep(20);
        return {
          caught: victims.filter((d) => d.caughtAt !== undefined).map((d) => (d.caughtAt as number) - (d.stormAt as number)),
          notCaught: victims.filter((d) => d.caughtAt === undefined).length,
        };
      }
      case 'check': {
        const all = [...devices.values()];
        const behind = () => all.filter((d) => d.cursor !== (m.heads[d.budgetId] ?? 0));
        while (behind().length > 0 && Date.now() < m.deadline) await sleep(100);
        return {
          behind: behind().length,
          gaps: all.reduce((n, d) => n + d.gaps, 0),
          repeats: all.reduce((n, d) => n + d.repeats, 0),
          closes: all.reduce((n, d) => n + d.closes, 0),
        };
      }
      case 'close': {
        storming = true;
        for (const d of devices.values()) d.ws?.terminate();
        // Exit after answering: a --cpu-prof profile is written at exit.
        setTimeout(() => process.exit(0), 200);
        return {};
      }
    }
  };
  // The parent gone (killed, crashed): never linger holding sockets.
  process.on('disconnect', () => process.exit(0));
  process.on('message', (m: Request & { seq: number }) => {
    handle(m).then(
      (result) => process.send?.({ seq: m.seq, result }),
      (err: unknown) => process.send?.({ seq: m.seq, error: String(err instanceof Error ? err.stack : err) }),
    );
  });
}

if (process.argv.includes('--client-worker')) await clientWorker();
