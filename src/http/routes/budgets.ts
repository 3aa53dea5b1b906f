import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { AppError } from '../../errors/app-error.js';
import { Uuid, UserId, isCalendarDate } from '../../protocol/primitives.js';
import { principal } from '../auth.js';
import { BudgetParams, CreateBudgetBody, PageQuery, SummaryQuery } from '../schemas.js';
import type { Services } from '../services.js';

const lower = (id: string) => id.toLowerCase();

/** Budget creation and every read of a budget (docs/protocol.md, "Budgets and their records"). */
export async function budgetRoutes(fastify: FastifyInstance, { membership, reads }: Services): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.post('/budget', { schema: { body: CreateBudgetBody } }, async (req, reply) => {
    const { eventId, id, title, details, when } = req.body;
    const input = { eventId: lower(eventId), id: lower(id), title, when, ...(details !== undefined ? { details } : {}) };
    const result = await membership.createBudget(principal(req).uid, input);
    return reply.code(result.created ? 201 : 200).send(result.body);
  });

  app.get('/budgets', { schema: { querystring: PageQuery } }, async (req) =>
    reads.budgets(principal(req).uid, req.query.key && lower(req.query.key), req.query.count),
  );

  app.get('/budgets/:budgetId', { schema: { params: BudgetParams } }, async (req) =>
    reads.budget(principal(req).uid, lower(req.params.budgetId)),
  );

  app.get('/budgets/:budgetId/snapshot', { schema: { params: BudgetParams } }, async (req) =>
    reads.snapshot(principal(req).uid, lower(req.params.budgetId)),
  );

  app.get('/budgets/:budgetId/last-event-sequence', { schema: { params: BudgetParams } }, async (req) =>
    reads.lastSequence(principal(req).uid, lower(req.params.budgetId)),
  );

  app.get('/budgets/:budgetId/participants', { schema: { params: BudgetParams } }, async (req) =>
    reads.participants(principal(req).uid, lower(req.params.budgetId)),
  );

  app.get('/budgets/:budgetId/participants/:userId', { schema: { params: Type.Object({ budgetId: Uuid, userId: UserId }) } }, async (req) =>
    reads.participant(principal(req).uid, lower(req.params.budgetId), req.params.userId),
  );

  app.get('/budgets/:budgetId/categories', { schema: { params: BudgetParams } }, async (req) =>
    reads.categories(principal(req).uid, lower(req.params.budgetId)),
  );

  app.get(
    '/budgets/:budgetId/categories/:categoryId',
    { schema: { params: Type.Object({ budgetId: Uuid, categoryId: Uuid }) } },
    async (req) => reads.category(principal(req).uid, lower(req.params.budgetId), lower(req.params.categoryId)),
  );

  app.get('/budgets/:budgetId/expenses', { schema: { params: BudgetParams, querystring: PageQuery } }, async (req) =>
    reads.expenses(principal(req).uid, lower(req.params.budgetId), req.query.key && lower(req.query.key), req.query.count),
  );

  app.get('/budgets/:budgetId/expenses/:expenseId', { schema: { params: Type.Object({ budgetId: Uuid, expenseId: Uuid }) } }, async (req) =>
    reads.expense(principal(req).uid, lower(req.params.budgetId), lower(req.params.expenseId)),
  );

  app.get('/budgets/:budgetId/summary', { schema: { params: BudgetParams, querystring: SummaryQuery } }, async (req) => {
    const { from, to } = req.query;
    for (const [name, value] of [
      ['from', from],
      ['to', to],
    ] as const) {
      if (value !== undefined && !isCalendarDate(value)) {
        throw new AppError('VALIDATION_FAILED', 'invalid date', [{ path: `querystring/${name}`, message: 'must be a calendar date' }]);
      }
    }
    return reads.summary(principal(req).uid, lower(req.params.budgetId), from ?? null, to ?? null);
  });
}
