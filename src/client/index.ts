/** The reference client: see docs/client.md. */
export { SyncClient, type SyncClientOptions, type SyncClientEvents, type FlushOptions } from './client.js';
export { type LocalStore, MemoryStore } from './store.js';
export { Outbox, MAX_BATCH, type ConflictReport, type RejectedReport, type Settlement } from './outbox.js';
export { Inbox, type ApplyOutcome } from './inbox.js';
export { LocalView } from './view.js';
export { HttpApi, HttpError, NetworkError, TimeoutError, AbortedError, REQUEST_TIMEOUT_MS, type FetchLike } from './http.js';
export { TokenSource, type GetToken } from './token.js';
export { Backoff, type BackoffOptions } from './backoff.js';
export { SocketTransport, SOCKET_PROTOCOL, type WebSocketLike, type WebSocketConstructorLike } from './transport-socket.js';
export { LongPollTransport } from './transport-longpoll.js';
export { type Transport, type TransportSink, type TransportName, NotConnectedError, SocketError } from './transport.js';
export type * from './types.js';
