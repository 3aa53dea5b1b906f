/**
 * Commit → delivery at the clients: when each delivered event reached its socket, minus when its
 * write transaction committed, read from Postgres (`pg_xact_commit_timestamp(xmin)` of its log
 * row; the bench's own cluster runs with `track_commit_timestamp = on`). serverTime, the other
 * origin, is taken when the transaction STARTS and so also counts the write's own duration. The
 * commit timestamp is taken just before the commit's WAL flush (~0.1–0.2 ms here), so this figure
 * still over-states commit → delivery by that flush. Same machine, same clock.
 */
import type { Sql } from '../../src/db/sql.js';
import type { Collected } from './client-worker.js';

export interface CommitLatency {
  all: number[];
  big: number[];
  small: number[];
  /** Deliveries whose event's commit time was not found (none expected). */
  missing: number;
}

/** undefined when the server does not track commit timestamps (a DATABASE_URL server without it). */
export async function commitToDelivery(sql: Sql, collected: Collected[], from: number, to: number): Promise<CommitLatency | undefined> {
  const [setting] = await sql<{ track_commit_timestamp: string }[]>`SHOW track_commit_timestamp`;
  if (setting?.track_commit_timestamp !== 'on') return undefined;
  // serverTime is the transaction's start; a second either side covers every event delivered in the window.
  const rows = await sql<{ b: string; s: number; c: number }[]>`
    SELECT budget_id::text AS b, sequence::int AS s, (extract(epoch FROM pg_xact_commit_timestamp(xmin)) * 1000)::float8 AS c
    FROM events WHERE server_time BETWEEN ${from - 1000} AND ${to + 1000}`;
  const committed = new Map<string, number>();
  for (const r of rows) committed.set(`${r.b}:${r.s}`, r.c);
  const out: CommitLatency = { all: [], big: [], small: [], missing: 0 };
  for (const { deliveries: d } of collected) {
    for (let i = 0; i < d.seq.length; i++) {
      const c = committed.get(`${d.budgets[d.budget[i] as number]}:${d.seq[i]}`);
      if (c === undefined) {
        out.missing++;
        continue;
      }
      const ms = (d.at[i] as number) - c;
      out.all.push(ms);
      (d.big[i] ? out.big : out.small).push(ms);
    }
  }
  for (const a of [out.all, out.big, out.small]) a.sort((x, y) => x - y);
  return out;
}
