/** Small pieces shared by the fan-out benchmark's processes. */
import { randomUUID } from 'node:crypto';
import { mintDevToken } from '../../src/auth/dev-verifier.js';
import { BENCH_SECRET } from '../lib/env.js';

export const WRITER = 'bench-writer';
export const token = (uid: string) => mintDevToken(BENCH_SECRET, uid, { ttlSeconds: 4 * 3600 });
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const fmt = (ms: number) => (Number.isFinite(ms) ? ms.toFixed(1) : '–');

/** mulberry32: a small seeded PRNG, so the workload is the same every run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const categoryAdd = (budgetId: string) => ({
  eventId: randomUUID(),
  eventType: 'category.add',
  budgetId,
  recordId: randomUUID(),
  name: 'bench',
  allocate: '10.00',
  when: Date.now(),
});

export async function parallel<T>(items: T[], limit: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i] as T, i);
      }
    }),
  );
}

/** One device: a user's socket subscribed to one budget on one instance. */
export interface DeviceSpec {
  id: number;
  uid: string;
  budgetId: string;
  big: boolean;
  url: string;
}
