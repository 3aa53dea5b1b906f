/**
 * The HTTP side of the protocol that the client needs, over `fetch` (global in Node 20, browsers and
 * React Native; an app may pass its own). Every call carries `Authorization: Bearer`; a 401 gets one
 * retry with a refreshed token. Errors are typed: `HttpError` (the server answered 4xx/5xx, with the
 * stable `code` of the protocol's error body) or `NetworkError` (no answer at all; `TimeoutError`
 * when none came within the request timeout — a long-poll's `wait` is added to it).
 */
import type { CreateBudgetRequest, CreateBudgetResponse, ErrorBody, EventsPage, PushResponse } from '@budget-sync/protocol';
import type { TokenSource } from './token.js';
import type { Budget, OutboundEvent, Participant, PushMode, PushResult, Snapshot } from './types.js';

export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string; signal?: AbortSignal },
) => Promise<{
  status: number;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
}>;

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: { path: string; message: string }[],
    /** From `Retry-After` (429, 503). */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'HttpError';
  }

  /** Retrying may help (server trouble, rate limit, timeout); anything else is a final answer. */
  get transient(): boolean {
    return this.status >= 500 || this.status === 429 || this.status === 408;
  }
}

export class NetworkError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NetworkError';
  }
}

/** No answer within the request timeout: treated like a lost connection (the call is retried). */
export class TimeoutError extends NetworkError {
  constructor(message: string) {
    super(message);
    this.name = 'TimeoutError';
  }
}

/** The request was cancelled (the client stopped). */
export class AbortedError extends Error {
  constructor() {
    super('aborted');
    this.name = 'AbortedError';
  }
}

/** Default time a request may go unanswered (a long-poll adds its `wait`). */
export const REQUEST_TIMEOUT_MS = 30_000;

export class HttpApi {
  private readonly base: string;

  constructor(
    baseUrl: string,
    private readonly tokens: TokenSource,
    private readonly fetchFn: FetchLike = (url, init) => fetch(url, init),
    /** A request with no answer this long fails with `TimeoutError` (and is retried like a lost connection). */
    private readonly timeoutMs = REQUEST_TIMEOUT_MS,
  ) {
    this.base = baseUrl.replace(/\/+$/, '');
  }

  async request<T>(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    body?: unknown,
    signal?: AbortSignal,
    timeoutMs = this.timeoutMs,
  ): Promise<{ status: number; body: T }> {
    for (let attempt = 0; ; attempt++) {
      const token = attempt === 0 ? await this.tokens.get() : await this.tokens.refresh();
      const headers: Record<string, string> = { authorization: `Bearer ${token}` };
      // No content-type without a body: fastify refuses an empty JSON body.
      if (body !== undefined) headers['content-type'] = 'application/json';
      let res: Awaited<ReturnType<FetchLike>>;
      let text: string;
      // A server (or proxy) that never answers must not hold a push or a read forever.
      const call = new AbortController();
      const cancel = () => call.abort();
      if (signal?.aborted) call.abort();
      signal?.addEventListener('abort', cancel, { once: true });
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        call.abort();
      }, timeoutMs);
      try {
        res = await this.fetchFn(`${this.base}${path}`, {
          method,
          headers,
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: call.signal,
        });
        text = await res.text();
      } catch (err) {
        if (signal?.aborted) throw new AbortedError();
        if (timedOut) throw new TimeoutError(`${method} ${path}: no answer within ${timeoutMs} ms`);
        throw new NetworkError(`${method} ${path}: ${(err as Error).message}`, { cause: err });
      } finally {
        clearTimeout(timer);
        signal?.removeEventListener('abort', cancel);
      }
      if (res.status === 401 && attempt === 0) continue;
      const parsed: unknown = text ? safeJson(text) : undefined;
      if (res.status >= 400) throw toHttpError(res.status, parsed, res.headers.get('retry-after'));
      return { status: res.status, body: parsed as T };
    }
  }

  async snapshot(budgetId: string, signal?: AbortSignal): Promise<Snapshot> {
    return (await this.request<Snapshot>('GET', `/budgets/${budgetId}/snapshot`, undefined, signal)).body;
  }

  async events(budgetId: string, key: number, options: { count?: number; wait?: number; signal?: AbortSignal } = {}): Promise<EventsPage> {
    const wait = options.wait ?? 0;
    const q = `budgetId=${budgetId}&key=${key}&count=${options.count ?? 500}&wait=${wait}`;
    return (await this.request<EventsPage>('GET', `/events?${q}`, undefined, options.signal, wait * 1000 + this.timeoutMs)).body;
  }

  async lastSequence(budgetId: string, signal?: AbortSignal): Promise<number> {
    return (await this.request<{ lastSequence: number }>('GET', `/budgets/${budgetId}/last-event-sequence`, undefined, signal)).body
      .lastSequence;
  }

  async push(events: OutboundEvent[], mode: PushMode, signal?: AbortSignal): Promise<PushResult[]> {
    return (await this.request<PushResponse>('POST', '/events', { events, mode }, signal)).body.events;
  }

  /** `POST /budget`; `replayed` when the server had it already (200: the answer of the first time). */
  async createBudget(body: CreateBudgetRequest, signal?: AbortSignal): Promise<{ created: CreateBudgetResponse; replayed: boolean }> {
    const res = await this.request<CreateBudgetResponse>('POST', '/budget', body, signal);
    return { created: res.body, replayed: res.status === 200 };
  }

  /** Every budget of the caller (all pages of `GET /budgets`). */
  async budgets(signal?: AbortSignal): Promise<Budget[]> {
    const all: Budget[] = [];
    let key: string | null = null;
    do {
      const page: { budgets: Budget[]; nextKey: string | null } = (
        await this.request<{ budgets: Budget[]; nextKey: string | null }>(
          'GET',
          `/budgets?count=500${key ? `&key=${key}` : ''}`,
          undefined,
          signal,
        )
      ).body;
      all.push(...page.budgets);
      key = page.nextKey;
    } while (key);
    return all;
  }

  async createInvite(
    budgetId: string,
    options: { expiresInSeconds?: number; maxUses?: number } = {},
  ): Promise<{ token: string; expiresAt: number }> {
    return (await this.request<{ token: string; expiresAt: number }>('POST', `/budgets/${budgetId}/invites`, options)).body;
  }

  async acceptInvite(token: string): Promise<{ budget: Budget; participant: Participant }> {
    return (await this.request<{ budget: Budget; participant: Participant }>('POST', `/invites/${encodeURIComponent(token)}/accept`)).body;
  }

  async leave(budgetId: string): Promise<void> {
    await this.request('DELETE', `/budgets/${budgetId}/leave`);
  }

  async me(): Promise<{ id: string }> {
    return (await this.request<{ id: string }>('GET', '/user')).body;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function toHttpError(status: number, body: unknown, retryAfter: string | null): HttpError {
  const error = (body as Partial<ErrorBody> | undefined)?.error;
  const seconds = retryAfter === null ? NaN : Number(retryAfter);
  return new HttpError(
    status,
    error?.code ?? `HTTP_${status}`,
    error?.message ?? `HTTP ${status}`,
    error?.details,
    Number.isFinite(seconds) ? seconds * 1000 : undefined,
  );
}
