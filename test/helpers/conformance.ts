/**
 * Conformance, not trust: every HTTP response a test server sends is checked against
 * docs/openapi.json, and every socket message a test client receives against docs/asyncapi.yaml —
 * the committed documents clients generate their code from. A mismatch fails the test that owns the
 * server (HTTP) or the test file (socket), with the route or message and the schema errors.
 *
 * Checks are stricter than the documents: an object may carry no field its schema does not declare.
 * A response is checked twice — as the handler returned it (a field the serializer would drop is a
 * field clients never get) and as sent (the serializer's output). Validators are compiled once per
 * process and per route, status or message type.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv, { type ValidateFunction } from 'ajv';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parse } from 'yaml';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '../..');
type Json = Record<string, unknown>;

/** `additionalProperties: false` on every object schema that says nothing about extra fields. */
function closed(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(closed);
  if (value === null || typeof value !== 'object') return value;
  const out: Json = {};
  for (const [k, v] of Object.entries(value)) out[k] = k === 'example' || k === 'examples' ? v : closed(v);
  const isObject = out.type === 'object' || (out.properties !== undefined && out.type === undefined);
  if (isObject && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

function newAjv(): Ajv.default {
  const ajv = new Ajv.default({ strict: false, allErrors: true });
  ajv.addFormat('uuid', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
  ajv.addFormat('date', /^\d{4}-\d{2}-\d{2}$/);
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) });
  return ajv;
}

let http: { ajv: Ajv.default; doc: { paths: Record<string, Record<string, { responses: Record<string, Json> }>> } } | undefined;
const httpValidators = new Map<string, ValidateFunction | string>();

function openApi() {
  if (!http) {
    const doc = JSON.parse(fs.readFileSync(path.join(ROOT, 'docs/openapi.json'), 'utf8'));
    const ajv = newAjv();
    ajv.addSchema(closed(doc) as Json, 'openapi');
    http = { ajv, doc };
  }
  return http;
}

const pointer = (...parts: string[]) => parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

/**
 * The validator of a route's answer, or why there is none: an undocumented status is itself a
 * mismatch. `route` is fastify's pattern (`/budgets/:budgetId`); undefined for unmatched URLs.
 */
function responseValidator(method: string, route: string | undefined, status: number, contentType: string): ValidateFunction | string {
  const key = `${method} ${route} ${status} ${contentType}`;
  const cached = httpValidators.get(key);
  if (cached) return cached;
  const { ajv, doc } = openApi();
  const pathKey = route?.replace(/:(\w+)/g, '{$1}');
  const op = pathKey === undefined ? undefined : doc.paths[pathKey]?.[method.toLowerCase()];
  let result: ValidateFunction | string;
  if (!op) {
    // Not a documented operation (an unknown URL, the socket's upgrade, a CORS preflight): only
    // errors may come back from it, in the error envelope.
    result = status >= 400 ? ajv.compile({ $ref: 'openapi#/components/schemas/ErrorBody' }) : `${method} ${route} is not in the document`;
  } else if (!op.responses[String(status)]) {
    result = `${method} ${pathKey} answered ${status}, which the document does not list (${Object.keys(op.responses).join(', ')})`;
  } else {
    const content = (op.responses[String(status)] as { content?: Record<string, unknown> }).content;
    const type = contentType.split(';')[0]?.trim() ?? '';
    if (!content) result = status === 204 ? 'empty' : `${method} ${pathKey} ${status} documents no body`;
    else if (!content[type])
      result = `${method} ${pathKey} ${status} answered ${type || 'no content type'}, documented: ${Object.keys(content).join(', ')}`;
    else {
      const ref = `openapi#/paths/${pointer(pathKey as string, method.toLowerCase(), 'responses', String(status), 'content', type, 'schema')}`;
      result = ajv.compile({ $ref: ref });
    }
  }
  httpValidators.set(key, result);
  return result;
}

export interface Mismatch {
  what: string;
  errors: unknown;
  body?: unknown;
}

