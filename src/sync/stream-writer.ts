import type { TransactionSql } from '../db/sql.js';
import type { AnyRecord } from '@budget-sync/protocol';
import type { EventType, StreamEvent } from '@budget-sync/protocol';
import type { CommittedPointer } from './changes.js';

/** What an accepted change appends to its budget's stream. */
export interface Append {
  budgetId: string;
  eventId: string;
  eventType: EventType;
  recordId: string;
  actorId: string;
  when: number;
  version: number | null;
  record: AnyRecord | null;
  cascade?: { expenseIds: string[] };
  fingerprint: string;
}

/**
 * Gives the changes of one transaction their stream sequences. The budget rows are locked
 * (`FOR UPDATE`) before the first append, so `last_sequence + n` is gap-free and in commit order;
 * the counters are written back once per budget at the end, not once per event.
 */
export class StreamWriter {
  private readonly next = new Map<string, number>();
  private readonly start = new Map<string, number>();
  private readonly logged: StreamEvent[] = [];
  /** Heads already written by the appending statements themselves. */
  private readonly written = new Map<string, number>();

  constructor(readonly serverTime: number) {}

  /** Registers a locked budget and its `last_sequence` at lock time. */
  track(budgetId: string, lastSequence: number): void {
    if (!this.next.has(budgetId)) {
      this.next.set(budgetId, lastSequence);
      this.start.set(budgetId, lastSequence);
    }
  }

  /** The sequence the next change of this (locked) budget gets. */
  nextSequence(budgetId: string): number {
    const last = this.next.get(budgetId);
    if (last === undefined) throw new Error(`budget ${budgetId} was not locked before appending`);
    return last + 1;
  }

  /**
   * Records that `nextSequence` was used by a log row of this transaction whose stream event is
   * exactly `event` — the log's own JSON read back in the same statement — so that after COMMIT
   * the real-time hub can send it without reading it again (see `events`). `headWritten`: its
   * statement also set the budget's `last_sequence` to it.
   */
  appended(event: StreamEvent, headWritten = false): void {
    this.next.set(event.budgetId, event.sequence);
    this.logged.push(event);
    if (headWritten) this.written.set(event.budgetId, event.sequence);
  }

  /** The events passed to `appended`, in order: equal, field for field and byte for byte, to a log read. */
  get events(): readonly StreamEvent[] {
    return this.logged;
  }

  /** Inserts a log row built in JS (server-made events); the caller's transaction undoes it on failure. */
  async append(tx: TransactionSql, a: Append): Promise<StreamEvent> {
    const sequence = this.nextSequence(a.budgetId);
    const extra = a.cascade ? { cascade: a.cascade } : null;
    await tx`
      INSERT INTO events (budget_id, sequence, event_id, event_type, record_id, actor_id, client_when, server_time, version, record, extra, fingerprint)
      VALUES (${a.budgetId}, ${sequence}, ${a.eventId}, ${a.eventType}, ${a.recordId}, ${a.actorId}, ${a.when}, ${this.serverTime},
              ${a.version}, ${a.record === null ? null : tx.json(a.record as never)}, ${extra === null ? null : tx.json(extra)}, ${a.fingerprint})`;
    this.next.set(a.budgetId, sequence);
    const event: StreamEvent = {
      sequence,
      eventId: a.eventId,
      eventType: a.eventType,
      budgetId: a.budgetId,
      recordId: a.recordId,
      actorId: a.actorId,
      when: a.when,
      serverTime: this.serverTime,
      version: a.version,
      record: a.record,
    };
    if (a.cascade) event.cascade = a.cascade;
    return event;
  }

  /** Budgets whose stream grew, with their new head. */
  pointers(): CommittedPointer[] {
    const out: CommittedPointer[] = [];
    for (const [budgetId, sequence] of this.next) if (sequence !== this.start.get(budgetId)) out.push({ budgetId, sequence });
    return out;
  }

  /**
   * Writes the new heads back that no append wrote: one statement for all those budgets. Sent
   * before this returns (not at the first await), so a COMMIT queued right after goes behind it.
   */
  async flush(tx: TransactionSql): Promise<void> {
    const grown = this.pointers().filter((p) => this.written.get(p.budgetId) !== p.sequence);
    if (grown.length === 0) return;
    await tx`
      UPDATE budgets b SET last_sequence = v.seq
      FROM unnest(${grown.map((p) => p.budgetId)}::uuid[], ${grown.map((p) => p.sequence)}::bigint[]) AS v(id, seq)
      WHERE b.id = v.id`.execute();
  }
}

/** Maps a log row to its stream event. */
export interface EventRow {
  budget_id: string;
  sequence: number;
  event_id: string;
  event_type: EventType;
  record_id: string;
  actor_id: string;
  client_when: number;
  server_time: number;
  version: number | null;
  record: AnyRecord | null;
  extra: { cascade?: { expenseIds: string[] } } | null;
  fingerprint: string;
}

export function toStreamEvent(r: EventRow): StreamEvent {
  const e: StreamEvent = {
    sequence: r.sequence,
    eventId: r.event_id,
    eventType: r.event_type,
    budgetId: r.budget_id,
    recordId: r.record_id,
    actorId: r.actor_id,
    when: r.client_when,
    serverTime: r.server_time,
    version: r.version,
    record: r.record,
  };
  if (r.extra?.cascade) e.cascade = r.extra.cascade;
  return e;
}
