import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { UserId } from '../../protocol/primitives.js';
import { principal } from '../auth.js';
import { UserBody } from '../schemas.js';
import type { Services } from '../services.js';

export async function userRoutes(fastify: FastifyInstance, { users, photoCleanup }: Services): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.get('/user', async (req) => users.get(principal(req)));

  app.put('/user', { schema: { body: UserBody } }, async (req) => users.update(principal(req), req.body));

  app.delete('/user', async (req, reply) => {
    await users.delete(principal(req).uid, photoCleanup);
    return reply.code(204).send();
  });

  app.get('/profiles/:userId', { schema: { params: Type.Object({ userId: UserId }) } }, async (req) => users.profile(req.params.userId));
}
