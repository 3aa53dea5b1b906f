/**
 * Summarises a V8 `.cpuprofile` (node --cpu-prof) by self time: per function and per area of the
 * server (fastify, the driver, pino, prom-client, our own modules …), so a profile reads as "where
 * the CPU of a request goes" without a flame-graph viewer.
 *
 * `node --import tsx bench/lib/cpuprofile.ts FILE.cpuprofile [--top 40] [--per N]` prints both
 * tables; with `--per N` every figure is also given in µs per unit of work (N requests or events).
 */
import fs from 'node:fs/promises';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
export interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** The area a frame's script belongs to, from its URL. */
export function areaOf(url: string, functionName: string): string {
  if (url === '') {
    if (functionName === '(garbage collector)') return 'GC';
    if (functionName === '(idle)' || functionName === '(program)') return functionName;
    return 'V8/native';
  }
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1] as string;
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  const src = /\/src\/([^/]+)\//.exec(url);
  if (src) return `src/${src[1]}`;
  const bench = /\/(bench|scripts)\//.exec(url);
  if (bench) return bench[1] as string;
  return url.split('/').slice(-1)[0] ?? url;
}

/**
 * The concern a frame serves in this server, for "where does a request's CPU go": by package or
 * module, with the native socket writes and JSON split out of V8's own time.
 */
export function concernOf(area: string, functionName: string): string {
  if (functionName === 'writeBuffer' || functionName === 'writev' || functionName === 'writeUtf8String') return 'socket writes to clients';
  if (functionName === 'stringify' && area === 'V8/native') return 'JSON';
  if (functionName === 'parse' && area === 'V8/native') return 'JSON';
  const table: [RegExp, string][] = [
    [/^postgres$/, 'Postgres driver'],
    [/^src\/db$/, 'Postgres driver'],
    [/^(fastify|@fastify\/.*|avvio|light-my-request)$/, 'fastify'],
    [/^find-my-way$/, 'routing'],
    [/^(secure-json-parse|fast-json-stringify)$/, 'JSON'],
    [/^(ajv|@sinclair\/typebox|src\/protocol)$/, 'validation'],
    [/^(pino|@pinojs\/.*|pino-std-serializers|sonic-boom)$/, 'logging'],
    [/^prom-client$/, 'metrics'],
    [/^src\/sync$/, 'processor (src/sync)'],
    [/^src\/realtime$/, 'hub, notifier, socket (src/realtime)'],
    [/^ws$/, 'ws'],
    [/^(src\/auth|src\/http|toad-cache)$/, 'auth, routes, hooks (src/auth, src/http)'],
    [/^node:(_http|net|stream|internal|events|buffer|timers|async_hooks|crypto)/, 'Node core (http, net, streams, timers)'],
    [/^GC$/, 'GC'],
  ];
  for (const [re, name] of table) if (re.test(area)) return name;
  return area === 'V8/native' || area === '(program)' ? 'V8, native, other' : `other (${area})`;
}

export interface Summary {
  /** Sampled wall time of the profile (µs) and the part not idle. */
  totalUs: number;
  busyUs: number;
  byFunction: { name: string; area: string; us: number }[];
  byArea: { area: string; us: number }[];
  byConcern: { concern: string; us: number }[];
}

/** Self time per function and per area. */
export function summarise(p: Profile): Summary {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  /** Whether the driver is on the stack (a socket write below it goes to Postgres). */
  const underDriver = (id: number): boolean => {
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      if (/node_modules\/postgres\//.test(byId.get(at)?.callFrame.url ?? '')) return true;
    }
    return false;
  };
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i] as number;
    // timeDeltas[i] is the time before sample i; the sample's own duration is the next delta.
    const dt = p.timeDeltas[i + 1] ?? 0;
    self.set(id, (self.get(id) ?? 0) + dt);
  }
  const fn = new Map<string, { name: string; area: string; us: number }>();
  const area = new Map<string, number>();
  const concern = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of self) {
    const n = byId.get(id) as ProfileNode;
    const { functionName, url, lineNumber } = n.callFrame;
    const a = areaOf(url, functionName);
    total += us;
    if (a === '(idle)') idle += us;
    const file = url.split('/').slice(-1)[0] ?? '';
    const key = `${functionName || '(anonymous)'} ${file}:${lineNumber + 1}`;
    const e = fn.get(key) ?? { name: key, area: a, us: 0 };
    e.us += us;
    fn.set(key, e);
    area.set(a, (area.get(a) ?? 0) + us);
    if (a !== '(idle)') {
      let c = concernOf(a, functionName);
      if (c === 'socket writes to clients' && underDriver(id)) c = 'socket writes to Postgres';
      concern.set(c, (concern.get(c) ?? 0) + us);
    }
  }
  return {
    totalUs: total,
    busyUs: total - idle,
    byFunction: [...fn.values()].sort((x, y) => y.us - x.us),
    byArea: [...area.entries()].map(([a, us]) => ({ area: a, us })).sort((x, y) => y.us - x.us),
    byConcern: [...concern.entries()].map(([c, us]) => ({ concern: c, us })).sort((x, y) => y.us - x.us),
  };
}

export async function readProfile(file: string): Promise<Profile> {
  return JSON.parse(await fs.readFile(file, 'utf8')) as Profile;
}

/** The two tables as text; `per` divides every figure into µs per unit of work. */
export function report(s: Summary, top = 30, per?: number): string {
  const busy = s.busyUs;
  const line = (label: string, us: number) => {
    const pct = `${((us / busy) * 100).toFixed(1)}%`.padStart(6);
    const unit = per ? `${(us / per).toFixed(1).padStart(8)} µs` : '';
    return `${pct} ${unit}  ${label}`;
  };
  const out = [
    `busy ${(busy / 1e6).toFixed(2)} s of ${(s.totalUs / 1e6).toFixed(2)} s sampled${per ? `; ${(busy / per).toFixed(0)} µs per unit (${per})` : ''}`,
    '',
    'by concern (self time, % of busy):',
    ...s.byConcern.map((c) => line(c.concern, c.us)),
    '',
    'by area (self time, % of busy):',
    ...s.byArea.filter((a) => a.area !== '(idle)').map((a) => line(a.area, a.us)),
    '',
    `top ${top} functions (self time):`,
    ...s.byFunction
      .filter((f) => f.area !== '(idle)')
      .slice(0, top)
      .map((f) => line(`${f.name}  [${f.area}]`, f.us)),
  ];
  return out.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: 'string', default: '30' }, per: { type: 'string' } },
  });
  for (const file of positionals) {
    process.stdout.write(
      `== ${file}\n${report(summarise(await readProfile(file)), Number(values.top), values.per ? Number(values.per) : undefined)}\n`,
    );
  }
}
