/**
 * `GET /sync`, the socket (PROTOCOL.md "The socket").
 *
 * The token is checked by the app's onRequest hook (src/http/auth.ts) BEFORE the upgrade, from the
 * Authorization header or the browser subprotocol pair `budget-sync.v1, bearer.<token>`: a bad
 * token is answered 401 and the upgrade never happens. `handleProtocols` then selects
 * `budget-sync.v1` — never the `bearer.` entry, which would echo the token.
 *
 * Frames larger than WS_MAX_PAYLOAD_BYTES are refused by `ws` itself with close 1009. fastify's
 * close runs the custom preClose, which closes every socket with 1001 (the plugin's default sends
 * no code, which clients see as 1005; PITFALLS §3).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import websocket from '@fastify/websocket';
import { SOCKET_PROTOCOL } from '../http/auth.js';
import type { RoutePlugin } from '../http/app.js';
import type { Services } from '../http/services.js';
import type { Sockets } from './sockets.js';

const isUpgrade = (req: FastifyRequest) => req.headers.upgrade?.toLowerCase() === 'websocket';

/** How long sockets get to finish the close handshake at shutdown before they are cut. */
export const DRAIN_GRACE_MS = 2000;

/** An upgrade request not turned into a socket by then (refused, wrong path, stalled) is cut. */
const UPGRADE_TIMEOUT_MS = 10_000;

export function socketRoute(sockets: Sockets): RoutePlugin {
  return async (app: FastifyInstance, { config }: Services) => {
    // Upgrade requests whose TCP socket is not (yet) a WebSocket. Any path can be asked to upgrade
    // (the plugin routes every upgrade through fastify); if it is not /sync or is refused, nothing
    // else ever closes that socket, and an open socket holds fastify's close forever.
    const pending = new Set<Duplex>();
    app.server.prependListener('upgrade', (_req: IncomingMessage, socket: Duplex) => {
      pending.add(socket);
      socket.once('close', () => pending.delete(socket));
      setTimeout(() => {
        if (pending.has(socket)) socket.destroy();
      }, UPGRADE_TIMEOUT_MS).unref();
    });
    await app.register(websocket, {
      options: {
        maxPayload: config.WS_MAX_PAYLOAD_BYTES,
        handleProtocols: (protocols) => (protocols.has(SOCKET_PROTOCOL) ? SOCKET_PROTOCOL : false),
      },
      errorHandler(error, socket, request) {
        // Socket-level errors (oversize frame → ws closes 1009 itself, a peer reset): nothing to answer.
        request.log.debug({ err: error }, 'socket error');
        if (socket.readyState === socket.OPEN) socket.terminate();
      },
      preClose: async function (this: FastifyInstance) {
        await sockets.drain(DRAIN_GRACE_MS);
        for (const socket of pending) socket.destroy();
        this.websocketServer.close();
      },
    });
    // A refused /sync upgrade (401 from the auth hook, 429 …) ends its socket at once: the auth hook
    // runs before the plugin's own onRequest hook, so the plugin never learns it was an upgrade and
    // leaves the socket open (a client that ignores the 401 would hold it).
    app.addHook('onSend', async (req, reply, payload) => {
      if (isUpgrade(req)) void reply.header('connection', 'close');
      return payload;
    });
    app.addHook('onResponse', async (req) => {
      const socket = req.raw.socket;
      if (!isUpgrade(req) || !socket) return;
      socket.end();
      setTimeout(() => socket.destroy(), 1000).unref();
    });
    app.get('/sync', { websocket: true, schema: { hide: true } }, (socket, req) => {
      pending.delete(req.raw.socket);
      sockets.accept(socket, req);
    });
  };
}
