/**
 * Opening a connection while Postgres restarts: the attempt waits for it instead of failing at once.
 *
 * The driver rejects every query waiting for a connection as soon as one connect attempt fails,
 * and fails new ones at once until its next attempt. So a restart — connects refused while Postgres
 * is down, then "the database system is starting up" (57P03) for a moment once it listens again —
 * answered every request of those seconds with a 503, and every client retried: 6× the 503s of the
 * previous driver in the convergence suite. Through the driver's `socket` option (the driver still
 * does TLS and the startup exchange on the socket it is given), a refused connect is tried again
 * every ≤ 250 ms for as long as the driver lets the attempt run (its connect_timeout), so queries
 * queue behind one long attempt and go through as soon as Postgres is back.
 *
 * How long each query may wait is bounded only while connects fail: then the pool's
 * `queue_timeout` (read by the driver whenever a query starts waiting) is set to `outageWaitMs`, so
 * a real outage answers 503 within it; once a connection opens again it goes back to none, so a pool
 * that is merely busy under load never fails a request for waiting.
 *
 * Once connects were refused, each new connection first checks with a throwaway session that
 * Postgres takes sessions again: a socket handed over during its start-up fails with 57P03 and
 * takes every waiting query with it. Outside outages none of this costs anything: the first
 * connect succeeds and no check runs.
 */
import net from 'node:net';
import postgres from 'postgres';

/**
 * The longest a client-facing query waits for a connection while Postgres is unreachable. A fast
 * restart takes ~0.3–1 s; 2 s covers it and stays far below the clients' request timeout (30 s),
 * so a real outage answers 503 with Retry-After soon, and the client's backoff paces the retries.
 */
export const REQUEST_WAIT_MS = 2000;
/** Pause between tries: the first soon, then at most every 250 ms (a refused connect is cheap). */
const RETRY_FIRST_MS = 25;
const RETRY_MAX_MS = 250;
/** Postgres is not (yet) taking sessions: nothing listens, or it answers "cannot connect now". */
const NOT_YET = new Set(['ECONNREFUSED', 'ENOENT', 'ECONNRESET', 'CONNECTION_CLOSED', '57P03']);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

export interface WaitOptions {
  /** How long one attempt keeps trying. Default: just under the pool's connect_timeout (the driver abandons it then). */
  waitMs?: number;
  /** While connects fail, the longest a query waits for a connection (then QUEUE_TIMEOUT, a 503). Default: until the attempt ends. */
  outageWaitMs?: number;
}

/** What the driver passes the `socket` option: its parsed options, which its pool reads as it goes. */
interface PoolOptions {
  path?: string | null;
  connect_timeout?: number | null;
  queue_timeout?: number | null;
}

/** The driver's `socket` option for the pool on `url`. */
export function waitingConnect(url: string, wait: WaitOptions = {}) {
  // Set by a refused connect, cleared once a connection opens: later attempts check first too.
  let recovering = false;
  let normalQueueTimeout: number | null | undefined;
  const setRecovering = (options: PoolOptions, on: boolean) => {
    if (recovering === on) return;
    recovering = on;
    if (wait.outageWaitMs === undefined) return;
    if (on) normalQueueTimeout = options.queue_timeout;
    options.queue_timeout = on ? wait.outageWaitMs / 1000 : normalQueueTimeout;
  };
  return async (options: PoolOptions, host: string, port: number): Promise<net.Socket> => {
    const whole = wait.waitMs ?? Math.max(0, (options.connect_timeout ?? 10) * 1000 - 250);
    // The attempt that meets an outage first has queries waiting without a bound (the pool gave
    // them none before it knew): it ends at outageWaitMs, failing them; later attempts run whole,
    // the bound now being each query's own.
    const deadline = Date.now() + (recovering || wait.outageWaitMs === undefined ? whole : Math.min(whole, wait.outageWaitMs));
    for (let pause = RETRY_FIRST_MS; ; pause = Math.min(2 * pause, RETRY_MAX_MS)) {
      try {
        if (recovering) await acceptsSessions(url, deadline);
        const socket = await connect(options.path, host, port);
        setRecovering(options, false);
        return socket;
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        if (typeof code !== 'string' || !NOT_YET.has(code) || Date.now() + pause > deadline) throw err;
        setRecovering(options, true);
      }
      await sleep(pause);
    }
  };
}

/** One TCP (or unix socket) connect, as the driver's own: no Nagle, nothing sent yet. */
function connect(path: string | null | undefined, host: string, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = path ? net.connect({ path }) : net.connect({ host, port });
    const failed = (err: Error) => {
      socket.destroy();
      reject(err);
    };
    socket.once('error', failed);
    socket.once('connect', () => {
      socket.off('error', failed);
      socket.setNoDelay(true);
      resolve(socket);
    });
  });
}

/** A throwaway session (same URL, so the same TLS and credentials) that must get through SELECT 1. */
async function acceptsSessions(url: string, deadline: number): Promise<void> {
  const probe = postgres(url, {
    max: 1,
    connect_timeout: Math.max(1, Math.ceil((deadline - Date.now()) / 1000)),
    fetch_types: false,
    onnotice: () => {},
    connection: { application_name: 'budget-sync-reconnect-check' },
  });
  try {
    await probe`SELECT 1`;
  } finally {
    await probe.end({ timeout: 0 });
  }
}
