/**
 * Money stays a decimal string end to end ("12.50"); sums are done in whole cents as BigInt, never
 * in floating point. Only used while the server's summary cannot be shown (offline, or with edits
 * the server has not confirmed yet): the numbers the person sees then include their own edits.
 */
import type { Category, Expense } from '@budget-sync/client';

export function cents(amount: string): bigint {
  const m = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(amount.trim());
  if (!m) return 0n;
  const value = BigInt(m[2] ?? '0') * 100n + BigInt((m[3] ?? '').padEnd(2, '0'));
  return m[1] === '-' ? -value : value;
}

export function money(value: bigint): string {
  const sign = value < 0n ? '-' : '';
  const abs = value < 0n ? -value : value;
  return `${sign}${abs / 100n}.${(abs % 100n).toString().padStart(2, '0')}`;
}

export interface SummaryRow {
  categoryId: string;
  allocate: string;
  spent: string;
  remaining: string;
  count: number;
}

export interface Summary {
  categories: SummaryRow[];
  totals: { allocate: string; spent: string; remaining: string };
}

/** The summary as this device sees the budget (the same sums as the server's `GET …/summary`). */
export function localSummary(categories: Category[], expenses: Expense[]): Summary {
  const spent = new Map<string, { sum: bigint; count: number }>();
  for (const e of expenses) {
    const s = spent.get(e.categoryId) ?? { sum: 0n, count: 0 };
    s.sum += cents(e.amount);
    s.count += 1;
    spent.set(e.categoryId, s);
  }
  let allocate = 0n;
  let used = 0n;
  const rows = categories.map((c) => {
    const s = spent.get(c.id) ?? { sum: 0n, count: 0 };
    allocate += cents(c.allocate);
    used += s.sum;
    return { categoryId: c.id, allocate: c.allocate, spent: money(s.sum), remaining: money(cents(c.allocate) - s.sum), count: s.count };
  });
  return { categories: rows, totals: { allocate: money(allocate), spent: money(used), remaining: money(allocate - used) } };
}
