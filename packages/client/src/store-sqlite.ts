/**
 * `SqliteStore`: the store for React Native (expo-sqlite, op-sqlite), Node (better-sqlite3,
 * node:sqlite) and anything else with SQLite, over `SqlDriver` — two async calls every SQLite
 * binding can provide in a few lines (docs/client.md has the adapters).
 *
 * Tables (created when missing): `sync_records` (layer, budget_id, kind, id → data JSON),
 * `sync_cursors` (budget_id → sequence) and `sync_outbox` (event_id, seq UNIQUE, event JSON,
 * accepted_sequence). SQLite 3.24 or newer (upserts). Each of the engine's transactions is one `BEGIN IMMEDIATE … COMMIT`
 * (`ROLLBACK` when a statement fails). An app may read the tables (e.g. summaries with
 * `json_extract(data, '$.amount')` over the `local` layer) but must not write them.
 *
 * One client per database at a time (the state is cached in memory: see CachedStore); use one
 * database file per signed-in user.
 */
import { CachedStore, type StoreChanges, type StoredRecord } from './store.js';
import type { Layer, OutboxEntry, RecordKind } from './types.js';

export type SqlValue = string | number | null;

/** The two calls SqliteStore needs; statements use positional `?` parameters. */
export interface SqlDriver {
  /** Runs a statement that returns no rows (DDL, INSERT, DELETE, BEGIN, COMMIT, ROLLBACK). */
  run(sql: string, params?: readonly SqlValue[]): Promise<unknown>;
  /** Runs a query; each row an object keyed by column name. */
  all(sql: string, params?: readonly SqlValue[]): Promise<Record<string, unknown>[]>;
}

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS sync_records (
     layer TEXT NOT NULL, budget_id TEXT NOT NULL, kind TEXT NOT NULL, id TEXT NOT NULL, data TEXT NOT NULL,
     PRIMARY KEY (layer, budget_id, kind, id))`,
  'CREATE TABLE IF NOT EXISTS sync_cursors (budget_id TEXT PRIMARY KEY, sequence INTEGER NOT NULL)',
  `CREATE TABLE IF NOT EXISTS sync_outbox (
     event_id TEXT PRIMARY KEY, seq INTEGER NOT NULL UNIQUE, event TEXT NOT NULL, accepted_sequence INTEGER)`,
];

/** Rows per multi-row INSERT: 5 parameters each stays far below SQLite's oldest limit of 999. */
const CHUNK = 100;

export class SqliteStore extends CachedStore {
  private constructor(private readonly db: SqlDriver) {
    super();
  }

  /** Creates the tables when missing and loads them. */
  static async open(db: SqlDriver): Promise<SqliteStore> {
    for (const statement of SCHEMA) await db.run(statement);
    const store = new SqliteStore(db);
    const records = await db.all('SELECT layer, budget_id, kind, id, data FROM sync_records');
    const cursors = await db.all('SELECT budget_id, sequence FROM sync_cursors');
    const outbox = await db.all('SELECT event, seq, accepted_sequence FROM sync_outbox ORDER BY seq');
    store.load({
      records: records.map(
        (r): StoredRecord => ({
          layer: r.layer as Layer,
          kind: r.kind as RecordKind,
          budgetId: String(r.budget_id),
          id: String(r.id),
          record: JSON.parse(String(r.data)),
        }),
      ),
      cursors: cursors.map((c) => ({ budgetId: String(c.budget_id), sequence: Number(c.sequence) })),
      outbox: outbox.map((o) => {
        const entry: OutboxEntry = { seq: Number(o.seq), event: JSON.parse(String(o.event)) };
        if (o.accepted_sequence !== null && o.accepted_sequence !== undefined) entry.acceptedSequence = Number(o.accepted_sequence);
        return entry;
      }),
    });
    return store;
  }

  protected async persist(changes: StoreChanges): Promise<void> {
    const db = this.db;
    await db.run('BEGIN IMMEDIATE');
    try {
      // Deletes first: an outbox entry replaced under the same seq must not trip the UNIQUE.
      for (const o of changes.outbox) if (o.entry === undefined) await db.run('DELETE FROM sync_outbox WHERE event_id = ?', [o.eventId]);
      const entries = changes.outbox.flatMap((o) => (o.entry ? [o.entry] : []));
      for (let i = 0; i < entries.length; i += CHUNK) {
        const rows = entries.slice(i, i + CHUNK);
        await db.run(
          // An upsert, not OR REPLACE: that would silently delete another entry holding the same seq.
          `INSERT INTO sync_outbox (event_id, seq, event, accepted_sequence) VALUES ${rows.map(() => '(?, ?, ?, ?)').join(', ')}
           ON CONFLICT (event_id) DO UPDATE SET seq = excluded.seq, event = excluded.event, accepted_sequence = excluded.accepted_sequence`,
          rows.flatMap((e) => [e.event.eventId, e.seq, JSON.stringify(e.event), e.acceptedSequence ?? null]),
        );
      }
      for (const r of changes.records) {
        if (r.record !== undefined) continue;
        await db.run('DELETE FROM sync_records WHERE layer = ? AND budget_id = ? AND kind = ? AND id = ?', [
          r.layer,
          r.budgetId,
          r.kind,
          r.id,
        ]);
      }
      const puts = changes.records.filter((r) => r.record !== undefined);
      for (let i = 0; i < puts.length; i += CHUNK) {
        const rows = puts.slice(i, i + CHUNK);
        await db.run(
          `INSERT OR REPLACE INTO sync_records (layer, budget_id, kind, id, data) VALUES ${rows.map(() => '(?, ?, ?, ?, ?)').join(', ')}`,
          rows.flatMap((r) => [r.layer, r.budgetId, r.kind, r.id, JSON.stringify(r.record)]),
        );
      }
      for (const c of changes.cursors) {
        if (c.sequence === undefined) await db.run('DELETE FROM sync_cursors WHERE budget_id = ?', [c.budgetId]);
        else await db.run('INSERT OR REPLACE INTO sync_cursors (budget_id, sequence) VALUES (?, ?)', [c.budgetId, c.sequence]);
      }
      await db.run('COMMIT');
    } catch (err) {
      await db.run('ROLLBACK').catch(() => {});
      throw err;
    }
  }
}
