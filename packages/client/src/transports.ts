/** Builds the transport the options ask for (socket by default, or long-poll). */
import type { Engine } from './engine.js';
import { LongPollTransport } from './transport-longpoll.js';
import { SocketTransport, globalSocket, subprotocolAuth } from './transport-socket.js';
import type { Transport, TransportSink } from './transport.js';

export function createTransport(e: Engine, sink: TransportSink): Transport {
  const o = e.options;
  if ((o.transport ?? 'socket') === 'longpoll') {
    return new LongPollTransport({
      http: e.http,
      sink,
      ...(o.longPollWaitSeconds === undefined ? {} : { waitSeconds: o.longPollWaitSeconds }),
      ...(o.membershipPollMs === undefined ? {} : { membershipPollMs: o.membershipPollMs }),
      ...(o.backoff ? { backoff: o.backoff } : {}),
    });
  }
  const url = `${o.baseUrl.replace(/\/+$/, '').replace(/^http/, 'ws')}/sync`;
  return new SocketTransport({
    url,
    tokens: e.tokens,
    sink,
    open: o.openSocket ?? (o.WebSocket ? subprotocolAuth(o.WebSocket) : globalSocket),
    ...(o.requestTimeoutMs === undefined ? {} : { pushTimeoutMs: o.requestTimeoutMs }),
    ...(o.backoff ? { backoff: o.backoff } : {}),
  });
}
