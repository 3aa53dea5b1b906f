/**
 * Convergence: many devices (SyncClients, each with its own store) of several users edit five
 * shared budgets through two server instances on one database, going offline and online, joining
 * and leaving, colliding on purpose — while a server is SIGKILLed and restarted, the LISTEN
 * backends are terminated and Postgres is stopped for seconds. At the end, with every device online
 * and flushed, every copy equals the server's snapshot and nothing was lost or applied twice
 * (fixtures/verify.ts lists what is checked).
 *
 * Seeded: CONVERGENCE_SEED (default below) drives every decision; it is printed, and every
 * failure message names it. Short mode (default, inside `npm test`): 30 devices, ~20 s of
 * activity, one of each fault. CONVERGENCE_LONG=1: a soak of CONVERGENCE_MINUTES (default 10)
 * with a fault cycle every two minutes, reporting the RSS of each server process.
 *
 *   CONVERGENCE_SEED=42 npm run test:convergence
 *   CONVERGENCE_LONG=1 CONVERGENCE_MINUTES=10 npm run test:convergence
 */
import t from 'tap';
import { Device, SLOW_REQUEST_MS } from './fixtures/device.js';
import { Rng, sleep, within } from './fixtures/rng.js';
import { INSTANCES, type InstanceName, Servers } from './fixtures/servers.js';
import { diagnose, passiveConvergence, snapshots, verifyDevices, verifyLog } from './fixtures/verify.js';
import {
  type BudgetInfo,
  type Fault,
  type Pace,
  type World,
  deviceActor,
  faultActor,
  membershipActor,
  newStats,
  scenarioActor,
} from './fixtures/workload.js';

const SEED = process.env.CONVERGENCE_SEED || '20250506';
const LONG = process.env.CONVERGENCE_LONG === '1';
const MINUTES = Number(process.env.CONVERGENCE_MINUTES || 10);
/** CONVERGENCE_PG_DOWN_MS: how long Postgres stays stopped (default 5–8 s, seeded); ~300 is a restart. */
const PG_DOWN_MS = process.env.CONVERGENCE_PG_DOWN_MS ? Number(process.env.CONVERGENCE_PG_DOWN_MS) : undefined;
const ACTIVITY_MS = LONG ? Math.round(MINUTES * 60_000) : 20_000;
const USERS = 10;
const BUDGETS = 5;
/** Devices per user (30 in all): some users on many devices, one on a single one. */
const DEVICES_PER_USER = [6, 5, 4, 3, 3, 2, 2, 2, 2, 1];
const FLUSH_TIMEOUT_MS = 60_000;
const PASSIVE_TIMEOUT_MS = 20_000;
const PACE: Pace = { minMs: 300, maxMs: 1200, offlineChance: 0.06, offlineMinMs: 300, offlineMaxMs: 2500 };

const tag = (s: string) => `${s} [CONVERGENCE_SEED=${SEED}]`;
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;

if (LONG) t.setTimeout(ACTIVITY_MS + 6 * 60_000);
t.comment(`convergence seed ${SEED} (CONVERGENCE_SEED=${SEED} reproduces the decisions), ${LONG ? `LONG ${MINUTES} min` : 'short'} mode`);

const cluster = await Servers.cluster(t);

/** The seeded outage length, unless CONVERGENCE_PG_DOWN_MS says otherwise (drawn anyway: the seed's other decisions stay the same). */
const pgDown = (seeded: number) => PG_DOWN_MS ?? seeded;

/** Short: one of each fault. Long: a cycle of all three every two minutes (only B crashes, so A's RSS spans the whole soak). */
function faultSchedule(rng: Rng): Fault[] {
  if (!LONG) {
    return [
      { what: 'crash', instance: rng.pick(INSTANCES), atMs: rng.int(3000, 5000), downMs: rng.int(500, 1500) },
      { what: 'listeners', atMs: rng.int(8000, 9500) },
      { what: 'postgres', atMs: rng.int(10_500, 12_000), downMs: pgDown(rng.int(5000, 8000)) },
    ];
  }
  const out: Fault[] = [];
  const cycles = Math.max(1, Math.floor(ACTIVITY_MS / 120_000));
  for (let k = 0; k < cycles; k++) {
    const base = k * 120_000 + 15_000;
    out.push({ what: 'crash', instance: 'B', atMs: base + rng.int(0, 5000), downMs: rng.int(500, 2000) });
    out.push({ what: 'listeners', atMs: base + 30_000 + rng.int(0, 5000) });
    out.push({ what: 'postgres', atMs: base + 60_000 + rng.int(0, 5000), downMs: pgDown(rng.int(5000, 8000)) });
  }
  return out;
}

