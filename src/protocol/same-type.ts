/**
 * Compile-time proof that a TypeBox schema and the protocol package's type describe the same shape:
 * `SameType<A, B>` is `true` only when A and B are identical (optional fields, `null`s and literal
 * types included), so `assertSameType<A, B>(true)` stops `tsc` when either side drifts.
 */
export type SameType<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

/** Does nothing at run time; its argument only type-checks when `A` and `B` are the same type. */
export function assertSameType<A, B>(_proof: SameType<A, B>): void {}
