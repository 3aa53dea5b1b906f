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

/**
 * How a boundary logs what it answered. Only INTERNAL — a bug or an unexpected failure — is an
 * error, logged with its stack. Any other 5xx is a refusal the server expects (a dependency down, a
 * feature not configured, draining): a warning with the cause's message, no stack. A 4xx is the
 * client's doing: info.
 */
export function logLevel(e: AppError): 'error' | 'warn' | 'info' {
  if (e.code === 'INTERNAL') return 'error';
  return e.statusCode >= 500 ? 'warn' : 'info';
}

/** The fields a refusal is logged with: its code and status, and the cause's message (never its stack). */
export function refusalFields(e: AppError): { code: ErrorCode; statusCode: number; cause?: string } {
  if (e.cause === undefined) return { code: e.code, statusCode: e.statusCode };
  return { code: e.code, statusCode: e.statusCode, cause: e.cause instanceof Error ? e.cause.message : String(e.cause) };
}
