/**
 * Every error code the server answers with, on HTTP, in push results and on the socket.
 * Codes are stable UPPER_SNAKE strings and are never reused for another meaning.
 * `status` is the HTTP status when the code is a whole response; in push results it is informative.
 * The server's `src/errors/codes.ts` re-exports this table; `docs/errors.md` is generated from it
 * (`npm run docs`), and a test keeps it in step.
 */
export const ERROR_CODES = {
  VALIDATION_FAILED: { status: 400, doc: 'The request or message does not match its schema; `details` lists each problem with its path.' },
  INVALID_JSON: { status: 400, doc: 'The body is not valid JSON.' },
  BAD_REQUEST: { status: 400, doc: 'The request is malformed in a way not covered by a more specific code.' },
  UNAUTHENTICATED: {
    status: 401,
    doc: 'No bearer token, or the token is malformed, expired, revoked or for another project. Get a fresh ID token.',
  },
  TOKEN_EXPIRED: { status: 401, doc: 'The token has expired (also the reason of socket close 4401). Refresh it and retry.' },
  NOT_PARTICIPANT: { status: 403, doc: 'The caller is not a current participant of the budget.' },
  ORIGIN_NOT_ALLOWED: {
    status: 403,
    doc: "A browser page's origin is not in the server's `CORS_ORIGINS`: its socket upgrade is refused.",
  },
  NOT_OWNER: { status: 403, doc: 'Only the budget owner may do this.' },
  PARTICIPANT_LIMIT_REACHED: { status: 403, doc: 'The budget already has the most participants allowed.' },
  OWNER_MUST_TRANSFER: { status: 409, doc: 'The owner cannot leave while other members remain; hand over ownership first.' },
  NOT_FOUND: { status: 404, doc: 'The route, or the record an event refers to, does not exist in that budget.' },
  BUDGET_NOT_FOUND: { status: 404, doc: 'The budget does not exist or was deleted.' },
  CATEGORY_NOT_FOUND: { status: 404, doc: 'No live category with that id in this budget.' },
  EXPENSE_NOT_FOUND: { status: 404, doc: 'No live expense with that id in this budget.' },
  PARTICIPANT_NOT_FOUND: { status: 404, doc: 'That user is not a participant of this budget.' },
  USER_NOT_FOUND: { status: 404, doc: 'No user with that id.' },
  INVITE_INVALID: {
    status: 404,
    doc: 'The invite token is unknown, revoked, expired or used up, its budget is gone, or it was made before the owner removed the caller. Each answers exactly alike.',
  },
  INVITE_NOT_FOUND: { status: 404, doc: 'No invite with that id in this budget (revoking by id).' },
  BUDGET_EXISTS: { status: 409, doc: 'A budget with this id was already created by another event.' },
  VERSION_CONFLICT: {
    status: 409,
    doc: "Push result: the event's `version` is not the record's current version; `record` holds the server's copy.",
  },
  RECORD_DELETED: { status: 409, doc: 'Push result: the record was deleted; `record` is null.' },
  RECORD_EXISTS: { status: 409, doc: 'Push result: an add used a record id that already exists (in any budget).' },
  EVENT_ID_REUSED: { status: 409, doc: 'Push result: this eventId was accepted before with different content.' },
  SNAPSHOT_REQUIRED: {
    status: 410,
    doc: 'The requested key is older than the retained history; load a snapshot and resume from its `lastSequence`.',
  },
  PAYLOAD_TOO_LARGE: { status: 413, doc: 'The body is larger than the configured limit.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, doc: "The body's content type is not accepted (send `application/json`)." },
  RATE_LIMITED: { status: 429, doc: 'Too many requests; retry after `Retry-After` seconds.' },
  INVALID_MESSAGE: { status: 400, doc: 'Socket: the message is not JSON, not an object, has an unknown `type` or wrong fields.' },
  TOO_MANY_CONNECTIONS: { status: 429, doc: 'Socket: the user or instance has too many open sockets (close 4429).' },
  TOO_MANY_SUBSCRIPTIONS: {
    status: 429,
    doc: 'Socket: the socket already follows `WS_MAX_SUBSCRIPTIONS_PER_SOCKET` budgets; unsubscribe one first. The socket stays open.',
  },
  SLOW_CONSUMER: { status: 503, doc: 'Socket: the client read too slowly; it is closed with 4503 and should reconnect and resume.' },
  SERVER_DRAINING: { status: 503, doc: 'The instance is shutting down; reconnect to another (close 1001).' },
  DATABASE_UNAVAILABLE: { status: 503, doc: 'Postgres cannot be reached right now; retry with backoff.' },
  AUTH_UNAVAILABLE: { status: 503, doc: 'The token could not be checked because the identity provider is unreachable; retry.' },
  STORAGE_NOT_CONFIGURED: { status: 503, doc: 'No S3 settings on this server; photo routes are off.' },
  STORAGE_UNAVAILABLE: { status: 502, doc: 'The object store failed or is unreachable; nothing was changed.' },
  PHOTO_TYPE_NOT_ALLOWED: { status: 400, doc: 'Photos must be image/jpeg, image/png or image/webp.' },
  PHOTO_TOO_LARGE: { status: 400, doc: 'Photos are at most 5 MiB.' },
  PHOTO_NOT_UPLOADED: { status: 404, doc: 'No uploaded object under that key, or it does not match the signed type and size.' },
  PHOTO_KEY_INVALID: { status: 400, doc: 'The key is not a pending upload key of this user.' },
  INTERNAL: { status: 500, doc: 'A bug or an unexpected failure; it is logged with the request id.' },
} as const satisfies Record<string, { status: number; doc: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** One problem of a validation failure, with the JSON path it concerns. */
export interface ErrorDetail {
  path: string;
  message: string;
}

/** An error as it travels: the HTTP envelope's `error`, a push result's `error`, a socket `error`. */
export interface WireError {
  code: ErrorCode;
  message: string;
  details?: ErrorDetail[];
}

/** The body of every HTTP error response. */
export interface ErrorBody {
  error: WireError & { statusCode: number };
}
