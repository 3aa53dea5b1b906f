/**
 * The value rules of the wire contract, as plain data and functions (no dependency): the server
 * builds its schemas from them and the client checks edits with them before it queues one.
 */

/** Any 8-4-4-4-12 hex form, not only RFC 9562 versions; answers are lowercase. */
export const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
/** Money: up to 10 integer digits and 2 decimals, as a string. Never a number, never rounded. */
export const MONEY_PATTERN = '^\\d{1,10}(\\.\\d{1,2})?$';
export const DATE_PATTERN = '^\\d{4}-\\d{2}-\\d{2}$';

/** Text lengths, and the most events one push may carry. */
export const LIMITS = {
  title: 200,
  details: 2000,
  name: 200,
  note: 1000,
  batch: 25,
} as const;

const UUID_RE = new RegExp(UUID_PATTERN);
const MONEY_RE = new RegExp(MONEY_PATTERN);
const DATE_RE = new RegExp(DATE_PATTERN);

export const isUuid = (v: unknown): v is string => typeof v === 'string' && UUID_RE.test(v);

/** "150" → "150.00", "1.5" → "1.50"; undefined when the string is not exact money. */
export function normaliseMoney(v: string): string | undefined {
  if (!MONEY_RE.test(v)) return undefined;
  const [int = '0', frac = ''] = v.split('.');
  return `${int.replace(/^0+(?=\d)/, '')}.${frac.padEnd(2, '0')}`;
}

/** A real calendar date `YYYY-MM-DD` (so `2025-02-30` is refused), years 1000–9999. */
export function isCalendarDate(v: string): boolean {
  if (!DATE_RE.test(v)) return false;
  const [y, m, d] = v.split('-').map(Number) as [number, number, number];
  if (y < 1000) return false;
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}
