import type { ErrorDetail } from '@budget-sync/protocol';
import { ERROR_CODES, type ErrorCode } from './codes.js';

export type { ErrorDetail };

/**
 * The one error type of the server. Every boundary turns it into its wire form: the HTTP envelope
 * `{error: {statusCode, code, message, details?}}`, a rejected push result, or a socket `error`.
 */
export class AppError extends Error {
  readonly statusCode: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: ErrorDetail[],
    options?: { cause?: unknown; statusCode?: number },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.statusCode = options?.statusCode ?? ERROR_CODES[code].status;
  }

  toJSON(): { statusCode: number; code: ErrorCode; message: string; details?: ErrorDetail[] } {
    return this.details
      ? { statusCode: this.statusCode, code: this.code, message: this.message, details: this.details }
      : { statusCode: this.statusCode, code: this.code, message: this.message };
  }
}

export const isAppError = (e: unknown): e is AppError => e instanceof AppError;
