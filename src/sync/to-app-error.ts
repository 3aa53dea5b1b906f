import { isUnavailable } from '../db/pg-errors.js';
import { AppError } from '../errors/app-error.js';

/**
 * What a boundary (HTTP handler, socket message) answers for any thrown value: AppErrors as they
 * are, "database unreachable" as 503 DATABASE_UNAVAILABLE, anything else as 500 INTERNAL.
 */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (isUnavailable(err))
    return new AppError('DATABASE_UNAVAILABLE', 'the database is unavailable, retry later', undefined, { cause: err });
  return new AppError('INTERNAL', 'internal error', undefined, { cause: err });
}
