import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { auth, uuid } from './server.js';

/** Thin typed wrappers over `inject` for the routes most tests need. */
export class Api {
  constructor(readonly app: FastifyInstance) {}

  async req(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    url: string,
    uid: string | null,
    payload?: unknown,
  ): Promise<LightMyRequestResponse> {
    return this.app.inject({
      method,
      url,
      headers: uid ? auth(uid) : {},
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  }

  /** Creates a budget owned by `uid`; returns its id. */
  async createBudget(uid: string, title = 'Budget'): Promise<string> {
    const id = uuid();
    const res = await this.req('POST', '/budget', uid, { eventId: uuid(), id, title, when: Date.now() });
    if (res.statusCode !== 201) throw new Error(`createBudget: ${res.statusCode} ${res.body}`);
    return id;
  }

  /** Adds `uids` to the budget through an invite created by `owner`. */
  async addMembers(budgetId: string, owner: string, ...uids: string[]): Promise<void> {
    const invite = await this.req('POST', `/budgets/${budgetId}/invites`, owner, {});
    const { token } = invite.json() as { token: string };
    for (const uid of uids) {
      const res = await this.req('POST', `/invites/${token}/accept`, uid);
      if (res.statusCode !== 200) throw new Error(`join: ${res.statusCode} ${res.body}`);
    }
  }

  async push(uid: string, events: unknown[], mode?: 'stopOnError' | 'independent') {
    const res = await this.req('POST', '/events', uid, mode ? { events, mode } : { events });
    if (res.statusCode !== 200) throw new Error(`push: ${res.statusCode} ${res.body}`);
    return (res.json() as { events: PushResultJson[] }).events;
  }

  async stream(uid: string, budgetId: string, key = 0, count = 500) {
    const res = await this.req('GET', `/events?budgetId=${budgetId}&key=${key}&count=${count}&wait=0`, uid);
    return res.json() as {
      events: { sequence: number; eventType: string; eventId: string; record: unknown; recordId: string }[];
      nextKey: number;
      hasMore: boolean;
    };
  }
}

export interface PushResultJson {
  eventId: string;
  eventType: string;
  budgetId: string;
  recordId: string;
  status: 'accepted' | 'duplicate' | 'conflict' | 'rejected' | 'skipped';
  sequence?: number;
  version?: number;
  record?: Record<string, unknown> | null;
  error?: { code: string; message: string };
}

/** Event builders with fresh ids. */
export const ev = {
  categoryAdd: (budgetId: string, over: Record<string, unknown> = {}) => ({
    eventId: uuid(),
    eventType: 'category.add',
    budgetId,
    recordId: uuid(),
    name: 'Food',
    allocate: '100.00',
    when: Date.now(),
    ...over,
  }),
  expenseAdd: (budgetId: string, categoryId: string, over: Record<string, unknown> = {}) => ({
    eventId: uuid(),
    eventType: 'expense.add',
    budgetId,
    recordId: uuid(),
    categoryId,
    date: '2025-05-06',
    amount: '1.25',
    when: Date.now(),
    ...over,
  }),
  edit: (type: string, budgetId: string, recordId: string, version: number, fields: Record<string, unknown>) => ({
    eventId: uuid(),
    eventType: type,
    budgetId,
    recordId,
    version,
    when: Date.now(),
    ...fields,
  }),
  del: (type: string, budgetId: string, recordId: string, version: number) => ({
    eventId: uuid(),
    eventType: type,
    budgetId,
    recordId,
    version,
    when: Date.now(),
  }),
};
