/** TypeBox schemas of the wire values, built from the protocol package's rules (one source). */
import { DATE_PATTERN, MONEY_PATTERN, UUID_PATTERN } from '@budget-sync/protocol';
import { Type } from '@sinclair/typebox';

export { LIMITS, isCalendarDate, isUuid, normaliseMoney } from '@budget-sync/protocol';

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
