import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Seconds. Fine between 10 and 250 ms, where the fan-out's targets (p99 ≤ 50 ms) and its loaded
 * tails lie: with only 25/50/100/250 bounds a p99 could be read no closer than "≤ 250".
 */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.5, 1, 2.5, 5];

/** The Prometheus registry of one server instance (not prom-client's global one, so tests can run several). */
export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests by route and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by route.',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 30, 60],
    registers: [this.registry],
  });
  readonly pushBatches = new Counter({
    name: 'push_batches_total',
    help: 'Pushed batches that reached the database, by how they were written: direct (one statement, no explicit transaction), direct-missed (that statement wrote nothing; the batch is also counted under the path that wrote it), pipelined (in a transaction, one round trip for their statements), sequential, retried (a pipelined statement matched nothing: rolled back, run sequentially), careful (after a database error).',
    labelNames: ['path'] as const,
    registers: [this.registry],
  });
  readonly pushEvents = new Counter({
    name: 'push_events_total',
    help: 'Pushed events by result status.',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });

  // Real-time fan-out (src/realtime).
  readonly socketsConnected = new Gauge({ name: 'ws_sockets_connected', help: 'Open /sync sockets.', registers: [this.registry] });
  readonly subscriptions = new Gauge({
    name: 'ws_subscriptions',
    help: 'Live budget subscriptions on open sockets.',
    registers: [this.registry],
  });
  readonly socketCloses = new Counter({
    name: 'ws_closes_total',
    help: 'Sockets closed by the server, by close code (1001 draining, 4000 protocol, 4401 auth, 4429 limits, 4503 slow).',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly eventsDelivered = new Counter({
    name: 'ws_events_delivered_total',
    help: 'Stream events sent on sockets.',
    registers: [this.registry],
  });
  readonly deliveryLag = new Histogram({
    name: 'ws_delivery_lag_seconds',
    help: 'Commit to send: now minus the serverTime of the oldest event in each `events` message.',
    buckets: [...LATENCY_BUCKETS, 10, 30],
    registers: [this.registry],
  });
  readonly commitToSend = new Histogram({
    name: 'realtime_commit_to_send_seconds',
    help: "A commit (this instance's, or another's by the time in its NOTIFY) to the sends of its events to every ready local subscriber.",
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly wakeToSend = new Histogram({
    name: 'realtime_wake_to_send_seconds',
    help: "A budget's wake-up (local commit, another instance's NOTIFY, a drain, the safety poll) to the end of the log read and sends it caused: the fan-out's own latency.",
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly logReads = new Counter({
    name: 'realtime_log_reads_total',
    help: 'Budget pages read from the event log by the hub (one per budget per wake-up and page).',
    registers: [this.registry],
  });
  readonly memoryPages = new Counter({
    name: 'realtime_memory_pages_total',
    help: "Budget pages sent from this instance's own commits without reading the log (the log read them back in the commit's statement).",
    registers: [this.registry],
  });
  readonly logQueries = new Counter({
    name: 'realtime_log_queries_total',
    help: 'Queries the hub ran for those pages (the wake-ups of one event-loop turn share one).',
    registers: [this.registry],
  });
  readonly listenerState = new Gauge({
    name: 'realtime_listener_listening',
    help: '1 while the LISTEN connection is up and echoing heartbeats, else 0.',
    registers: [this.registry],
  });
  readonly listenerRebuilds = new Counter({
    name: 'realtime_listener_rebuilds_total',
    help: 'LISTEN connections thrown away by the watchdog and built anew.',
    registers: [this.registry],
  });
  readonly notifiesSent = new Counter({
    name: 'realtime_notifies_sent_total',
    help: 'pg_notify payloads sent (pointers, membership, heartbeats).',
    registers: [this.registry],
  });
  readonly notifyFailures = new Counter({
    name: 'realtime_notify_failures_total',
    help: 'Notifier transactions that failed (retried; the safety poll covers pointers).',
    registers: [this.registry],
  });

  readonly notifyQueueUsage = new Gauge({
    name: 'pg_notification_queue_usage',
    help: 'Fraction of the cluster-wide NOTIFY queue in use (alert above 0.1: a stuck listener pins it).',
    registers: [this.registry],
    collect: async () => {
      if (!this.probes.notifyQueueUsage) return;
      try {
        this.notifyQueueUsage.set(await this.probes.notifyQueueUsage());
      } catch {
        // Database unreachable: keep the last value; readyz reports the outage.
      }
    },
  });

  /**
   * `notifyQueueUsage` reads `pg_notification_queue_usage()`; it runs when metrics are scraped, and a
   * failure (database down) keeps the last value.
   */
  constructor(private readonly probes: { notifyQueueUsage?: () => Promise<number> } = {}) {
    collectDefaultMetrics({ register: this.registry });
  }

  /**
   * prom-client validates and hashes a label object on every call (~3% of a one-event push's
   * CPU in the profile of docs/benchmarks/2026-12-07.md, four calls a request); the hot counters
   * keep their children per label set instead.
   */
  private readonly children = new Map<string, { inc(n?: number): void; observe(v: number): void }>();

  private child(key: string, make: () => { inc(n?: number): void } | { observe(v: number): void }) {
    let c = this.children.get(key);
    if (!c) {
      c = make() as { inc(n?: number): void; observe(v: number): void };
      this.children.set(key, c);
    }
    return c;
  }

  /** A finished HTTP request (the onResponse hook). */
  requestDone(method: string, route: string, status: number, seconds: number): void {
    this.child(`r ${method} ${route} ${status}`, () => this.httpRequests.labels(method, route, String(status))).inc();
    this.child(`d ${method} ${route}`, () => this.httpDuration.labels(method, route)).observe(seconds);
  }

  /** A pushed batch reached the database, written along `path` (the Processor's PushObserver). */
  batchWritten(path: string): void {
    this.child(`b ${path}`, () => this.pushBatches.labels(path)).inc();
  }

  /** The results of a push, counted by status. */
  pushed(results: readonly { status: string }[]): void {
    for (const r of results) this.child(`p ${r.status}`, () => this.pushEvents.labels(r.status)).inc();
  }
}
