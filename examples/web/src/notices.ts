/**
 * What the person is told when sync could not do what they asked: an edit that lost a race
 * (conflict), an edit the server refused (rejected), a budget taken away (removed / deleted). These
 * stay on screen until dismissed — a toast that fades would let an edit vanish unnoticed.
 */
import type { AnyRecord, Budget, Category, ConflictReport, DropReason, Expense, QueuedEvent, RejectedReport } from '@budget-sync/client';

export type NoticeKind = 'conflict' | 'rejected' | 'removed' | 'info';

export interface Notice {
  id: number;
  kind: NoticeKind;
  text: string;
  detail?: string;
  /** E.g. "Use mine": re-applies the refused change on top of the current record. */
  action?: { label: string; run: () => Promise<unknown> };
}

export class Notices {
  readonly list: Notice[] = [];
  private next = 1;
  private readonly listeners = new Set<() => void>();

  add(notice: Omit<Notice, 'id'>): void {
    this.list.push({ ...notice, id: this.next++ });
    this.changed();
  }

  dismiss(id: number): void {
    const i = this.list.findIndex((n) => n.id === id);
    if (i >= 0) this.list.splice(i, 1);
    this.changed();
  }

  onChange(fn: () => void): void {
    this.listeners.add(fn);
  }

  private changed(): void {
    for (const fn of this.listeners) fn();
  }
}

/** What the messages need to know about the budget (read before the report arrives). */
export interface Context {
  categories: Category[];
  expenses: Expense[];
  budgetTitle: string | undefined;
}

const CONTENT = new Set(['eventId', 'eventType', 'budgetId', 'recordId', 'when', 'version']);

/** The fields an event sets (what the person typed). */
export function changedFields(event: QueuedEvent): Record<string, unknown> {
  return Object.fromEntries(Object.entries(event).filter(([k]) => !CONTENT.has(k)));
}

const LABELS: Record<string, string> = {
  amount: 'amount',
  note: 'note',
  date: 'date',
  categoryId: 'category',
  name: 'name',
  allocate: 'allocated',
  title: 'title',
  details: 'details',
};

function describeFields(fields: Record<string, unknown>, ctx: Context): string {
  return Object.entries(fields)
    .map(([k, v]) => {
      const shown =
        k === 'categoryId' ? (ctx.categories.find((c) => c.id === v)?.name ?? 'another category') : v === null ? '(empty)' : String(v);
      return `${LABELS[k] ?? k} ${k === 'note' || k === 'name' || k === 'title' ? `“${shown}”` : shown}`;
    })
    .join(', ');
}

export function describeRecord(kind: string, record: AnyRecord | null | undefined, ctx: Context): string {
  if (!record) return '';
  if (kind === 'expense') {
    const e = record as Expense;
    const category = ctx.categories.find((c) => c.id === e.categoryId)?.name ?? '?';
    return `${e.amount} · ${e.note ? `“${e.note}”` : 'no note'} · ${category} · ${e.date}`;
  }
  if (kind === 'category') return `“${(record as Category).name}”, ${(record as Category).allocate} allocated`;
  return `“${(record as Budget).title}”`;
}

/** "the expense “Dinner”": the record as the person knows it. */
function what(event: QueuedEvent, ctx: Context, record?: AnyRecord | null): string {
  const [kind] = event.eventType.split('.');
  const fields = event as unknown as Record<string, unknown>;
  if (kind === 'expense') {
    const known = ctx.expenses.find((e) => e.id === event.recordId) ?? (record as Expense | null | undefined);
    const note = known?.note ?? (fields.note as string | undefined);
    const amount = known?.amount ?? (fields.amount as string | undefined);
    return `the expense “${note || amount || 'unnamed'}”`;
  }
  if (kind === 'category') {
    const known = ctx.categories.find((c) => c.id === event.recordId) ?? (record as Category | null | undefined);
    return `the category “${known?.name ?? (fields.name as string | undefined) ?? 'unnamed'}”`;
  }
  return `the budget “${ctx.budgetTitle ?? (fields.title as string | undefined) ?? ''}”`;
}

function yourAction(event: QueuedEvent, ctx: Context, record?: AnyRecord | null): string {
  const action = event.eventType.split('.')[1];
  const verb = action === 'delete' ? 'Deleting' : action === 'edit' ? 'Your change to' : action === 'add' ? 'Adding' : 'Creating';
  return `${verb} ${what(event, ctx, record)}`;
}

export function conflictNotice(report: ConflictReport, ctx: Context, reapply: (() => Promise<unknown>) | undefined): Omit<Notice, 'id'> {
  const { event, record, code, cause } = report;
  const [kind = ''] = event.eventType.split('.');
  const why = cause
    ? 'it was made on top of an earlier change of yours to the same record that was not saved'
    : code === 'RECORD_DELETED'
      ? 'someone deleted it meanwhile, on another device'
      : 'someone changed it first, on another device';
  const fields = changedFields(event);
  const wanted = Object.keys(fields).length > 0 ? `You wanted: ${describeFields(fields, ctx)}. ` : '';
  const now = record ? `It now reads: ${describeRecord(kind, record, ctx)}.` : 'It is gone.';
  return {
    kind: 'conflict',
    text: `${yourAction(event, ctx, record)} was not saved: ${why}.`,
    detail: `${wanted}${now}`,
    ...(reapply ? { action: { label: 'Use mine', run: reapply } } : {}),
  };
}

export function rejectedNotice(report: RejectedReport, ctx: Context): Omit<Notice, 'id'> {
  const { event, error, cause } = report;
  return {
    kind: 'rejected',
    text: `${yourAction(event, ctx)} was refused by the server: ${cause ? 'an earlier change of yours to the same record was refused' : error.message}.`,
    detail: `Code ${error.code}. ${Object.keys(changedFields(event)).length > 0 ? `You wanted: ${describeFields(changedFields(event), ctx)}.` : ''}`,
  };
}

export function revokedNotice(title: string, reason: DropReason, discarded: QueuedEvent[], owner: string | undefined): Omit<Notice, 'id'> {
  const text =
    reason === 'removed'
      ? `${owner ?? 'The owner'} removed you from “${title}”. It is no longer on this device.`
      : reason === 'deleted'
        ? `“${title}” was deleted. It is no longer on this device.`
        : reason === 'left'
          ? `You left “${title}”.`
          : `“${title}” could not be created on the server.`;
  const lost = discarded.length;
  return {
    kind: reason === 'left' ? 'info' : 'removed',
    text,
    ...(lost > 0 ? { detail: `${lost} change${lost === 1 ? '' : 's'} not sent yet ${lost === 1 ? 'was' : 'were'} discarded.` } : {}),
  };
}
