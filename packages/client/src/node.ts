/**
 * The Node entry: everything of the universal one, with a `SyncClient` whose socket is the `ws`
 * package sending the token as `Authorization: Bearer` (Node 20 has no global WebSocket, and a
 * header keeps the token out of the subprotocol list). Browsers and React Native never load this.
 */
import { SOCKET_PROTOCOL } from '@budget-sync/protocol';
import WebSocket from 'ws';
import { SyncClient as UniversalClient } from './client.js';
import type { SyncClientOptions } from './options.js';
import type { OpenSocket, WebSocketLike } from './transport-socket.js';

export * from './index.js';

/** A socket from the `ws` package with the token in the Authorization header. */
export const nodeSocket: OpenSocket = (url, token) =>
  new WebSocket(url, [SOCKET_PROTOCOL], { headers: { authorization: `Bearer ${token}` } }) as unknown as WebSocketLike;

export class SyncClient extends UniversalClient {
  constructor(options: SyncClientOptions) {
    super(options.openSocket || options.WebSocket ? options : { ...options, openSocket: nodeSocket });
  }
}
