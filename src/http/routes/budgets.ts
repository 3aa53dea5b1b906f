import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { AppError } from '../../errors/app-error.js';
import { ref } from '../../protocol/components.js';
import { Uuid, UserId, isCalendarDate } from '../../protocol/primitives.js';
import { CreateBudgetResponse, Snapshot } from '../../protocol/wire.js';
import { principal } from '../auth.js';
import {
  BudgetPage,
  BudgetResponse,
  CategoryList,
  CategoryResponse,
  ExpensePage,
  ExpenseResponse,
  IN_BUDGET,
  LastSequenceResponse,
  ParticipantList,
  ParticipantResponse,
  Summary,
  WITH_BODY,
  WITH_INPUT,
  errors,
} from '../responses.js';
import { BudgetParams, CreateBudgetBody, PageQuery, SummaryQuery } from '../schemas.js';
import type { Services } from '../services.js';

const lower = (id: string) => id.toLowerCase();
const budgets = { tags: ['budgets'] };
const records = { tags: ['records'] };

/** Budget creation and every read of a budget (docs/protocol.md, "Budgets and their records"). */
export async function budgetRoutes(fastify: FastifyInstance, { membership, reads }: Services): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.post(
    '/budget',
    {
      schema: {
        ...budgets,
        operationId: 'createBudget',
        summary: 'Create a budget (the caller owns it)',
        description: '201 when created; a replay of the same `eventId` answers 200 with the same body.',
        body: CreateBudgetBody,
        response: {
          201: { ...ref(CreateBudgetResponse), description: 'Created: sequences 1 (budget.create) and 2 (the owner joining)' },
          200: { ...ref(CreateBudgetResponse), description: 'A replay of the same eventId: the answer of the first time' },
          ...errors(...WITH_BODY, 409),
        },
      },
    },
    async (req, reply) => {
      const { eventId, id, title, details, when } = req.body;
      const input = { eventId: lower(eventId), id: lower(id), title, when, ...(details !== undefined ? { details } : {}) };
      const result = await membership.createBudget(principal(req).uid, input);
      return reply.code(result.created ? 201 : 200).send(result.body);
    },
  );

  app.get(
    '/budgets',
    {
      schema: {
        ...budgets,
        operationId: 'listBudgets',
        summary: "The caller's budgets, a page at a time",
        querystring: PageQuery,
        response: { 200: ref(BudgetPage), ...errors(...WITH_INPUT) },
      },
    },
    async (req) => reads.budgets(principal(req).uid, req.query.key && lower(req.query.key), req.query.count),
  );

  app.get(
    '/budgets/:budgetId',
    {
      schema: {
        ...budgets,
        operationId: 'getBudget',
        summary: 'A budget and its last sequence',
        params: BudgetParams,
        response: { 200: ref(BudgetResponse), ...errors(...IN_BUDGET) },
      },
    },
    async (req) => reads.budget(principal(req).uid, lower(req.params.budgetId)),
  );

  app.get(
    '/budgets/:budgetId/snapshot',
    {
      schema: {
        ...budgets,
        operationId: 'getSnapshot',
        summary: 'Everything of a budget, read in one transaction',
        description: 'Apply the stream after `lastSequence` on top of it and you have the current state.',
        params: BudgetParams,
        response: { 200: ref(Snapshot), ...errors(...IN_BUDGET) },
      },
    },
    async (req) => reads.snapshot(principal(req).uid, lower(req.params.budgetId)),
  );

  app.get(
    '/budgets/:budgetId/last-event-sequence',
    {
      schema: {
        ...budgets,
        operationId: 'getLastEventSequence',
        summary: "The budget's last sequence",
        params: BudgetParams,
        response: { 200: ref(LastSequenceResponse), ...errors(...IN_BUDGET) },
      },
    },
    async (req) => reads.lastSequence(principal(req).uid, lower(req.params.budgetId)),
  );

  app.get(
    '/budgets/:budgetId/participants',
    {
      schema: {
        ...records,
        operationId: 'listParticipants',
        summary: 'The participants, in joining order',
        params: BudgetParams,
        response: { 200: ref(ParticipantList), ...errors(...IN_BUDGET) },
      },
    },
    async (req) => reads.participants(principal(req).uid, lower(req.params.budgetId)),
  );

  app.get(
    '/budgets/:budgetId/participants/:userId',
    {
      schema: {
        ...records,
        operationId: 'getParticipant',
        summary: 'One participant',
        params: Type.Object({ budgetId: Uuid, userId: UserId }),
        response: { 200: ref(ParticipantResponse), ...errors(...IN_BUDGET) },
      },
    },
    async (req) => reads.participant(principal(req).uid, lower(req.params.budgetId), req.params.userId),
  );

  app.get(
    '/budgets/:budgetId/categories',
    {
      schema: {
        ...records,
        operationId: 'listCategories',
        summary: 'The live categories',
        params: BudgetParams,
        response: { 200: ref(CategoryList), ...errors(...IN_BUDGET) },
      },
    },
    async (req) => reads.categories(principal(req).uid, lower(req.params.budgetId)),
  );

  app.get(
    '/budgets/:budgetId/categories/:categoryId',
    {
      schema: {
        ...records,
        operationId: 'getCategory',
        summary: 'One live category',
        params: Type.Object({ budgetId: Uuid, categoryId: Uuid }),
        response: { 200: ref(CategoryResponse), ...errors(...IN_BUDGET) },
      },
    },
    async (req) => reads.category(principal(req).uid, lower(req.params.budgetId), lower(req.params.categoryId)),
  );

  app.get(
    '/budgets/:budgetId/expenses',
    {
      schema: {
        ...records,
        operationId: 'listExpenses',
        summary: 'The live expenses, a page at a time',
        params: BudgetParams,
        querystring: PageQuery,
        response: { 200: ref(ExpensePage), ...errors(...IN_BUDGET) },
      },
    },
    async (req) => reads.expenses(principal(req).uid, lower(req.params.budgetId), req.query.key && lower(req.query.key), req.query.count),
  );

  app.get(
    '/budgets/:budgetId/expenses/:expenseId',
    {
      schema: {
        ...records,
        operationId: 'getExpense',
        summary: 'One live expense',
        params: Type.Object({ budgetId: Uuid, expenseId: Uuid }),
        response: { 200: ref(ExpenseResponse), ...errors(...IN_BUDGET) },
      },
    },
    async (req) => reads.expense(principal(req).uid, lower(req.params.budgetId), lower(req.params.expenseId)),
  );

  app.get(
    '/budgets/:budgetId/summary',
    {
      schema: {
        ...budgets,
        operationId: 'getSummary',
        summary: 'Allocated, spent and remaining per live category and in total',
        params: BudgetParams,
        querystring: SummaryQuery,
        response: { 200: ref(Summary), ...errors(...IN_BUDGET) },
      },
    },
    async (req) => {
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
    },
  );
}
