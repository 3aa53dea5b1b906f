/**
 * The real-time side of one instance, assembled: the hub (local fan-out, long-poll waiter, the
 * write path's ChangeSink), the notifier (after-commit NOTIFY to other instances), the listener
 * (their NOTIFYs to us) and the sockets. `src/server.ts` builds it with the server and stops it
 * first at shutdown.
 */
import { randomUUID } from 'node:crypto';
import type { TokenVerifier } from '../auth/verifier.js';
import type { Config } from '../config/schema.js';
import { type Sql, createSql } from '../db/sql.js';
import type { Metrics } from '../metrics.js';
import type { Logger } from '../log.js';
import { AccessBatcher } from '../sync/access-batch.js';
import type { Processor } from '../sync/processor.js';
import type { Connection } from './connection.js';
import { Hub } from './hub.js';
import { Listener } from './listener.js';
import { Notifier, createNotifierSql } from './notifier.js';
import { decodeNotice } from './notify-payload.js';
import { DRAIN_GRACE_MS, Sockets } from './sockets.js';

/**
 * The fan-out never waits behind writes: its log reads and safety poll have FANOUT_READERS
 * connections of their own, and the notifier one more. On the request pool, where every connection
 * can be held by a write transaction, the hub's wake → sent p50 was ≤ 500 ms at 10k sockets against
 * ≤ 10 ms on its own pool (the read itself ~1 ms). The notifier is apart from the readers because a
 * late heartbeat NOTIFY makes the watchdog rebuild the listener. Four readers: with two, 10k sockets
 * subscribing at once queued thousands of reads. An instance holds DATABASE_POOL_MAX +
 * FANOUT_READERS + 2 (notifier, LISTEN) connections; docs/architecture.md, "Fan-out", has the rest.
 */
export const FANOUT_READERS = 4;

export interface RealtimeOptions {
  config: Config;
  databaseUrl: string;
  sql: Sql;
  metrics: Metrics;
  log: Logger;
}

export class Realtime {
  readonly instanceId = randomUUID();
  readonly hub: Hub;
  readonly notifier: Notifier;
  readonly listener: Listener;
  /** The fan-out's own connections, apart from the request pool (see FANOUT_READERS). */
  private readonly readerSql: Sql;
  private readonly notifierSql: Sql;
  private sockets: Sockets | undefined;
  private stopped = false;

  constructor(private readonly options: RealtimeOptions) {
    const { config, metrics } = options;
    const log = options.log.child({ component: 'realtime', instanceId: this.instanceId });
    this.readerSql = createSql(options.databaseUrl, { max: FANOUT_READERS, applicationName: 'budget-sync-fanout' });
    this.notifierSql = createNotifierSql(options.databaseUrl);
    this.notifier = new Notifier(this.notifierSql, config.NOTIFY_CHANNEL, this.instanceId, metrics, log);
    this.hub = new Hub(this.readerSql, {
      safetyPollMs: config.SAFETY_POLL_MS,
      publish: (pointers, membership) => this.notifier.publish(pointers, membership),
      metrics,
      log,
    });
    this.listener = new Listener({
      url: options.databaseUrl,
      channel: config.NOTIFY_CHANNEL,
      heartbeatMs: config.LISTENER_HEARTBEAT_MS,
      sendHeartbeat: (n) => this.notifier.sendHeartbeat(n),
      // Notifications sent while not listening are lost: re-read every stream, re-check membership.
      onListen: () => {
        this.hub.wakeAll();
        void this.hub.reconcileMembership();
      },
      onNotify: (payload) => this.noticed(payload),
      metrics,
      log,
    });
  }

  /** The sockets need the write path, which needs the hub as its sink: hence a second step. */
  attach(processor: Processor, verifier: TokenVerifier): Sockets {
    const { config, sql, metrics } = this.options;
    this.sockets = new Sockets({
      config,
      hub: this.hub,
      processor,
      access: new AccessBatcher(sql),
      verifier,
      metrics,
      log: this.options.log.child({ component: 'socket' }),
    });
    return this.sockets;
  }

  /** The open sockets (tests look at their send buffers). */
  get connections(): ReadonlySet<Connection> {
    return this.sockets?.connections ?? new Set();
  }

  /** Starts listening (resolves once LISTEN ran or failed; the watchdog retries), the poll and heartbeats. */
  async start(): Promise<void> {
    this.hub.startSafetyPoll();
    this.sockets?.start();
    await this.listener.start();
  }

  /** Shutdown, first half: sockets get 1001, long-polls answer, timers and the LISTEN connection stop. */
  async drain(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.sockets?.drain(DRAIN_GRACE_MS);
    this.hub.close();
    await this.listener.stop();
  }

  /** Shutdown, second half (after in-flight requests ended): the last notices go out. */
  async close(): Promise<void> {
    await this.drain();
    await this.notifier.close();
    await Promise.all([this.readerSql.end({ timeout: 5 }), this.notifierSql.end({ timeout: 5 })]);
  }

  private noticed(payload: string): void {
    const notice = decodeNotice(payload);
    if (!notice) return;
    if (notice.instanceId === this.instanceId) {
      // Our own commits were delivered locally at commit time; only the heartbeat matters here.
      if (notice.heartbeat !== undefined) this.listener.heartbeatEchoed();
      return;
    }
    this.hub.changed(notice.pointers, notice.membership);
  }
}
