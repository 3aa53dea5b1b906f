/**
 * Browsers on other origins (`CORS_ORIGINS`, src/config/origins.ts): @fastify/cors answers the
 * preflight of every route and adds the CORS headers to every answer of an allowed origin, errors
 * included, so a page can read a 401's or 429's code. The socket upgrade checks the same list
 * (src/http/routes/socket.ts): browsers send `Origin` there but do not enforce CORS on sockets.
 */
import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import { corsOrigins } from '../config/load.js';
import { originMatcher } from '../config/origins.js';
import type { Config } from '../config/schema.js';

/** Whether a browser `Origin` may use this server. */
export const originAllowed = (config: Config): ((origin: string) => boolean) => originMatcher(corsOrigins(config));

/** Registered before the auth hook: a preflight carries no token and is answered here. */
export async function registerCors(app: FastifyInstance, config: Config): Promise<void> {
  const allowed = originAllowed(config);
  await app.register(cors, {
    origin: (origin, done) => done(null, origin !== undefined && allowed(origin)),
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: ['Authorization', 'Content-Type'],
    // Retry-After tells a client how long to back off after 429 / 503; a page cannot read it otherwise.
    exposedHeaders: ['Retry-After'],
    // Chromium caps the preflight cache at 2 h; 10 min bounds how long a removed origin keeps working.
    maxAge: 600,
  });
}
