import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Request } from './client-worker.js';
import { sleep } from './common.js';

/** The main process's handle on one client process. */
export class Clients {
  private seq = 0;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  readonly child: ChildProcess;
  constructor(profileDir: string | undefined) {
    const prof = profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [];
    // `advanced` serialization: typed arrays cross as such.
    this.child = fork(fileURLToPath(new URL('./client-worker.ts', import.meta.url)), ['--client-worker'], {
      execArgv: [...prof, '--import', 'tsx'],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.on('message', (m: { seq: number; result?: unknown; error?: string }) => {
      const p = this.pending.get(m.seq);
      this.pending.delete(m.seq);
      if (m.error !== undefined) p?.reject(new Error(m.error));
      else p?.resolve(m.result);
    });
    this.child.on('exit', (code) => {
      for (const p of this.pending.values()) p.reject(new Error(`client process exited with ${code}`));
      this.pending.clear();
    });
  }
  call<T>(req: Request): Promise<T> {
    const seq = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      if (this.child.exitCode !== null || !this.child.connected) return reject(new Error('client process is gone'));
      this.pending.set(seq, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ ...req, seq });
    });
  }
  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    await Promise.race([this.call({ op: 'close' }).catch(() => {}), sleep(5000)]);
    await Promise.race([exited, sleep(5000)]);
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}
