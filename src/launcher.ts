/**
 * How this project's long-running commands end on a signal: `npm start` (src/main.ts), the test
 * harness (scripts/test.ts) and any later one. Two halves, both needed:
 *
 * - package.json starts such a command as `exec node …`. npm forwards SIGTERM and SIGINT to its
 *   direct child only, and without `exec` that child is a shell, which dies of the signal and
 *   leaves node (and node's embedded Postgres) running, orphaned.
 * - The command calls `stopOnSignals(stop)` first thing. On SIGTERM, SIGINT or SIGHUP, `stop` runs
 *   once and the process exits with the code it returns; a `stop` that fails exits 1, and one that
 *   takes longer than `deadlineMs` is cut short (exit 1) so an orchestrator's grace period is kept.
 *   A terminal's Ctrl-C reaches node twice (from the terminal and forwarded by npm), so a repeat
 *   within a second is the same request; a later one ends the process at once.
 */
import os from 'node:os';

export const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

const SAME_REQUEST_MS = 1000;

export interface StopOptions {
  /** The longest `stop` may take; then the process exits 1. */
  deadlineMs: number;
  /** Where to say what happens (default: stderr). */
  log?: (message: string) => void;
  /** Default `process.exit`; tests pass their own. */
  exit?: (code: number) => void;
}

/** Installs the handlers; returns a function that removes them. */
export function stopOnSignals(stop: (signal: StopSignal) => Promise<number>, options: StopOptions): () => void {
  const log = options.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let first: number | undefined;
  const onSignal = (signal: StopSignal) => {
    if (first !== undefined) {
      if (Date.now() - first < SAME_REQUEST_MS) return;
      log(`${signal} again: exiting without waiting`);
      return exit(signalExitCode(signal));
    }
    first = Date.now();
    const deadline = setTimeout(() => {
      log(`not stopped within ${options.deadlineMs} ms of ${signal}: exiting`);
      exit(1);
    }, options.deadlineMs);
    stop(signal).then(
      (code) => {
        clearTimeout(deadline);
        exit(code);
      },
      (err: unknown) => {
        clearTimeout(deadline);
        log(`stopping after ${signal} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
        exit(1);
      },
    );
  };
  for (const s of STOP_SIGNALS) process.on(s, onSignal);
  return () => {
    for (const s of STOP_SIGNALS) process.off(s, onSignal);
  };
}

/** The exit code a process killed by `signal` would have (a stop the user asked for is not a success). */
export function signalExitCode(signal: StopSignal): number {
  return 128 + (os.constants.signals[signal] ?? 0);
}
