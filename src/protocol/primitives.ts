import { Type } from '@sinclair/typebox';

/** Any 8-4-4-4-12 hex form (PROTOCOL.md), not only RFC 9562 versions; returned lowercase. */
export const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
const UUID_RE = new RegExp(UUID_PATTERN);
export const isUuid = (v: unknown): v is string => typeof v === 'string' && UUID_RE.test(v);

/** Money: up to 10 integer digits and 2 decimals, as a string. Never a number, never rounded. */
export const MONEY_PATTERN = '^\\d{1,10}(\\.\\d{1,2})?$';
const MONEY_RE = new RegExp(MONEY_PATTERN);
/** "150" → "150.00", "1.5" → "1.50"; undefined when the string is not exact money. */
export function normaliseMoney(v: string): string | undefined {
  if (!MONEY_RE.test(v)) return undefined;
  const [int = '0', frac = ''] = v.split('.');
  return `${int.replace(/^0+(?=\d)/, '')}.${frac.padEnd(2, '0')}`;
}

export const DATE_PATTERN = '^\\d{4}-\\d{2}-\\d{2}$';
const DATE_RE = new RegExp(DATE_PATTERN);
/** A real calendar date `YYYY-MM-DD` (so `2025-02-30` is refused), years 1000–9999. */
export function isCalendarDate(v: string): boolean {
  if (!DATE_RE.test(v)) return false;
  const [y, m, d] = v.split('-').map(Number) as [number, number, number];
  if (y < 1000) return false;
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

/** Postgres text cannot hold NUL; refusing it here keeps bad input a 400, not a 500. */
const NO_NUL = '^[^\\u0000]*$';
export const Text = (min: number, max: number) => Type.String({ minLength: min, maxLength: max, pattern: NO_NUL });

export const Uuid = Type.String({ pattern: UUID_PATTERN, description: 'UUID, any 8-4-4-4-12 hex form' });
export const Money = Type.String({ pattern: MONEY_PATTERN, description: 'decimal string, up to 10 digits and 2 decimals' });
export const DateString = Type.String({ pattern: DATE_PATTERN, description: 'YYYY-MM-DD' });
export const UserId = Type.String({ minLength: 1, maxLength: 128, pattern: NO_NUL });
/** Client epoch-ms clock. */
export const When = Type.Integer({ minimum: 0, maximum: 8_640_000_000_000_000 });
export const Version = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER });

export const LIMITS = {
  title: 200,
  details: 2000,
  name: 200,
  note: 1000,
  batch: 25,
} as const;
