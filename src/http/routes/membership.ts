import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { Uuid, UserId } from '../../protocol/primitives.js';
import { principal } from '../auth.js';
import { BudgetParams, InviteBody, InviteCreated, InviteList, InviteParams } from '../schemas.js';
import type { Services } from '../services.js';

const Token = Type.String({ minLength: 16, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$' });

/** Invites, joining, leaving, removal and ownership (docs/protocol.md, "Membership"). */
export async function membershipRoutes(fastify: FastifyInstance, { membership }: Services): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.post(
    '/budgets/:budgetId/invites',
    {
      schema: { params: BudgetParams, body: InviteBody, response: { 201: InviteCreated } },
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
    { schema: { params: BudgetParams, response: { 200: InviteList }, summary: 'Live invites: all for the owner, their own for a member' } },
    async (req) => membership.listInvites(principal(req).uid, req.params.budgetId.toLowerCase()),
  );

  app.delete(
    '/budgets/:budgetId/invites/:inviteId',
    { schema: { params: InviteParams, response: { 204: Type.Null({ description: 'Revoked' }) }, summary: 'Revoke an invite' } },
    async (req, reply) => {
      await membership.revokeInvite(principal(req).uid, req.params.budgetId.toLowerCase(), req.params.inviteId.toLowerCase());
      return reply.code(204).send(null);
    },
  );

  app.get('/budgets/:budgetId/join', { schema: { params: BudgetParams, querystring: Type.Object({ token: Token }) } }, async (req) =>
    membership.join(principal(req).uid, req.query.token, req.params.budgetId.toLowerCase()),
  );

  app.post('/invites/:token/accept', { schema: { params: Type.Object({ token: Token }) } }, async (req) =>
    membership.join(principal(req).uid, req.params.token),
  );

  app.delete('/budgets/:budgetId/leave', { schema: { params: BudgetParams } }, async (req) =>
    membership.leave(principal(req).uid, req.params.budgetId.toLowerCase()),
  );

  app.delete(
    '/budgets/:budgetId/participants/:userId',
    { schema: { params: Type.Object({ budgetId: Uuid, userId: UserId }) } },
    async (req) => membership.remove(principal(req).uid, req.params.budgetId.toLowerCase(), req.params.userId),
  );

  app.put(
    '/budgets/:budgetId/owner',
    { schema: { params: BudgetParams, body: Type.Object({ userId: UserId }, { additionalProperties: false }) } },
    async (req) => membership.transferOwnership(principal(req).uid, req.params.budgetId.toLowerCase(), req.body.userId),
  );
}
