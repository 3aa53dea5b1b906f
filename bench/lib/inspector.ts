/**
 * A CPU profile of a running Node process over a window of our choosing, through its inspector
 * (`--inspect=127.0.0.1:PORT`, loopback only): `node --cpu-prof` would also hold start-up and the
 * module loader's work, which in a few seconds' window outweighs the requests.
 */
import { once } from 'node:events';
import WebSocket from 'ws';

export class InspectorProfiler {
  private next = 0;
  private readonly pending = new Map<number, (result: unknown) => void>();

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data)) as { id?: number; result?: unknown };
      if (msg.id !== undefined) this.pending.get(msg.id)?.(msg.result);
    });
  }

  static async connect(port: number): Promise<InspectorProfiler> {
    const targets = (await fetch(`http://127.0.0.1:${port}/json/list`).then((r) => r.json())) as { webSocketDebuggerUrl: string }[];
    const url = targets[0]?.webSocketDebuggerUrl;
    if (!url) throw new Error(`no inspector target on port ${port}`);
    const ws = new WebSocket(url);
    await once(ws, 'open');
    const p = new InspectorProfiler(ws);
    await p.call('Profiler.enable');
    // 200 µs: a request costs a few hundred µs, so 1 ms sampling would see each about once.
    await p.call('Profiler.setSamplingInterval', { interval: 200 });
    return p;
  }

  private call(method: string, params: object = {}): Promise<unknown> {
    const id = ++this.next;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  async start(): Promise<void> {
    await this.call('Profiler.start');
  }

  /** The profile since `start`, in the .cpuprofile format. */
  async stop(): Promise<unknown> {
    return ((await this.call('Profiler.stop')) as { profile: unknown }).profile;
  }

  close(): void {
    this.ws.close();
  }
}
