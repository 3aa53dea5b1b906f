/** The ingest bench's data: budgets with a category each, one per client, and a synthetic history. */
import { randomUUID } from 'node:crypto';
import type { Sql } from '../../src/db/sql.js';

export interface Target {
  budgetId: string;
  categoryId: string;
  uid: string;
}

/** An expense.add event for a target's budget, with fresh ids (random, as devices make them). */
export const expenseAdd = (t: Target) => ({
  eventId: randomUUID(),
  eventType: 'expense.add',
  budgetId: t.budgetId,
  recordId: randomUUID(),
  categoryId: t.categoryId,
  date: '2025-05-06',
  amount: '12.34',
  note: 'bench',
  when: Date.now(),
});

/** Budgets and categories created straight in SQL, each owned by its own user. */
export async function seedTargets(sql: Sql, targets: Target[]): Promise<Target[]> {
  const now = Date.now();
  for (const t of targets) {
    await sql`INSERT INTO users (id, created_at, updated_at) VALUES (${t.uid}, ${now}, ${now}) ON CONFLICT DO NOTHING`;
    await sql`INSERT INTO budgets (id, title, owner_id, created_by, created_at, updated_at) VALUES (${t.budgetId}, 'bench', ${t.uid}, ${t.uid}, ${now}, ${now})`;
    await sql`INSERT INTO participants (budget_id, user_id, role, joined_at) VALUES (${t.budgetId}, ${t.uid}, 'owner', ${now})`;
    await sql`INSERT INTO categories (id, budget_id, name, allocate, created_by, created_at, updated_at)
              VALUES (${t.categoryId}, ${t.budgetId}, 'c', '100.00', ${t.uid}, ${now}, ${now})`;
  }
  return targets;
}

export const randomTargets = (n: number, prefix: string): Target[] =>
  Array.from({ length: n }, (_, i) => ({ budgetId: randomUUID(), categoryId: randomUUID(), uid: `${prefix}${i}` }));

/** Events in the logs of these targets' budgets (the sum of their heads). */
export async function eventsIn(sql: Sql, budgetIds: string[]): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    SELECT coalesce(sum(last_sequence), 0)::bigint AS n FROM budgets WHERE id = ANY(${`{${budgetIds.join(',')}}`}::uuid[])`;
  return row?.n ?? 0;
}

/** Appends `total` synthetic events spread over the budgets, continuing their sequences. */
export async function loadHistory(sql: Sql, budgets: string[], total: number): Promise<void> {
  const per = Math.ceil(total / budgets.length);
  for (const id of budgets) {
    await sql.begin(async (tx) => {
      const [head] = await tx<{ s: number }[]>`SELECT last_sequence AS s FROM budgets WHERE id = ${id} FOR UPDATE`;
      const from = head?.s ?? 0;
      await tx`
        INSERT INTO events (budget_id, sequence, event_id, event_type, record_id, actor_id, client_when, server_time, version, record, fingerprint)
        SELECT ${id}, ${from}::bigint + g, gen_random_uuid(), 'expense.edit', gen_random_uuid()::text, 'history', 0, 0, g,
               '{"note":"history row of realistic size, about two hundred bytes of record json"}'::jsonb, 'h'
        FROM generate_series(1, ${per}::int) g`;
      await tx`UPDATE budgets SET last_sequence = ${from + per} WHERE id = ${id}`;
    });
  }
  await sql`VACUUM ANALYZE events`;
  // The load itself wrote ~0.5 GB of WAL: without a checkpoint here, the one it triggers runs
  // during the measured cells and charges the load's I/O to them.
  await sql`CHECKPOINT`;
}
