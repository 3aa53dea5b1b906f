import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { ref } from '../../protocol/components.js';
import { Uuid, UserId } from '../../protocol/primitives.js';
import { principal } from '../auth.js';
import {
  IN_BUDGET,
  InviteCreated,
  InviteList,
  JoinResponse,
  OwnerResponse,
  ParticipantRemoved,
  WITH_BODY,
  WITH_INPUT,
  errors,
} from '../responses.js';
import { BudgetParams, InviteBody, InviteParams, OwnerBody } from '../schemas.js';
import type { Services } from '../services.js';

const Token = Type.String({ minLength: 16, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$' });
const tags = ['membership'];
/** A budget-scoped route with a body: 403/404 of the budget, and the body's own refusals. */
const IN_BUDGET_WITH_BODY = [...new Set([...IN_BUDGET, ...WITH_BODY])];

/** Invites, joining, leaving, removal and ownership (docs/protocol.md, "Membership"). */
export async function membershipRoutes(fastify: FastifyInstance, { membership }: Services): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.post(
    '/budgets/:budgetId/invites',
    {
      schema: {
        tags,
        operationId: 'createInvite',
        summary: 'Make an invite (any participant may)',
        params: BudgetParams,
        body: InviteBody,
        response: { 201: { ...ref(InviteCreated), description: 'Created' }, ...errors(...IN_BUDGET_WITH_BODY) },
      },
      // Every field is optional, so no body at all means the defaults.
      preValidation: async (req) => {
        req.body ??= {};
      },
    },
    async (req, reply) => {
      const result = await membership.createInvite(principal(req).uid, req.params.budgetId.toLowerCase(), req.body);
      return reply.code(201).send(result);
    },
  );

  app.get(
    '/budgets/:budgetId/invites',
    {
      schema: {
        tags,
        operationId: 'listInvites',
        summary: 'Live invites: all for the owner, their own for a member',
        params: BudgetParams,
        response: { 200: ref(InviteList), ...errors(...IN_BUDGET) },
      },
    },
    async (req) => membership.listInvites(principal(req).uid, req.params.budgetId.toLowerCase()),
  );

  app.delete(
    '/budgets/:budgetId/invites/:inviteId',
    {
      schema: {
        tags,
        operationId: 'revokeInvite',
        summary: 'Revoke an invite (the owner any, a member their own)',
        params: InviteParams,
        response: {
          204: Type.Null({ description: 'Revoked (also when it already was, or has expired or been used up)' }),
          ...errors(...IN_BUDGET),
        },
      },
    },
    async (req, reply) => {
      await membership.revokeInvite(principal(req).uid, req.params.budgetId.toLowerCase(), req.params.inviteId.toLowerCase());
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/budgets/:budgetId/join',
    {
      schema: {
        tags,
        operationId: 'joinBudget',
        summary: 'Join a budget with an invite token',
        description: 'Joining again is a no-op with the same answer. Any unusable token is 404 INVITE_INVALID.',
        params: BudgetParams,
        querystring: Type.Object({ token: Token }),
        response: { 200: ref(JoinResponse), ...errors(...WITH_INPUT, 403, 404) },
      },
    },
    async (req) => membership.join(principal(req).uid, req.query.token, req.params.budgetId.toLowerCase()),
  );

  app.post(
    '/invites/:token/accept',
    {
      schema: {
        tags,
        operationId: 'acceptInvite',
        summary: "Join an invite's budget",
        description: 'Joining again is a no-op with the same answer. Any unusable token is 404 INVITE_INVALID.',
        params: Type.Object({ token: Token }),
        response: { 200: ref(JoinResponse), ...errors(...WITH_INPUT, 403, 404, 413, 415) },
      },
    },
    async (req) => membership.join(principal(req).uid, req.params.token),
  );

  app.delete(
    '/budgets/:budgetId/leave',
    {
      schema: {
        tags,
        operationId: 'leaveBudget',
        summary: 'Leave a budget',
        description: 'The owner hands over first (409 OWNER_MUST_TRANSFER) unless it is the last member: then the budget is deleted.',
        params: BudgetParams,
        response: { 200: ref(ParticipantRemoved), ...errors(...IN_BUDGET, 409) },
      },
    },
    async (req) => membership.leave(principal(req).uid, req.params.budgetId.toLowerCase()),
  );

  app.delete(
    '/budgets/:budgetId/participants/:userId',
    {
      schema: {
        tags,
        operationId: 'removeParticipant',
        summary: 'Remove a participant (owner only)',
        params: Type.Object({ budgetId: Uuid, userId: UserId }),
        response: { 200: ref(ParticipantRemoved), ...errors(...IN_BUDGET) },
      },
    },
    async (req) => membership.remove(principal(req).uid, req.params.budgetId.toLowerCase(), req.params.userId),
  );

  app.put(
    '/budgets/:budgetId/owner',
    {
      schema: {
        tags,
        operationId: 'transferOwnership',
        summary: 'Hand over ownership to another participant (owner only)',
        params: BudgetParams,
        body: OwnerBody,
        response: { 200: ref(OwnerResponse), ...errors(...IN_BUDGET_WITH_BODY) },
      },
    },
    async (req) => membership.transferOwnership(principal(req).uid, req.params.budgetId.toLowerCase(), req.body.userId),
  );
}
