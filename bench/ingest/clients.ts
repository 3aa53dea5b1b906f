/**
 * The two ways a device pushes: `POST /events` on a keep-alive HTTP connection, and a `push`
 * message on its /sync socket. Both answer one result per event; every one must be `accepted`.
 */
import { once } from 'node:events';
import WebSocket from 'ws';
import { JsonClient } from '../lib/env.js';

export type Transport = 'http' | 'socket';

export interface Pusher {
  /** Pushes the batch; throws unless every event was accepted. */
  push(events: unknown[]): Promise<void>;
  close(): void;
}

type Results = { events: { status: string }[] };

const check = (results: Results, what: string) => {
  if (results.events.some((e) => e.status !== 'accepted')) throw new Error(`${what}: not every event was accepted`);
};

export function httpPusher(port: number, token: string): Pusher {
  const client = new JsonClient(port, token);
  return {
    async push(events) {
      const res = await client.request<Results>('POST', '/events', { events });
      if (res.status !== 200) throw new Error(`POST /events answered ${res.status}`);
      check(res.json, 'POST /events');
    },
    close: () => client.close(),
  };
}

/** One socket, one push in flight at a time (as a device's outbox sends). */
export async function socketPusher(port: number, token: string): Promise<Pusher> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/sync`, { headers: { authorization: `Bearer ${token}` } });
  let waiting: { id: number; resolve: (r: Results) => void; reject: (e: Error) => void } | undefined;
  let next = 0;
  ws.on('message', (data) => {
    const msg = JSON.parse(String(data)) as { type: string; id?: number } & Results;
    if (msg.type === 'pushResult' && waiting && msg.id === waiting.id) {
      const w = waiting;
      waiting = undefined;
      w.resolve(msg);
    } else if (msg.type === 'error' && waiting) {
      const w = waiting;
      waiting = undefined;
      w.reject(new Error(`socket error message: ${JSON.stringify(msg)}`));
    }
  });
  ws.on('close', () => waiting?.reject(new Error('socket closed')));
  await once(ws, 'open');
  return {
    push(events) {
      const id = ++next;
      return new Promise<Results>((resolve, reject) => {
        waiting = { id, resolve, reject };
        ws.send(JSON.stringify({ type: 'push', id, events }));
      }).then((r) => check(r, 'socket push'));
    },
    close: () => ws.close(),
  };
}
