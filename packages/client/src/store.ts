/**
 * Where a device keeps its budgets: the `LocalStore` interface, and `CachedStore`, the one
 * implementation of it the package's stores share — `MemoryStore` (nothing persisted: tests and
 * demos), `IndexedDbStore` (browsers) and `SqliteStore` (React Native, Node, any SQLite).
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
 * time. Applying a batch of stream events, moving the cursor and removing the outbox entries they
 * confirm must commit together, or a crash could apply an event twice or skip one; an outbox entry
 * must be committed before it is sent. Records handed in and out are plain JSON objects; a store
 * must not keep references to them.
 *
 * `CachedStore` keeps the whole state in memory (a device holds its own budgets: thousands of
 * records, not millions) and serves every read from there. A transaction runs `fn` against memory
 * with an undo log and notes what it changed; at its end the changes go to the database in ONE
 * database transaction (`persist`). When that fails, the undo log puts memory back, so memory and
 * database never disagree. A write outside `transaction()` is a transaction of its own.
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

/** A record as a database keeps it: where it belongs, and the record itself. */
export interface StoredRecord {
  layer: Layer;
  kind: RecordKind;
  budgetId: string;
  id: string;
  record: AnyRecord;
}

/** Everything a store holds, as read from its database when it opens. */
export interface StoreContents {
  records: StoredRecord[];
  cursors: { budgetId: string; sequence: number }[];
  outbox: OutboxEntry[];
}

/** What one transaction changed; `undefined` means deleted. Each key appears once, final state. */
export interface StoreChanges {
  records: (Omit<StoredRecord, 'record'> & { record: AnyRecord | undefined })[];
  cursors: { budgetId: string; sequence: number | undefined }[];
  outbox: { eventId: string; entry: OutboxEntry | undefined }[];
}

interface BudgetData {
  server: Map<string, AnyRecord>;
  local: Map<string, AnyRecord>;
  cursor?: number;
}

interface Dirty {
  records: Map<string, { layer: Layer; kind: RecordKind; budgetId: string; id: string }>;
  cursors: Set<string>;
  outbox: Set<string>;
}

const key = (kind: RecordKind, id: string) => `${kind}:${id}`;
const copy = <T>(v: T): T => structuredClone(v);

