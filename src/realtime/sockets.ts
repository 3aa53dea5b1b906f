/**
 * Every open socket of the instance: admission (per-user and per-instance limits, draining), the
 * heartbeat, the drain poller for sockets above high water, and the 1001 close at shutdown.
 *
 * One interval for all heartbeats instead of a timer per socket, spread over the heartbeat period:
 * every socket gets a slot, and each tick (WS_HEARTBEAT_MS / slots, ~250 ms) pings one slot's
 * sockets, so each socket is still pinged once per WS_HEARTBEAT_MS and cut at its next ping if it
 * did not answer — but never all sockets in one go (5,000 pings at once and their pongs stall
 * the event loop for ~0.5 s). The drain poller runs every DRAIN_POLL_MS only while some socket is
 * blocked (`ws` has no 'drain' event on a WebSocket, so the buffer is sampled).
 */
import { CLOSE_CODES } from '@budget-sync/protocol';
import type { FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { AppError } from '../errors/app-error.js';
import { errorMessage } from './messages.js';
import { Connection, type ConnectionDeps } from './connection.js';

const DRAIN_POLL_MS = 20;
/** Roughly how often a slice of the sockets is pinged. */
const HEARTBEAT_TICK_MS = 250;

/** How long sockets get to finish the close handshake at shutdown before they are cut. */
export const DRAIN_GRACE_MS = 2000;

export type SocketsDeps = Omit<ConnectionDeps, 'onBlocked' | 'onClosed'>;

export class Sockets {
  readonly connections = new Set<Connection>();
  private readonly perUser = new Map<string, number>();
  private readonly blocked = new Set<Connection>();
  /** Heartbeat slots: each tick pings the sockets of the next slot. */
  private readonly slots: Set<Connection>[];
  private readonly slotOf = new Map<Connection, Set<Connection>>();
  private nextSlot = 0;
  private tick = 0;
  private heartbeat: NodeJS.Timeout | undefined;
  private drainPoller: NodeJS.Timeout | undefined;
  private draining = false;
  /** One object for every Connection, not a spread of these deps and two closures per socket. */
  private readonly connectionDeps: ConnectionDeps;

  constructor(private readonly deps: SocketsDeps) {
    this.connectionDeps = { ...deps, onBlocked: (c) => this.block(c), onClosed: (c) => this.closed(c) };
    const count = Math.max(1, Math.round(deps.config.WS_HEARTBEAT_MS / HEARTBEAT_TICK_MS));
    this.slots = Array.from({ length: count }, () => new Set<Connection>());
  }

  start(): void {
    this.heartbeat = setInterval(() => this.beat(), this.deps.config.WS_HEARTBEAT_MS / this.slots.length);
    this.heartbeat.unref();
  }

  /** The /sync handler: the upgrade is done and the token was checked before it. */
  accept(socket: WebSocket, req: FastifyRequest): void {
    const { config, metrics } = this.deps;
    const principal = req.principal;
    const refuse = (code: number, err: AppError) => {
      socket.send(JSON.stringify(errorMessage(err)));
      socket.close(code, err.code);
      metrics.socketCloses.inc({ code });
    };
    if (!principal) return refuse(CLOSE_CODES.TOKEN_EXPIRED, new AppError('UNAUTHENTICATED', 'a bearer token is required'));
    if (this.draining)
      return refuse(CLOSE_CODES.DRAINING, new AppError('SERVER_DRAINING', 'this instance is shutting down; reconnect to another'));
    const mine = this.perUser.get(principal.uid) ?? 0;
    if (this.connections.size >= config.WS_MAX_CONNECTIONS) {
      return refuse(
        CLOSE_CODES.TOO_MANY,
        new AppError('TOO_MANY_CONNECTIONS', `this instance holds its maximum of ${config.WS_MAX_CONNECTIONS} sockets`),
      );
    }
    if (mine >= config.WS_MAX_CONNECTIONS_PER_USER) {
      return refuse(
        CLOSE_CODES.TOO_MANY,
        new AppError('TOO_MANY_CONNECTIONS', `at most ${config.WS_MAX_CONNECTIONS_PER_USER} sockets per user`),
      );
    }
    const conn = new Connection(socket, principal, this.connectionDeps);
    this.connections.add(conn);
    // Round-robin slots keep them even; a new socket is first pinged within one heartbeat period.
    const slot = this.slots[this.nextSlot++ % this.slots.length] as Set<Connection>;
    slot.add(conn);
    this.slotOf.set(conn, slot);
    this.perUser.set(principal.uid, mine + 1);
    metrics.socketsConnected.inc();
    conn.open();
  }

  /** Closes every socket with 1001 (an `error SERVER_DRAINING` first); cuts those still open after `graceMs`. */
  async drain(graceMs: number): Promise<void> {
    this.draining = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.drainPoller) clearInterval(this.drainPoller);
    const all = [...this.connections];
    const closed = all.map(
      (c) =>
        new Promise<void>((resolve) => (c.socket.readyState === c.socket.CLOSED ? resolve() : c.socket.once('close', () => resolve()))),
    );
    for (const c of all)
      c.close(CLOSE_CODES.DRAINING, new AppError('SERVER_DRAINING', 'this instance is shutting down; reconnect to another'));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(closed), new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    for (const c of this.connections) c.socket.terminate();
  }

  private beat(): void {
    const slot = this.slots[this.tick++ % this.slots.length] as Set<Connection>;
    for (const c of slot) {
      if (!c.alive) {
        this.deps.metrics.socketCloses.inc({ code: 1006 });
        c.terminate();
        continue;
      }
      c.alive = false;
      try {
        c.socket.ping();
      } catch {
        c.terminate();
      }
    }
  }

  private block(c: Connection): void {
    this.blocked.add(c);
    if (this.drainPoller) return;
    this.drainPoller = setInterval(() => {
      const now = Date.now();
      for (const b of this.blocked) if (!b.pollDrain(now)) this.blocked.delete(b);
      if (this.blocked.size === 0) {
        clearInterval(this.drainPoller);
        this.drainPoller = undefined;
      }
    }, DRAIN_POLL_MS);
    this.drainPoller.unref();
  }

  private closed(c: Connection): void {
    if (!this.connections.delete(c)) return;
    this.blocked.delete(c);
    this.slotOf.get(c)?.delete(c);
    this.slotOf.delete(c);
    const n = (this.perUser.get(c.userId) ?? 1) - 1;
    if (n <= 0) this.perUser.delete(c.userId);
    else this.perUser.set(c.userId, n);
    this.deps.metrics.socketsConnected.dec();
  }
}
