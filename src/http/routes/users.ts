import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { ref } from '../../protocol/components.js';
import { UserId } from '../../protocol/primitives.js';
import { PublicProfile, User } from '../../protocol/wire.js';
import { principal } from '../auth.js';
import { AUTHENTICATED, WITH_BODY, WITH_INPUT, errors } from '../responses.js';
import { UserBody } from '../schemas.js';
import type { Services } from '../services.js';

const tags = ['users'];

/** The caller's account and public profiles (docs/protocol.md "Users"). */
export async function userRoutes(fastify: FastifyInstance, { users, photoCleanup }: Services): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/user',
    {
      schema: {
        tags,
        operationId: 'getUser',
        summary: 'The caller (created from the token on the first request)',
        response: { 200: ref(User), ...errors(...AUTHENTICATED, 404) },
      },
    },
    async (req) => users.get(principal(req)),
  );

  app.put(
    '/user',
    {
      schema: {
        tags,
        operationId: 'updateUser',
        summary: "Change the caller's name or email (null clears)",
        body: UserBody,
        response: { 200: ref(User), ...errors(...WITH_BODY, 404) },
      },
    },
    async (req) => users.update(principal(req), req.body),
  );

  app.delete(
    '/user',
    {
      schema: {
        tags,
        operationId: 'deleteUser',
        summary: 'Delete the caller: leave every budget, then remove the photo and the account',
        response: { 204: Type.Null({ description: 'Deleted' }), ...errors(...AUTHENTICATED, 502) },
      },
    },
    async (req, reply) => {
      await users.delete(principal(req).uid, photoCleanup);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/profiles/:userId',
    {
      schema: {
        tags,
        operationId: 'getProfile',
        summary: "A user's public profile (never the email)",
        params: Type.Object({ userId: UserId }),
        response: { 200: ref(PublicProfile), ...errors(...WITH_INPUT, 404) },
      },
    },
    async (req) => users.profile(req.params.userId),
  );
}
