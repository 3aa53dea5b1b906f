/**
 * Where a device keeps its budgets: the `LocalStore` interface an app implements over its database
 * (SQLite on mobile, IndexedDB in a browser), and `MemoryStore`, the in-memory one for tests, demos
 * and as the model to port.
 *
 * What is stored, per budget:
 * - records in two layers (see `Layer` in types.ts): `server` = the budget at the applied cursor,
 *   `local` = what the user sees (server + pending edits). A SQLite port can make these two table
 *   sets (`server_expenses`, `expenses`, …) or one set with a `layer` column;
 * - the applied cursor: the last stream sequence applied to the server layer. A budget without a
 *   cursor has not been loaded from a snapshot yet (or was created offline and not yet sent);
 * and, for the whole device, the outbox (ordered by `seq`).
 *
 * Atomicity: the sync engine makes every change inside `transaction(fn)` and never runs two at a
 * time. A SQL port wraps `fn` in BEGIN/COMMIT (ROLLBACK when it throws): applying a batch of stream
 * events and moving the cursor must commit together, or a crash could apply an event twice or skip
 * one. Records handed in and out are plain JSON objects; a store must not keep references to them.
 */
import { type AnyRecord, type Layer, type OutboxEntry, type RecordKind, type RecordOf, budgetOf, recordId } from './types.js';

export interface LocalStore {
  /** Runs `fn` as one atomic unit; never called while another runs. */
  transaction<T>(fn: () => Promise<T>): Promise<T>;

  get<K extends RecordKind>(layer: Layer, kind: K, budgetId: string, id: string): Promise<RecordOf[K] | undefined>;
  /** Inserts or replaces (by kind, budget and id — `userId` for participants). */
  put<K extends RecordKind>(layer: Layer, kind: K, record: RecordOf[K]): Promise<void>;
  remove(layer: Layer, kind: RecordKind, budgetId: string, id: string): Promise<void>;
  /** Every record of one kind in one budget (for `budget`: zero or one). */
  list<K extends RecordKind>(layer: Layer, kind: K, budgetId: string): Promise<RecordOf[K][]>;
  /** Removes every record of one layer of one budget (before a snapshot is written). */
  clearLayer(layer: Layer, budgetId: string): Promise<void>;

  /** Budgets with anything stored: a record in either layer, or a cursor. */
  budgetIds(): Promise<string[]>;
  getCursor(budgetId: string): Promise<number | undefined>;
  setCursor(budgetId: string, sequence: number): Promise<void>;
  /** Forgets the budget: both layers, its cursor and its outbox entries. */
  dropBudget(budgetId: string): Promise<void>;

  /** The outbox in `seq` order. */
  outbox(): Promise<OutboxEntry[]>;
  /** Appends (its `seq` is larger than any before) or replaces the entry with the same eventId. */
  saveOutbox(entry: OutboxEntry): Promise<void>;
  removeOutbox(eventIds: readonly string[]): Promise<void>;
}

interface BudgetData {
  server: Map<string, AnyRecord>;
  local: Map<string, AnyRecord>;
  cursor?: number;
}

const key = (kind: RecordKind, id: string) => `${kind}:${id}`;
const copy = <T>(v: T): T => structuredClone(v);

/**
 * A LocalStore in memory. Transactions keep an undo log, so a failed one leaves no trace — the same
 * behaviour a SQL store gets from ROLLBACK.
 */
export class MemoryStore implements LocalStore {
  private readonly budgets = new Map<string, BudgetData>();
  private entries: OutboxEntry[] = [];
  private undo: (() => void)[] | undefined;

  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    if (this.undo) return fn();
    const undo: (() => void)[] = [];
    this.undo = undo;
    try {
      return await fn();
    } catch (err) {
      for (const step of undo.reverse()) step();
      throw err;
    } finally {
      this.undo = undefined;
    }
  }

  async get<K extends RecordKind>(layer: Layer, kind: K, budgetId: string, id: string): Promise<RecordOf[K] | undefined> {
    const found = this.budgets.get(budgetId)?.[layer].get(key(kind, id));
    return found === undefined ? undefined : (copy(found) as RecordOf[K]);
  }

  async put<K extends RecordKind>(layer: Layer, kind: K, record: RecordOf[K]): Promise<void> {
    this.setRecord(this.data(budgetOf(kind, record))[layer], key(kind, recordId(kind, record)), copy(record));
  }

  async remove(layer: Layer, kind: RecordKind, budgetId: string, id: string): Promise<void> {
    const data = this.budgets.get(budgetId);
    if (data) this.setRecord(data[layer], key(kind, id), undefined);
  }

  async list<K extends RecordKind>(layer: Layer, kind: K, budgetId: string): Promise<RecordOf[K][]> {
    const data = this.budgets.get(budgetId);
    if (!data) return [];
    const prefix = `${kind}:`;
    return [...data[layer]].filter(([k]) => k.startsWith(prefix)).map(([, v]) => copy(v) as RecordOf[K]);
  }

  async clearLayer(layer: Layer, budgetId: string): Promise<void> {
    const data = this.budgets.get(budgetId);
    if (!data) return;
    const before = data[layer];
    data[layer] = new Map();
    this.undo?.push(() => (data[layer] = before));
  }

  async budgetIds(): Promise<string[]> {
    return [...this.budgets].filter(([, d]) => d.cursor !== undefined || d.server.size > 0 || d.local.size > 0).map(([id]) => id);
  }

  async getCursor(budgetId: string): Promise<number | undefined> {
    return this.budgets.get(budgetId)?.cursor;
  }

  async setCursor(budgetId: string, sequence: number): Promise<void> {
    const data = this.data(budgetId);
    const before = data.cursor;
    data.cursor = sequence;
    this.undo?.push(() => (data.cursor = before));
  }

  async dropBudget(budgetId: string): Promise<void> {
    const data = this.budgets.get(budgetId);
    const entries = this.entries;
    this.budgets.delete(budgetId);
    this.entries = entries.filter((e) => e.event.budgetId !== budgetId);
    this.undo?.push(() => {
      if (data) this.budgets.set(budgetId, data);
      this.entries = entries;
    });
  }

  async outbox(): Promise<OutboxEntry[]> {
    return copy(this.entries);
  }

  async saveOutbox(entry: OutboxEntry): Promise<void> {
    const entries = this.entries;
    const at = entries.findIndex((e) => e.event.eventId === entry.event.eventId);
    this.entries = at === -1 ? [...entries, copy(entry)] : entries.map((e, i) => (i === at ? copy(entry) : e));
    this.undo?.push(() => (this.entries = entries));
  }

  async removeOutbox(eventIds: readonly string[]): Promise<void> {
    if (eventIds.length === 0) return;
    const entries = this.entries;
    const gone = new Set(eventIds);
    this.entries = entries.filter((e) => !gone.has(e.event.eventId));
    this.undo?.push(() => (this.entries = entries));
  }

  private data(budgetId: string): BudgetData {
    let data = this.budgets.get(budgetId);
    if (!data) {
      const created: BudgetData = { server: new Map(), local: new Map() };
      this.budgets.set(budgetId, created);
      this.undo?.push(() => {
        if (this.budgets.get(budgetId) === created) this.budgets.delete(budgetId);
      });
      data = created;
    }
    return data;
  }

  private setRecord(map: Map<string, AnyRecord>, k: string, value: AnyRecord | undefined): void {
    const before = map.get(k);
    if (value === undefined) map.delete(k);
    else map.set(k, value);
    this.undo?.push(() => {
      if (before === undefined) map.delete(k);
      else map.set(k, before);
    });
  }
}
