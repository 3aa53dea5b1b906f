import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { principal } from '../auth.js';
import { EventsQuery, PushBody } from '../schemas.js';
import type { Services } from '../services.js';

/** Push (`POST /events`) and the ordered stream with long-poll (`GET /events`). */
export async function eventRoutes(fastify: FastifyInstance, { processor, reads, waiter, config }: Services): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.post('/events', { schema: { body: PushBody } }, async (req) => {
    const { events, mode } = req.body;
    return { events: await processor.push(events, principal(req).uid, mode ?? 'stopOnError') };
  });

  app.get('/events', { schema: { querystring: EventsQuery } }, async (req, reply) => {
    const uid = principal(req).uid;
    const budgetId = req.query.budgetId.toLowerCase();
    const { key, count } = req.query;
    const wait = Math.min(req.query.wait, config.LONGPOLL_MAX_WAIT_SECONDS);
    let page = await reads.events(uid, budgetId, key, count);
    if (page.events.length === 0 && wait > 0) {
      // The response's 'close' before it was sent means the client went away: stop waiting.
      const abort = new AbortController();
      const onClose = () => abort.abort();
      reply.raw.once('close', onClose);
      try {
        await waiter.waitForStream(budgetId, uid, key, wait * 1000, abort.signal);
      } finally {
        reply.raw.off('close', onClose);
      }
      page = await reads.events(uid, budgetId, key, count);
    }
    const { lastSequence: _last, ...body } = page;
    return body;
  });
}