/** The shared implementation (see the top of this file); subclasses persist through `persist`. */
export class CachedStore implements LocalStore {
  private readonly budgets = new Map<string, BudgetData>();
  private entries: OutboxEntry[] = [];
  private undo: (() => void)[] | undefined;
  private dirty: Dirty | undefined;

  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    if (this.undo) return fn();
    const undo: (() => void)[] = [];
    const dirty: Dirty = { records: new Map(), cursors: new Set(), outbox: new Set() };
    this.undo = undo;
    this.dirty = dirty;
    try {
      const result = await fn();
      const changes = this.changesOf(dirty);
      if (changes.records.length + changes.cursors.length + changes.outbox.length > 0) await this.persist(changes);
      return result;
    } catch (err) {
      for (const step of undo.reverse()) step();
      throw err;
    } finally {
      this.undo = undefined;
      this.dirty = undefined;
    }
  }

  /** Writes one transaction's changes to the database atomically; throws when it did not commit. */
  protected async persist(_changes: StoreChanges): Promise<void> {}

  /** Fills memory from the database (when the store opens; nothing is persisted again). */
  protected load(contents: StoreContents): void {
    for (const r of contents.records) this.data(r.budgetId)[r.layer].set(key(r.kind, r.id), r.record);
    for (const c of contents.cursors) this.data(c.budgetId).cursor = c.sequence;
    this.entries = [...contents.outbox].sort((a, b) => a.seq - b.seq);
  }

  async get<K extends RecordKind>(layer: Layer, kind: K, budgetId: string, id: string): Promise<RecordOf[K] | undefined> {
    const found = this.budgets.get(budgetId)?.[layer].get(key(kind, id));
    return found === undefined ? undefined : (copy(found) as RecordOf[K]);
  }

  put<K extends RecordKind>(layer: Layer, kind: K, record: RecordOf[K]): Promise<void> {
    const budgetId = budgetOf(kind, record);
    const value = copy(record);
    return this.write(() => this.setRecord(this.data(budgetId)[layer], layer, kind, budgetId, recordId(kind, record), value));
  }

  remove(layer: Layer, kind: RecordKind, budgetId: string, id: string): Promise<void> {
    return this.write(() => {
      const data = this.budgets.get(budgetId);
      if (data) this.setRecord(data[layer], layer, kind, budgetId, id, undefined);
    });
  }

  async list<K extends RecordKind>(layer: Layer, kind: K, budgetId: string): Promise<RecordOf[K][]> {
    const data = this.budgets.get(budgetId);
    if (!data) return [];
    const prefix = `${kind}:`;
    return [...data[layer]].filter(([k]) => k.startsWith(prefix)).map(([, v]) => copy(v) as RecordOf[K]);
  }

  clearLayer(layer: Layer, budgetId: string): Promise<void> {
    return this.write(() => {
      const data = this.budgets.get(budgetId);
      if (!data) return;
      const before = data[layer];
      this.touchAll(layer, budgetId, before);
      data[layer] = new Map();
      this.undo?.push(() => (data[layer] = before));
    });
  }

  async budgetIds(): Promise<string[]> {
    return [...this.budgets].filter(([, d]) => d.cursor !== undefined || d.server.size > 0 || d.local.size > 0).map(([id]) => id);
  }

  async getCursor(budgetId: string): Promise<number | undefined> {
    return this.budgets.get(budgetId)?.cursor;
  }

  setCursor(budgetId: string, sequence: number): Promise<void> {
    return this.write(() => {
      const data = this.data(budgetId);
      const before = data.cursor;
      data.cursor = sequence;
      this.dirty?.cursors.add(budgetId);
      this.undo?.push(() => (data.cursor = before));
    });
  }

  dropBudget(budgetId: string): Promise<void> {
    return this.write(() => {
      const data = this.budgets.get(budgetId);
      const entries = this.entries;
      if (data) {
        this.touchAll('server', budgetId, data.server);
        this.touchAll('local', budgetId, data.local);
        this.dirty?.cursors.add(budgetId);
      }
      this.budgets.delete(budgetId);
      this.entries = entries.filter((e) => e.event.budgetId !== budgetId);
      for (const e of entries) if (e.event.budgetId === budgetId) this.dirty?.outbox.add(e.event.eventId);
      this.undo?.push(() => {
        if (data) this.budgets.set(budgetId, data);
        this.entries = entries;
      });
    });
  }

  async outbox(): Promise<OutboxEntry[]> {
    return copy(this.entries);
  }

  saveOutbox(entry: OutboxEntry): Promise<void> {
    const value = copy(entry);
    return this.write(() => {
      const entries = this.entries;
      const at = entries.findIndex((e) => e.event.eventId === value.event.eventId);
      this.entries = at === -1 ? [...entries, value] : entries.map((e, i) => (i === at ? value : e));
      this.dirty?.outbox.add(value.event.eventId);
      this.undo?.push(() => (this.entries = entries));
    });
  }

  removeOutbox(eventIds: readonly string[]): Promise<void> {
    if (eventIds.length === 0) return Promise.resolve();
    return this.write(() => {
      const entries = this.entries;
      const gone = new Set(eventIds);
      this.entries = entries.filter((e) => !gone.has(e.event.eventId));
      for (const id of gone) this.dirty?.outbox.add(id);
      this.undo?.push(() => (this.entries = entries));
    });
  }

  /** Inside a transaction: the change joins it; outside: it is a transaction of its own. */
  private async write(change: () => void): Promise<void> {
    if (this.undo) return change();
    await this.transaction(async () => change());
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

  private setRecord(
    map: Map<string, AnyRecord>,
    layer: Layer,
    kind: RecordKind,
    budgetId: string,
    id: string,
    value: AnyRecord | undefined,
  ): void {
    const k = key(kind, id);
    const before = map.get(k);
    if (value === undefined) map.delete(k);
    else map.set(k, value);
    this.dirty?.records.set(`${layer}/${budgetId}/${k}`, { layer, kind, budgetId, id });
    this.undo?.push(() => {
      if (before === undefined) map.delete(k);
      else map.set(k, before);
    });
  }

  private touchAll(layer: Layer, budgetId: string, map: Map<string, AnyRecord>): void {
    for (const k of map.keys()) {
      const at = k.indexOf(':');
      this.dirty?.records.set(`${layer}/${budgetId}/${k}`, { layer, kind: k.slice(0, at) as RecordKind, budgetId, id: k.slice(at + 1) });
    }
  }

  /** The final state of everything a transaction touched. */
  private changesOf(dirty: Dirty): StoreChanges {
    const outbox = new Map(this.entries.map((e) => [e.event.eventId, e]));
    return {
      records: [...dirty.records.values()].map((r) => ({ ...r, record: this.budgets.get(r.budgetId)?.[r.layer].get(key(r.kind, r.id)) })),
      cursors: [...dirty.cursors].map((budgetId) => ({ budgetId, sequence: this.budgets.get(budgetId)?.cursor })),
      outbox: [...dirty.outbox].map((eventId) => ({ eventId, entry: outbox.get(eventId) })),
    };
  }
}

/**
 * A store in memory only: for tests, demos and apps that want no persistence (everything is
 * reloaded from the server after a restart, and unsent edits are lost). Transactions keep an undo
 * log, so a failed one leaves no trace — the same behaviour a database gets from ROLLBACK.
 */
export class MemoryStore extends CachedStore {}