t.test('devices converge on the server state through crashes, LISTEN kills and a Postgres outage', async (t) => {
  const started = Date.now();
  const rng = new Rng(SEED);
  const servers = await Servers.start(t, cluster);

  // ---- devices: users on 1..6 devices, spread over both instances and both transports ----
  const users = Array.from({ length: USERS }, (_, i) => `user${i}`);
  const counts = rng.fork('devices').shuffle(DEVICES_PER_USER);
  const combos = rng.fork('placement').shuffle(Array.from({ length: counts.reduce((a, b) => a + b, 0) }, (_, i) => i));
  const devices: Device[] = [];
  users.forEach((user, u) => {
    for (let k = 0; k < (counts[u] ?? 1); k++) {
      const slot = combos[devices.length] ?? 0;
      const instance: InstanceName = slot % 2 === 0 ? 'A' : 'B';
      devices.push(
        new Device(`d${String(devices.length).padStart(2, '0')}`, user, instance, slot % 4 < 2 ? 'socket' : 'longpoll', servers),
      );
    }
  });
  // Registered after the instances: runs before they are stopped.
  t.teardown(() => Promise.all(devices.map((d) => within(d.client.stop(), 15_000, 'stop').catch(() => {}))));
  t.comment(`${devices.length} devices: ${users.map((u) => `${u}×${devices.filter((d) => d.user === u).length}`).join(' ')}`);
  for (const i of INSTANCES) {
    const on = devices.filter((d) => d.instance === i);
    t.comment(
      `instance ${i}: ${on.filter((d) => d.transport === 'socket').length} socket, ${on.filter((d) => d.transport === 'longpoll').length} long-poll devices`,
    );
  }

  // ---- five budgets (the last one created offline), each with a few members to start with ----
  await Promise.all(devices.map((d) => d.goOnline()));
  const setup = rng.fork('setup');
  const budgets: BudgetInfo[] = [];
  for (let i = 0; i < BUDGETS; i++) {
    const owner = users[i] as string;
    const d = devices.find((x) => x.user === owner) as Device;
    const offline = i === BUDGETS - 1;
    if (offline) await d.goOffline();
    const created = d.track(await d.client.createBudget({ title: `budget ${i}`, details: `of ${owner}` }));
    if (offline) await d.goOnline();
    await within(d.client.flush({ timeoutMs: 30_000 }), 35_000, tag(`${d.label} flush after creating a budget`));
    budgets.push({ id: created.budgetId, owner });
    const { token } = await d.client.createInvite(created.budgetId);
    for (const member of setup.shuffle(users.filter((u) => u !== owner)).slice(0, 3)) {
      const joiner = setup.pick(devices.filter((x) => x.user === member));
      await within(joiner.client.join(token), 15_000, tag(`${joiner.label} join`));
    }
  }
  const rssBefore = new Map<InstanceName, { pid: number | undefined; kib: number }>();
  for (const i of INSTANCES) rssBefore.set(i, { pid: servers.pid(i), kib: await servers.rssKiB(i) });
  t.comment(
    `setup done in ${secs(Date.now() - started)}; ${budgets.length} budgets: ${budgets.map((b) => `${b.id.slice(0, 8)} (owner ${b.owner})`).join(', ')}`,
  );

  // ---- activity, with faults ----
  const w: World = { servers, devices, users, budgets, stats: newStats(), stopped: false };
  const t0 = Date.now();
  const schedule = faultSchedule(rng.fork('faults'));
  const faults = faultActor(servers, schedule, t0);
  const actors = [
    ...devices.map((d) => deviceActor(w, d, rng.fork(d.id), PACE)),
    // Three membership actors, so joins and leaves go on while one waits on a slow call.
    ...[0, 1, 2].map((k) => membershipActor(w, rng.fork(`membership/${k}`), [400, 1200])),
    scenarioActor(w, rng.fork('scenarios'), [1000, 2500]),
  ];
  const rssSamples: string[] = [];
  const sampler = LONG
    ? setInterval(() => {
        void Promise.all(
          INSTANCES.map((i) =>
            servers.rssKiB(i).then(
              (k) => `${i} ${mib(k)}`,
              () => `${i} ?`,
            ),
          ),
        ).then((s) => rssSamples.push(`${secs(Date.now() - t0)}: ${s.join(', ')}`));
      }, 60_000)
    : undefined;
  let faultsDone: string[] = [];
  let faultError: unknown;
  const faultsEnded = faults.then(
    (done) => {
      faultsDone = done;
      return Date.now();
    },
    (err: unknown) => {
      faultError = err;
      return Date.now();
    },
  );
  await sleep(ACTIVITY_MS);
  // Keep editing a little after the last fault recovered, so the run ends on a working system.
  const lastFault = await within(faultsEnded, 120_000, tag('the fault schedule'));
  await sleep(Math.max(0, lastFault + 2000 - Date.now()));
  w.stopped = true;
  clearInterval(sampler);
  await within(Promise.all(actors), 60_000, tag('actors to finish their last step'));
  const activityMs = Date.now() - t0;
  t.notOk(faultError, tag(`every fault was injected and recovered from: ${String(faultError)}`));
  t.comment(`activity ${secs(activityMs)}; faults: ${faultsDone.join('; ')}`);
  t.comment(`fault log: ${servers.faults.map((f) => `${secs(f.at)} ${f.what}`).join('; ')}`);

  // A server process that dies by itself is a bug; it is reported, then started again so that
  // convergence is still checked.
  t.same(servers.crashes, [], tag('no server process crashed by itself'));
  await servers.reviveCrashed();

  // ---- everyone online and flushed ----
  await servers.ready(60_000);
  await Promise.all(devices.map((d) => d.lock.run(() => d.goOnline())));
  const settleStart = Date.now();
  const passive = await passiveConvergence(servers, devices, PASSIVE_TIMEOUT_MS);
  t.same(
    passive,
    [],
    tag(`every device caught up by itself (stream, membership notices, polls; no flush) within ${secs(PASSIVE_TIMEOUT_MS)}`),
  );
  if (passive.length) {
    for (const line of await diagnose(servers, devices, passive)) t.comment(line);
    for (const line of passive.slice(0, 6)) {
      const d = devices.find((x) => line.startsWith(x.label));
      if (d) t.comment(`trace of ${d.label}:\n${d.trace()}`);
    }
    for (const i of INSTANCES) t.comment(`instance ${i} output ends with:\n${servers.tail(i, 3000)}`);
  }
  t.comment(`caught up without flush in ${secs(Date.now() - settleStart)}`);
  const total = async () => Number((await servers.sql`SELECT coalesce(sum(last_sequence), 0)::int AS n FROM budgets`)[0]?.n);
  const flushFailures: string[] = [];
  for (let round = 1; ; round++) {
    const before = await total();
    const failed: string[] = [];
    await Promise.all(
      devices.map(async (d) => {
        try {
          await within(d.client.flush({ timeoutMs: FLUSH_TIMEOUT_MS }), FLUSH_TIMEOUT_MS + 5000, `${d.label} flush`);
        } catch (err) {
          const pending = await d.client.pending();
          failed.push(
            `round ${round}: ${d.label}: ${(err as Error).message}; connected=${d.client.connected}; ${pending.length} in the outbox`,
          );
        }
      }),
    );
    flushFailures.push(...failed);
    if (failed.length === 0 && before === (await total()) && round >= 2) break;
    if (round >= 4) break;
  }
  t.same(flushFailures, [], tag('every device flushed within the timeout'));
  t.comment(`settled in ${secs(Date.now() - settleStart)}`);

  // ---- the checks ----
  const snaps = await snapshots(servers, budgets);
  await verifyDevices(t, devices, snaps, tag);
  const log = await verifyLog(t, servers, devices, tag);
  t.same(
    devices.flatMap((d) => d.ledger.unexpected.map((u) => `${d.label}: ${u}`)),
    [],
    tag("no unexpected failure in the devices' own calls"),
  );
  t.same(w.stats.scenarioFailures, [], tag('the collision scenarios ran without failing'));
  t.same(
    devices.flatMap((d) => d.ledger.slow.map((x) => `${d.label}: ${x}`)),
    [],
    tag(`the servers answered every request within ${SLOW_REQUEST_MS / 1000} s (beyond a long-poll's wait), faults or not`),
  );

  // ---- what happened ----
  const sum = (f: (d: Device) => number) => devices.reduce((s, d) => s + f(d), 0);
  const codes = (pick: (d: Device) => Map<string, string>) => {
    const out: Record<string, number> = {};
    for (const d of devices) for (const c of pick(d).values()) out[c] = (out[c] ?? 0) + 1;
    return JSON.stringify(out);
  };
  const errors: Record<string, number> = {};
  for (const d of devices) for (const [k, n] of d.ledger.errors) errors[k] = (errors[k] ?? 0) + n;
  t.comment(`events in the log: ${log.events} ${JSON.stringify(log.byType)}`);
  t.comment(
    `device events queued ${sum((d) => d.ledger.queued.size)}, confirmed by push ${sum((d) => d.ledger.confirmed.size)}; accounted ${JSON.stringify(log.accounted)}`,
  );
  t.comment(`edits ${JSON.stringify(w.stats.edits)}; refused locally (record gone meanwhile) ${sum((d) => d.ledger.refusedLocally)}`);
  t.comment(
    `conflicts ${codes((d) => d.ledger.conflicts)}; rejected ${codes((d) => d.ledger.rejected)}; discarded on revocation ${sum((d) => d.ledger.discarded.size)}; revocations ${sum((d) => d.ledger.revoked.length)}`,
  );
  t.comment(
    `collisions ${JSON.stringify(w.stats.scenarios)}; joins ${w.stats.joins} (${w.stats.rejoins} straight after leaving), leaves ${w.stats.leaves}, membership calls failed ${w.stats.membershipFailures.length} ${JSON.stringify([...new Set(w.stats.membershipFailures)].slice(0, 5))}, skipped ${JSON.stringify(w.stats.membershipSkipped)}; online/offline toggles ${sum((d) => d.toggles)}`,
  );
  t.comment(`client errors reported (retried) by context: ${JSON.stringify(errors)}`);
  const byCode: Record<string, number> = {};
  for (const d of devices) for (const [k, n] of d.ledger.codes) byCode[k] = (byCode[k] ?? 0) + n;
  t.comment(
    `client errors by server code: ${JSON.stringify(byCode)}; HTTP 503 answers ${sum((d) => d.ledger.http503)}; slowest answer to a request that is not a long-poll ${Math.max(...devices.map((d) => d.ledger.slowestMs))} ms`,
  );
  for (const i of INSTANCES) {
    const before = rssBefore.get(i);
    const pid = servers.pid(i);
    const after = await servers.rssKiB(i);
    const restarted = before?.pid !== pid ? ` (restarted: before = pid ${before?.pid}, after = pid ${pid})` : ` (pid ${pid})`;
    t.comment(`RSS instance ${i}: before ${mib(before?.kib ?? 0)}, after ${mib(after)}${restarted}`);
  }
  for (const s of rssSamples) t.comment(`RSS ${s}`);
  t.ok(log.events > 0 && (w.stats.edits['expense.add'] ?? 0) > 0, tag('the run did something'));
  t.comment(`total ${secs(Date.now() - started)}`);

  await Promise.all(devices.map((d) => within(d.client.stop(), 15_000, 'stop').catch(() => {})));
  await servers.stopAll();
});
