/**
 * The reference client of budget-sync (docs/client.md): the universal entry, for browsers and React
 * Native (the socket is the platform's global WebSocket). Node resolves `./node.js` instead.
 */
export { SyncClient, type SyncClientOptions, type SyncClientEvents, type FlushOptions } from './client.js';
export { type LocalStore, MemoryStore } from './store.js';
export { Outbox, MAX_BATCH, type ConflictReport, type RejectedReport, type Settlement } from './outbox.js';
export { Inbox, type ApplyOutcome } from './inbox.js';
export { LocalView } from './view.js';
export { HttpApi, HttpError, NetworkError, TimeoutError, AbortedError, REQUEST_TIMEOUT_MS, type FetchLike } from './http.js';
export { TokenSource, type GetToken } from './token.js';
export { Backoff, type BackoffOptions } from './backoff.js';
export {
  SocketTransport,
  subprotocolAuth,
  globalSocket,
  type OpenSocket,
  type WebSocketLike,
  type WebSocketConstructorLike,
} from './transport-socket.js';
export { LongPollTransport } from './transport-longpoll.js';
export { type Transport, type TransportSink, type TransportName, NotConnectedError, SocketError } from './transport.js';
export type * from './types.js';
export { CLOSE_CODES, ERROR_CODES, PROTOCOL_VERSION, SOCKET_PROTOCOL } from '@budget-sync/protocol';
export type * from '@budget-sync/protocol';
export { CachedStore, type StoreChanges, type StoreContents, type StoredRecord } from './store.js';
export { IndexedDbStore, type IndexedDbStoreOptions } from './store-indexeddb.js';
export { SqliteStore, type SqlDriver, type SqlValue } from './store-sqlite.js';
