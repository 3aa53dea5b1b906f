/**
 * The NOTIFY payload between instances: a wake-up, never data (the log is the truth).
 *
 *   {"i":"<instance id>","h":<heartbeat no.>?,"p":[["<budgetId>",<sequence>,<committedAt ms>?],...],"m":[["<uid>","<budgetId>","a"|"r"],...]}
 *
 * committedAt (the oldest commit the pointer covers) feeds only the commit → send metric; a pointer
 * without it (an older instance during a rolling deploy) is read the same.
 *
 * Postgres refuses payloads of 8000 bytes or more (7999 accepted, 8000 failed; docs/dependencies.md), so a
 * batch is split into payloads of at most MAX_PAYLOAD_BYTES. A pointer costs ~50 bytes, so one
 * payload carries ~150 budgets; heartbeats and the instance id go in every piece.
 */
import type { CommittedPointer, MembershipChange } from '../sync/changes.js';

/** Under 8000 with room for the envelope. */
export const MAX_PAYLOAD_BYTES = 7800;

export interface Notice {
  instanceId: string;
  heartbeat?: number;
  pointers: CommittedPointer[];
  membership: MembershipChange[];
}

type WirePointer = [string, number] | [string, number, number];
type WireMembership = [string, string, 'a' | 'r'];

/** One or more payloads, each < 8000 bytes, that together carry the notice. */
export function encodeNotice(notice: Notice): string[] {
  const head =
    notice.heartbeat === undefined
      ? `{"i":${JSON.stringify(notice.instanceId)}`
      : `{"i":${JSON.stringify(notice.instanceId)},"h":${notice.heartbeat}`;
  const items: { kind: 'p' | 'm'; json: string }[] = [
    ...notice.pointers.map((p) => ({
      kind: 'p' as const,
      json: JSON.stringify(
        (p.committedAt === undefined ? [p.budgetId, p.sequence] : [p.budgetId, p.sequence, p.committedAt]) satisfies WirePointer,
      ),
    })),
    ...notice.membership.map((m) => ({
      kind: 'm' as const,
      json: JSON.stringify([m.userId, m.budgetId, m.change === 'added' ? 'a' : 'r'] satisfies WireMembership),
    })),
  ];
  const payloads: string[] = [];
  let p: string[] = [];
  let m: string[] = [];
  let bytes = Buffer.byteLength(head) + 20;
  const flush = () => {
    payloads.push(`${head}${p.length ? `,"p":[${p.join(',')}]` : ''}${m.length ? `,"m":[${m.join(',')}]` : ''}}`);
    p = [];
    m = [];
    bytes = Buffer.byteLength(head) + 20;
  };
  for (const item of items) {
    const size = Buffer.byteLength(item.json) + 1;
    if (bytes + size > MAX_PAYLOAD_BYTES && p.length + m.length > 0) flush();
    (item.kind === 'p' ? p : m).push(item.json);
    bytes += size;
  }
  if (p.length + m.length > 0 || payloads.length === 0) flush();
  return payloads;
}

/** The notice of a payload, or undefined for anything that is not ours (never throws). */
export function decodeNotice(payload: string): Notice | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null) return undefined;
  const o = raw as { i?: unknown; h?: unknown; p?: unknown; m?: unknown };
  if (typeof o.i !== 'string') return undefined;
  const notice: Notice = { instanceId: o.i, pointers: [], membership: [] };
  if (typeof o.h === 'number') notice.heartbeat = o.h;
  if (Array.isArray(o.p)) {
    for (const x of o.p) {
      if (Array.isArray(x) && typeof x[0] === 'string' && Number.isSafeInteger(x[1])) {
        notice.pointers.push(
          Number.isSafeInteger(x[2])
            ? { budgetId: x[0], sequence: x[1] as number, committedAt: x[2] as number }
            : { budgetId: x[0], sequence: x[1] as number },
        );
      }
    }
  }
  if (Array.isArray(o.m)) {
    for (const x of o.m) {
      if (Array.isArray(x) && typeof x[0] === 'string' && typeof x[1] === 'string' && (x[2] === 'a' || x[2] === 'r')) {
        notice.membership.push({ userId: x[0], budgetId: x[1], change: x[2] === 'a' ? 'added' : 'removed' });
      }
    }
  }
  return notice;
}
