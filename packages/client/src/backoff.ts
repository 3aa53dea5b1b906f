/**
 * Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff and Jitter"):
 * the n-th retry waits a random time in [0, min(cap, base · 2^n)). Spreading retries over the whole
 * window keeps a fleet of devices that lost the server at the same moment from coming back at the
 * same moment. `reset()` after a success starts again from `base`.
 */
export interface BackoffOptions {
  /** First window, ms (default 500). */
  baseMs?: number;
  /** Largest window, ms (default 30 s). */
  capMs?: number;
  /** Random source in [0, 1) (tests pass their own). */
  random?: () => number;
}

export class Backoff {
  private attempt = 0;
  private readonly baseMs: number;
  private readonly capMs: number;
  private readonly random: () => number;

  constructor(options: BackoffOptions = {}) {
    this.baseMs = options.baseMs ?? 500;
    this.capMs = options.capMs ?? 30_000;
    this.random = options.random ?? Math.random;
  }

  /** The delay before the next retry; each call widens the window until it reaches the cap. */
  next(): number {
    const window = Math.min(this.capMs, this.baseMs * 2 ** Math.min(this.attempt, 30));
    this.attempt += 1;
    return Math.floor(this.random() * window);
  }

  /** How many retries since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  reset(): void {
    this.attempt = 0;
  }
}

/** Resolves after `ms`, or at once (without throwing) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