/** Checks one answer; returns the mismatch or undefined. `body` is the parsed JSON (or the raw text). */
export function checkResponse(
  method: string,
  route: string | undefined,
  status: number,
  contentType: string,
  body: unknown,
): Mismatch | undefined {
  if (method === 'OPTIONS' && route === undefined) return undefined;
  const v = responseValidator(method, route, status, contentType);
  // fastify sends no body with a 204 whatever the handler passed (`send(null)`).
  const empty = body === undefined || body === null || body === '';
  if (v === 'empty') return empty ? undefined : { what: `${method} ${route} ${status} has a body`, errors: [], body };
  if (typeof v === 'string') {
    // The documented operations answer only what they declare; CORS preflights are answered by
    // the CORS plugin for any URL and carry no body.
    if (method === 'OPTIONS' && empty) return undefined;
    return { what: v, errors: [], body };
  }
  return v(body) ? undefined : { what: `${method} ${route} ${status}`, errors: v.errors, body };
}

type Report = (m: Mismatch) => void;

/**
 * Adds the checks to a test server's app (before it is ready). Both the handler's object
 * (preSerialization) and the bytes sent (onSend) are checked.
 */
export function checkResponses(app: FastifyInstance, report: Report): void {
  const route = (req: FastifyRequest) => req.routeOptions.url;
  app.addHook('preSerialization', async (req: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const ct = String(reply.getHeader('content-type') ?? 'application/json');
    const m = checkResponse(req.method, route(req), reply.statusCode, ct, payload);
    if (m) report({ ...m, what: `as returned by the handler: ${m.what}` });
    return payload;
  });
  app.addHook('onSend', async (req: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const ct = String(reply.getHeader('content-type') ?? '');
    let body: unknown = payload ?? undefined;
    if (typeof payload === 'string' && ct.startsWith('application/json')) {
      try {
        body = JSON.parse(payload);
      } catch {
        report({ what: `${req.method} ${route(req)} ${reply.statusCode}: the body is not JSON`, errors: [], body: payload });
        return payload;
      }
    } else if (payload !== null && payload !== undefined && typeof payload !== 'string') {
      return payload; // streams and buffers: not JSON answers of ours
    }
    const m = checkResponse(req.method, route(req), reply.statusCode, ct || 'none', body);
    if (m) report({ ...m, what: `as sent: ${m.what}` });
    return payload;
  });
}

let socket: Map<string, ValidateFunction> | undefined;

/** Checks one message the server sent (the text of a frame). */
export function checkServerMessage(text: string): Mismatch | undefined {
  if (!socket) {
    const doc = parse(fs.readFileSync(path.join(ROOT, 'docs/asyncapi.yaml'), 'utf8')) as {
      channels: { sync: { messages: Record<string, { payload: { $ref: string } }> } };
      operations: Record<string, { action: string; messages: { $ref: string }[]; reply?: { messages: { $ref: string }[] } }>;
    };
    const ajv = newAjv();
    ajv.addSchema(closed(doc) as Json, 'asyncapi');
    socket = new Map();
    // The messages the server sends: those of its `send` operations and of every reply.
    for (const op of Object.values(doc.operations)) {
      const sent = op.action === 'send' ? op.messages : (op.reply?.messages ?? []);
      for (const m of sent) {
        const type = m.$ref.split('/').at(-1) as string;
        if (!socket.has(type)) socket.set(type, ajv.compile({ $ref: `asyncapi${doc.channels.sync.messages[type]?.payload.$ref}` }));
      }
    }
  }
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch {
    return { what: 'a frame that is not JSON', errors: [], body: text };
  }
  const type = (msg as { type?: unknown })?.type;
  const v = typeof type === 'string' ? socket.get(type) : undefined;
  if (!v) return { what: `a message of type ${JSON.stringify(type)} the document does not list`, errors: [], body: msg };
  return v(msg) ? undefined : { what: `the ${type} message`, errors: v.errors, body: msg };
}

/** A one-line description of a mismatch for a failure message. */
export const describe = (m: Mismatch) =>
  `does not match the contract: ${m.what} ${JSON.stringify(m.errors).slice(0, 800)} body: ${JSON.stringify(m.body)?.slice(0, 400)}`;
