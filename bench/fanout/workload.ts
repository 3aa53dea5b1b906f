/** The fan-out benchmark's seeded workload (budgets, devices) and the writer that drives it. */
import { randomUUID } from 'node:crypto';
import type { JsonClient } from '../lib/env.js';
import { type DeviceSpec, categoryAdd, rng, sleep } from './common.js';

export interface Workload {
  bigBudget: string;
  /** The big budget's devices, alternating between the instances. */
  big: DeviceSpec[];
  /** Small budgets' devices, budget after budget. */
  small: DeviceSpec[];
  /** Small budgets and their users (for setup). */
  smallBudgets: { id: string; users: string[] }[];
  bigUsers: string[];
}

/** The seeded workload for up to `maxSockets` sockets (see the header). */
export function workload(maxSockets: number, bigSubscribers: number, seed: number, urls: string[]): Workload {
  const random = rng(seed);
  const bigBudget = randomUUID();
  const bigUsers = Array.from({ length: Math.ceil(bigSubscribers / 2) }, (_, u) => `big-u${u}`);
  let id = 0;
  const big: DeviceSpec[] = Array.from({ length: bigSubscribers }, (_, i) => ({
    id: id++,
    uid: bigUsers[Math.floor(i / 2)] as string,
    budgetId: bigBudget,
    big: true,
    url: urls[i % urls.length] as string,
  }));
  const small: DeviceSpec[] = [];
  const smallBudgets: { id: string; users: string[] }[] = [];
  const smallSockets = Math.max(0, maxSockets - Math.min(bigSubscribers, Math.floor(maxSockets / 2)));
  for (let b = 0; small.length < smallSockets; b++) {
    const budgetId = randomUUID();
    const devices = 2 + Math.floor(random() * 4); // 2..5
    const userCount = 1 + Math.floor(random() * Math.min(devices, 3)); // 1..3, never more than devices
    const users = Array.from({ length: userCount }, (_, u) => `s${b}-u${u}`);
    smallBudgets.push({ id: budgetId, users });
    for (let j = 0; j < devices; j++) {
      // Consecutive devices alternate instances: every budget is followed from both.
      small.push({ id: id++, uid: users[j % userCount] as string, budgetId, big: false, url: urls[small.length % urls.length] as string });
    }
  }
  return { bigBudget, big, small, smallBudgets, bigUsers };
}

/** A phase of `n` sockets: the big budget has min(big, n/2) of them, small budgets the rest. */
export function phaseDevices(w: Workload, n: number): DeviceSpec[] {
  const big = Math.min(w.big.length, Math.floor(n / 2));
  return [...w.big.slice(0, big), ...w.small.slice(0, n - big)];
}

/**
 * Pushes `rate` events/s in batches of `batch`, a `bigShare` of the pushes to the big budget, for `seconds`.
 * `requestMs` holds the request times of pushes started at or after `recordFrom` (the latency window,
 * so the warm-up's first connections and statement preparations are left out as they are at the clients).
 */
export async function drive(
  opts: {
    rate: number;
    batch: number;
    bigShare: number;
    bigBudget: string | undefined;
    small: string[];
    random: () => number;
    recordFrom?: number;
  },
  clients: JsonClient[],
  seconds: number,
): Promise<{ written: number; big: number; requestMs: number[] }> {
  const pushesPerSecond = opts.rate / opts.batch;
  const started = Date.now();
  const stop = started + seconds * 1000;
  let sent = 0;
  let inFlight = 0;
  let accepted = 0;
  let bigAccepted = 0;
  let bigAcc = 0;
  const requestMs: number[] = [];
  while (Date.now() < stop) {
    const due = Math.floor(((Date.now() - started) / 1000) * pushesPerSecond);
    while (sent < due && inFlight < 64) {
      bigAcc += opts.bigShare;
      let budgetId: string;
      let isBig = false;
      if (opts.bigBudget && bigAcc >= 1) {
        bigAcc -= 1;
        budgetId = opts.bigBudget;
        isBig = true;
      } else {
        budgetId = opts.small[Math.floor(opts.random() * opts.small.length)] as string;
      }
      const client = clients[sent % clients.length] as JsonClient;
      sent++;
      inFlight++;
      const t = Date.now();
      void client
        .request<{ events: { status: string }[] }>('POST', '/events', {
          events: Array.from({ length: opts.batch }, () => categoryAdd(budgetId)),
        })
        .then((r) => {
          if (t >= (opts.recordFrom ?? 0)) requestMs.push(Date.now() - t);
          const n = r.json.events?.filter((e) => e.status === 'accepted').length ?? 0;
          accepted += n;
          if (isBig) bigAccepted += n;
        })
        .catch(() => {})
        .finally(() => inFlight--);
    }
    await sleep(2);
  }
  while (inFlight > 0) await sleep(5);
  return { written: accepted / seconds, big: bigAccepted / seconds, requestMs: requestMs.sort((a, b) => a - b) };
}
