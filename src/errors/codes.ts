/** The error codes are part of the wire contract: their one table lives in the protocol package. */
export { ERROR_CODES, type ErrorCode } from '@budget-sync/protocol';
