import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { toAppError } from '../sync/to-app-error.js';
import { AppError, logLevel, refusalFields } from '../errors/app-error.js';
import type { ErrorCode } from '../errors/codes.js';

/** fastify's own error codes for bad input, and what each means on our wire. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
};

/** Turns anything thrown in a request into the protocol's error envelope. */
export function toHttpError(err: FastifyError | Error): AppError {
  if (err instanceof AppError) return err;
  const fe = err as FastifyError;
  if (fe.validation) {
    const details = fe.validation.map((v) => ({
      path: `${fe.validationContext ? `${fe.validationContext}` : ''}${v.instancePath || ''}`,
      message:
        v.params && 'additionalProperty' in v.params ? `unknown field ${String(v.params.additionalProperty)}` : (v.message ?? 'invalid'),
    }));
    return new AppError('VALIDATION_FAILED', 'the request does not match its schema', details);
  }
  const code = fe.code ? FASTIFY_CODES[fe.code] : undefined;
  if (code) return new AppError(code, code === 'INVALID_JSON' ? 'the body is not valid JSON' : fe.message);
  if (err instanceof SyntaxError) return new AppError('INVALID_JSON', 'the body is not valid JSON');
  // Other fastify client errors (4xx) keep their status; anything else is ours.
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new AppError('BAD_REQUEST', fe.message, undefined, { statusCode: fe.statusCode });
  }
  return toAppError(err);
}

/**
 * fastify's `frameworkErrors` option (a constructor option, so `buildApp` must pass it): a URL that
 * cannot be decoded or a path parameter longer than `maxParamLength` is answered by fastify itself,
 * outside the error handler and without our envelope. This puts them in it, as 400s.
 */
export function frameworkErrors(err: FastifyError, _req: FastifyRequest, reply: FastifyReply): void {
  const e = new AppError('BAD_REQUEST', err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'a path parameter is too long' : 'the URL is malformed');
  void reply.code(e.statusCode).send({ error: e.toJSON() });
}

export function registerErrorHandlers(app: FastifyInstance): void {
  // JSON everywhere (docs/protocol.md, "Conventions"): fastify's built-in text/plain parser would hand a string to the
  // schema (a confusing 400); without it any non-JSON body is a 415 UNSUPPORTED_MEDIA_TYPE.
  app.removeContentTypeParser('text/plain');
  app.setErrorHandler((err, req, reply) => {
    const e = toHttpError(err as FastifyError);
    const level = logLevel(e);
    if (level === 'error') req.log.error({ err: e.cause ?? err, code: e.code }, 'request failed');
    else req.log[level](refusalFields(e), 'request refused');
    if (e.code === 'DATABASE_UNAVAILABLE' || e.code === 'AUTH_UNAVAILABLE') void reply.header('retry-after', '1');
    return reply.code(e.statusCode).send({ error: e.toJSON() });
  });
  app.setNotFoundHandler((req, reply) => {
    const e = new AppError('NOT_FOUND', `route ${req.method} ${req.url.split('?')[0]} not found`);
    return reply.code(404).send({ error: e.toJSON() });
  });
}
