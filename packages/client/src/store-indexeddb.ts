/**
 * `IndexedDbStore`: the browser's store. Three object stores — `records` (keyed by layer, budget,
 * kind and id), `cursors` (by budget) and `outbox` (by eventId, with a unique `seq` index) — and
 * each of the engine's transactions written as ONE IndexedDB readwrite transaction over them, so a
 * tab closed or crashed mid-way leaves the database at the last committed state.
 *
 * One client per database at a time: the state is cached in memory (see CachedStore), so two tabs
 * writing one database would each miss the other's writes. Name the database per user (`name`),
 * and let one tab sync (e.g. with a Web Lock) when an app may be open twice.
 */
import { CachedStore, type StoreChanges, type StoreContents, type StoredRecord } from './store.js';
import type { OutboxEntry } from './types.js';

// The parts of IndexedDB used here, declared structurally: the package compiles without the DOM
// library (React Native apps, Node), and the browser's `indexedDB` fits these shapes.
interface IdbRequest<T> {
  readonly result: T;
  readonly error: unknown;
  onsuccess: ((ev: never) => unknown) | null;
  onerror: ((ev: never) => unknown) | null;
}
interface IdbOpenRequest extends IdbRequest<IdbDatabase> {
  onupgradeneeded: ((ev: never) => unknown) | null;
}
interface IdbObjectStore {
  put(value: unknown, key?: unknown): unknown;
  delete(key: unknown): unknown;
  getAll(): IdbRequest<unknown[]>;
  getAllKeys(): IdbRequest<unknown[]>;
  createIndex(name: string, keyPath: string, options: { unique: boolean }): unknown;
}
interface IdbTransaction {
  readonly error: unknown;
  objectStore(name: string): IdbObjectStore;
  oncomplete: ((ev: never) => unknown) | null;
  onerror: ((ev: never) => unknown) | null;
  onabort: ((ev: never) => unknown) | null;
}
interface IdbDatabase {
  transaction(names: string[], mode: 'readonly' | 'readwrite', options?: { durability?: 'default' | 'strict' | 'relaxed' }): IdbTransaction;
  createObjectStore(name: string, options?: { keyPath: string }): IdbObjectStore;
  close(): void;
  onversionchange: ((ev: never) => unknown) | null;
}
/** The IndexedDB factory: the browser's `indexedDB`, or an in-memory one in tests. */
export interface IdbFactory {
  open(name: string, version: number): IdbOpenRequest;
}

export interface IndexedDbStoreOptions {
  /** Database name (default `budget-sync`); one per signed-in user. */
  name?: string;
  /** The IndexedDB factory (default: the global `indexedDB`); tests pass an in-memory one. */
  indexedDB?: IdbFactory;
}

const RECORDS = 'records';
const CURSORS = 'cursors';
const OUTBOX = 'outbox';
const VERSION = 1;

/** An IDB request as a promise. */
function done<T>(request: IdbRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** Resolves when the transaction committed; rejects when it failed or was aborted. */
function committed(tx: IdbTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
  });
}

export class IndexedDbStore extends CachedStore {
  private constructor(private readonly db: IdbDatabase) {
    super();
  }

  /** Opens (creating it the first time) and loads the database. */
  static async open(options: IndexedDbStoreOptions = {}): Promise<IndexedDbStore> {
    const factory = options.indexedDB ?? (globalThis as { indexedDB?: IdbFactory }).indexedDB;
    if (!factory) throw new TypeError('IndexedDbStore: no indexedDB here (pass `indexedDB`)');
    const request = factory.open(options.name ?? 'budget-sync', VERSION);
    request.onupgradeneeded = () => {
      const db = request.result;
      db.createObjectStore(RECORDS);
      db.createObjectStore(CURSORS);
      db.createObjectStore(OUTBOX, { keyPath: 'event.eventId' }).createIndex('seq', 'seq', { unique: true });
    };
    const db = await done(request);
    // Another tab upgrading the schema: step aside instead of blocking it.
    db.onversionchange = () => db.close();
    const store = new IndexedDbStore(db);
    store.load(await readAll(db));
    return store;
  }

  /** Closes the database connection (the store cannot be used afterwards). */
  close(): void {
    this.db.close();
  }

  protected async persist(changes: StoreChanges): Promise<void> {
    // `strict` (flushed to disk before `complete`) when the outbox changes: an edit must be durable
    // before it is sent, and a result before its entry is forgotten. Stream batches only move
    // server state, which the stream brings again after a loss, so they take the default.
    const durability = changes.outbox.length > 0 ? 'strict' : 'default';
    const tx = this.db.transaction([RECORDS, CURSORS, OUTBOX], 'readwrite', { durability });
    const end = committed(tx);
    const records = tx.objectStore(RECORDS);
    const cursors = tx.objectStore(CURSORS);
    const outbox = tx.objectStore(OUTBOX);
    // Deletes before puts: an outbox entry replaced under the same seq must not trip the index.
    for (const o of changes.outbox) if (o.entry === undefined) outbox.delete(o.eventId);
    for (const o of changes.outbox) if (o.entry !== undefined) outbox.put(o.entry);
    for (const r of changes.records) {
      const k = [r.layer, r.budgetId, r.kind, r.id];
      if (r.record === undefined) records.delete(k);
      else records.put({ layer: r.layer, kind: r.kind, budgetId: r.budgetId, id: r.id, record: r.record } satisfies StoredRecord, k);
    }
    for (const c of changes.cursors) {
      if (c.sequence === undefined) cursors.delete(c.budgetId);
      else cursors.put(c.sequence, c.budgetId);
    }
    await end;
  }
}

async function readAll(db: IdbDatabase): Promise<StoreContents> {
  const tx = db.transaction([RECORDS, CURSORS, OUTBOX], 'readonly');
  const [records, cursorKeys, cursorValues, outbox] = await Promise.all([
    done(tx.objectStore(RECORDS).getAll() as IdbRequest<StoredRecord[]>),
    done(tx.objectStore(CURSORS).getAllKeys()),
    done(tx.objectStore(CURSORS).getAll() as IdbRequest<number[]>),
    done(tx.objectStore(OUTBOX).getAll() as IdbRequest<OutboxEntry[]>),
  ]);
  return {
    records,
    cursors: cursorKeys.map((k, i) => ({ budgetId: String(k), sequence: cursorValues[i] as number })),
    outbox,
  };
}
