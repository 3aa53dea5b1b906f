/**
 * `GET /sync`, the socket (docs/protocol.md, "The socket").
 *
 * The token is checked by the app's onRequest hook (src/http/auth.ts) BEFORE the upgrade, from the
 * Authorization header or the browser subprotocol pair `budget-sync.v1, bearer.<token>`: a bad
 * token is answered 401 and the upgrade never happens. `handleProtocols` then selects
 * `budget-sync.v1` — never the `bearer.` entry, which would echo the token.
 *
 * Frames larger than WS_MAX_PAYLOAD_BYTES are refused by `ws` itself with close 1009. fastify's
 * close runs the custom preClose, which closes every socket with 1001 (the plugin's default sends
 * no code, which clients see as 1005; docs/dependencies.md, "WebSockets").
 */
import { SOCKET_PROTOCOL } from '@budget-sync/protocol';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import websocket from '@fastify/websocket';
import type { WebSocket } from 'ws';
import { AppError } from '../../errors/app-error.js';
import { DRAIN_GRACE_MS, type Sockets } from '../../realtime/sockets.js';
import type { RoutePlugin } from '../app.js';
import { originAllowed } from '../cors.js';
import type { Services } from '../services.js';

const isUpgrade = (req: FastifyRequest) => req.headers.upgrade?.toLowerCase() === 'websocket';

/** An upgrade request not turned into a socket by then (refused, wrong path, stalled) is cut. */
const UPGRADE_TIMEOUT_MS = 10_000;

/**
 * Lets go of what the upgrade request left behind, once its socket is open. The plugin's 'error'
 * listener closes over the upgrade's fastify request and reply, and the TCP socket keeps pointing
 * at the upgrade's ServerResponse; between them they held the request, its headers (the bearer
 * token among them), its logger and the response for the socket's whole life. With the closures
 * below shared by all sockets, heap per idle socket went from 11.3 to 6.7 KB (heap snapshots of
 * one instance at 1,000 and 3,000 sockets). `onError` does what the plugin's errorHandler does.
 */
function releaseUpgrade(
  ws: WebSocket,
  req: FastifyRequest,
  res: ServerResponse | undefined,
  onError: (this: WebSocket, err: Error) => void,
): void {
  const tcp = req.raw.socket as Socket | null;
  if (res && tcp && res.socket === tcp) res.detachSocket(tcp);
  ws.removeAllListeners('error');
  ws.on('error', onError);
}

export function socketRoute(sockets: Sockets): RoutePlugin {
  return async (app: FastifyInstance, { config }: Services) => {
    // Upgrade requests whose TCP socket is not (yet) a WebSocket. Any path can be asked to upgrade
    // (the plugin routes every upgrade through fastify); if it is not /sync or is refused, nothing
    // else ever closes that socket, and an open socket holds fastify's close forever.
    const pending = new Set<Duplex>();
    // Shared by every socket: a closure (or a `once` wrapper) per socket lives as long as it does.
    const forget = function (this: Duplex) {
      pending.delete(this);
    };
    const log = app.log.child({ component: 'socket' });
    const onError = function (this: WebSocket, err: Error) {
      // Socket-level errors (oversize frame → ws closes 1009 itself, a peer reset): nothing to answer.
      log.debug({ err }, 'socket error');
      if (this.readyState === this.OPEN) this.terminate();
    };
    app.server.prependListener('upgrade', (_req: IncomingMessage, socket: Duplex) => {
      pending.add(socket);
      socket.on('close', forget);
      setTimeout(() => {
        if (pending.has(socket)) socket.destroy();
      }, UPGRADE_TIMEOUT_MS).unref();
    });
    await app.register(websocket, {
      options: {
        maxPayload: config.WS_MAX_PAYLOAD_BYTES,
        handleProtocols: (protocols) => (protocols.has(SOCKET_PROTOCOL) ? SOCKET_PROTOCOL : false),
      },
      errorHandler(error, socket) {
        onError.call(socket, error);
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
    // The upgrade's raw response, kept only until the handler lets go of it (releaseUpgrade).
    const responses = new WeakMap<FastifyRequest, ServerResponse>();
    // Browsers send `Origin` with an upgrade but enforce no CORS on sockets: the server does.
    // Clients outside a browser send none and are not affected.
    const allowed = originAllowed(config);
    app.get(
      '/sync',
      {
        websocket: true,
        schema: { hide: true },
        onRequest: (req, reply, done) => {
          const origin = req.headers.origin;
          if (origin !== undefined && !allowed(origin)) {
            return done(new AppError('ORIGIN_NOT_ALLOWED', `origin ${origin.slice(0, 200)} may not open sockets here (CORS_ORIGINS)`));
          }
          responses.set(req, reply.raw);
          done();
        },
      },
      (socket, req) => {
        pending.delete(req.raw.socket);
        releaseUpgrade(socket, req, responses.get(req), onError);
        responses.delete(req);
        sockets.accept(socket, req);
      },
    );
  };
}
