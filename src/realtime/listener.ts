/**
 * The instance's one LISTEN connection, kept alive by a heartbeat and a watchdog.
 *
 * porsager `postgres` opens a dedicated connection for `listen` and re-LISTENs after a drop, on the
 * pool's backoff (createSql's, capped at 0.5 s). A driver can still lose a LISTEN silently (its 3.x
 * gave up after one failed re-LISTEN), and a LISTEN connection can die in ways no client library
 * sees (a proxy or firewall that drops it quietly). So every
 * `heartbeatMs` this instance NOTIFYs its own id through the normal pool (via the notifier); when none
 * has come back for 3 intervals, the watchdog throws the listener's `postgres()` instance away
 * (`end({timeout: 0})`), builds a new one and listens again (~0.7 s after Postgres returned).
 *
 * Every successful (re)LISTEN calls `onListen`, and the hub then re-reads every subscribed budget:
 * notifications sent while the connection was down are lost, the log is not.
 *
 * Direct to Postgres only: through a transaction pooler LISTEN receives nothing (the pooler hands the
 * session to other clients between transactions).
 */
import { type Sql, createSql } from '../db/sql.js';
import type { Metrics } from '../metrics.js';
import type { Logger } from '../log.js';

/** application_name of the LISTEN connection, so operators (and fault tests) can find it. */
export const LISTENER_APPLICATION_NAME = 'budget-sync-listener';
/** Missed heartbeats before the listener is rebuilt. */
const MISSED_HEARTBEATS = 3;

export interface ListenerOptions {
  url: string;
  channel: string;
  heartbeatMs: number;
  onNotify(payload: string): void;
  onListen(): void;
  /** Sends heartbeat `n` through the normal pool. */
  sendHeartbeat(n: number): void;
  metrics: Metrics;
  log: Logger;
}

export class Listener {
  private sql: Sql | undefined;
  private timer: NodeJS.Timeout | undefined;
  private heartbeatNo = 0;
  /** When this instance's heartbeat last came back (or the listener was last (re)built). */
  private lastEcho = 0;
  private listening = false;
  private stopped = false;
  private generation = 0;

  constructor(private readonly options: ListenerOptions) {}

  get isListening(): boolean {
    return this.listening;
  }

  /** Builds the LISTEN connection and starts the heartbeat; resolves once LISTEN ran (or failed). */
  async start(): Promise<void> {
    this.timer = setInterval(() => this.tick(), this.options.heartbeatMs);
    this.timer.unref();
    await this.build();
  }

  /** Called by the hub for every heartbeat notice of this instance. */
  heartbeatEchoed(): void {
    this.lastEcho = Date.now();
    if (!this.listening) this.setListening(true);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.setListening(false);
    const old = this.sql;
    this.sql = undefined;
    await old?.end({ timeout: 0 }).catch(() => {});
  }

  private tick(): void {
    if (this.stopped) return;
    this.options.sendHeartbeat(++this.heartbeatNo);
    const silentFor = Date.now() - this.lastEcho;
    // One interval of slack for the echo's round trip before the gauge says "not listening".
    if (silentFor > 2 * this.options.heartbeatMs && this.listening) this.setListening(false);
    if (silentFor > MISSED_HEARTBEATS * this.options.heartbeatMs) {
      this.options.log.warn({ silentMs: silentFor }, 'listener heartbeat missing, rebuilding the LISTEN connection');
      this.options.metrics.listenerRebuilds.inc();
      void this.build();
    }
  }

  private async build(): Promise<void> {
    const generation = ++this.generation;
    // The rebuild gets a full watchdog period before it may be judged again.
    this.lastEcho = Date.now();
    this.setListening(false);
    const old = this.sql;
    void old?.end({ timeout: 0 }).catch(() => {});
    const sql = createSql(this.options.url, { max: 1, applicationName: LISTENER_APPLICATION_NAME });
    this.sql = sql;
    try {
      await sql.listen(
        this.options.channel,
        (payload) => {
          if (generation === this.generation) this.options.onNotify(payload);
        },
        () => {
          if (generation !== this.generation || this.stopped) return;
          this.options.log.info({ generation }, 'listening');
          this.setListening(true);
          this.options.onListen();
        },
      );
    } catch (err) {
      // The watchdog builds a new one after MISSED_HEARTBEATS intervals.
      if (generation === this.generation && !this.stopped) this.options.log.warn({ err }, 'LISTEN failed');
    }
  }

  private setListening(on: boolean): void {
    this.listening = on;
    this.options.metrics.listenerState.set(on ? 1 : 0);
  }
}
