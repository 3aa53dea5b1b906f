/**
 * `npm run bench [-- --markdown] [--full]`: every benchmark of the project on this machine — ingest
 * (POST /events and socket pushes beside the same statements sent by pgbench, with the server's CPU
 * per request and per event, then with a large history) and
 * fan-out (notifier vs in-transaction NOTIFY, commit → delivery latency at 1k and 10k sockets, RSS
 * per idle socket, a reconnect storm) — with defaults that take a few minutes, printed as one table.
 * `--full` uses the longer settings recorded in docs/benchmarks.md.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { SUMMARY_HEADERS, type SummaryRow, machine, summaryCells, table } from './lib/env.js';

const { values } = parseArgs({ options: { markdown: { type: 'boolean', default: false }, full: { type: 'boolean', default: false } } });

const BENCHES: [string, string, string[], string[]][] = [
  [
    'ingest',
    'bench/ingest.ts',
    ['--seconds', '3', '--history', '300000', '--clients', '8'],
    ['--seconds', '5', '--history', '1000000', '--clients', '8,32', '--repeat', '2'],
  ],
  ['fanout', 'bench/fanout.ts', ['--seconds', '6', '--write-seconds', '3'], ['--seconds', '10']],
];

function run(script: string, args: string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('exit', (code) => resolve(code ?? 1));
  });
}

const started = Date.now();
const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-'));
const rows: SummaryRow[] = [];
let failed = 0;
for (const [name, script, quick, full] of BENCHES) {
  const file = path.join(dir, `${name}.json`);
  process.stderr.write(`\n== ${name} ==\n`);
  const code = await run(script, [...(values.full ? full : quick), '--json', file]);
  if (code !== 0) failed++;
  rows.push(...(JSON.parse(await fs.readFile(file, 'utf8').catch(() => '[]')) as SummaryRow[]));
}
await fs.rm(dir, { recursive: true, force: true });
process.stdout.write(
  `\nbudget-sync benchmarks — machine: ${machine()}\ncommand: npm run bench${values.full ? ' -- --full' : ''} (${Math.round((Date.now() - started) / 1000)} s)\n\n`,
);
process.stdout.write(`${table(SUMMARY_HEADERS, rows.map(summaryCells), values.markdown)}\n`);
process.exit(failed === 0 ? 0 : 1);
