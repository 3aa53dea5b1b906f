/**
 * What a browser test needs, in one small module: the system's Chromium (or Google Chrome) driven
 * by playwright-core, a bundle of browser code built from the workspace's sources with esbuild, a
 * static server for the page on its own origin, and a real sync server on another.
 *
 *   const browser = await launchBrowser(t);
 *   const page = await serveStatic(t, { '/': html, '/app.js': await bundle('test/browser/page.ts') });
 *   const api = await startSyncServer(t, { CORS_ORIGINS: page.origin });
 *
 * Nothing is downloaded: playwright-core ships no browser, and `browserPath()` finds an installed
 * one (Debian: `apt-get install -y chromium`; GitHub's runners have Google Chrome).
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import * as esbuild from 'esbuild';
import { type Browser, chromium } from 'playwright-core';
import type { Test } from 'tap';
import { startTestServer } from '../helpers/server.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** Where Chromium or Chrome is installed: CHROMIUM_PATH, else the usual Debian / Ubuntu paths. */
export function browserPath(): string | undefined {
  const candidates = [
    process.env.CHROMIUM_PATH,
    '/usr/bin/chromium',
    '/usr/bin/chromium-browser',
    '/usr/bin/google-chrome',
    '/usr/bin/google-chrome-stable',
    '/opt/google/chrome/chrome',
  ];
  return candidates.find((p): p is string => p !== undefined && p !== '' && fs.existsSync(p));
}

/** Headless Chromium, closed at teardown. */
export async function launchBrowser(t: Test): Promise<Browser> {
  const executablePath = browserPath();
  if (!executablePath) {
    throw new Error('no Chromium or Chrome found: apt-get install -y chromium, or set CHROMIUM_PATH');
  }
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    // As root (CI, containers) Chromium refuses to start with its sandbox; /dev/shm is small there.
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
  t.teardown(() => browser.close());
  return browser;
}

/**
 * Bundles browser code from the workspace's sources (ESM, for the browser): the packages resolve
 * through their `@budget-sync/source` export condition, so no package build is needed.
 */
export async function bundle(entry: string): Promise<string> {
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: [entry],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    conditions: ['@budget-sync/source'],
    // The packages' own tsconfig: the root one maps @budget-sync/client to its Node entry.
    tsconfig: 'packages/client/tsconfig.json',
    sourcemap: 'inline',
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0]?.text ?? '';
}

export interface StaticSite {
  /** `http://127.0.0.1:<port>`. */
  origin: string;
  port: number;
}

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.json': 'application/json' };

/** Serves `files` (path → content) on 127.0.0.1; `/` is `/index.html`. Closed at teardown. */
export async function serveStatic(t: Test, files: Record<string, string>): Promise<StaticSite> {
  const server = http.createServer((req, res) => {
    const p = new URL(req.url ?? '/', 'http://x').pathname;
    const file = p === '/' ? '/index.html' : p;
    const body = files[file];
    if (body === undefined) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  server.unref();
  const { port } = server.address() as AddressInfo;
  return { origin: `http://127.0.0.1:${port}`, port };
}

/** A sync server on its own database and port (dev tokens: `token(uid)` of test/helpers/server.ts). */
export async function startSyncServer(t: Test, env: Record<string, string> = {}): Promise<{ baseUrl: string }> {
  const server = await startTestServer(t, env);
  await server.app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = server.app.server.address() as AddressInfo;
  return { baseUrl: `http://127.0.0.1:${port}` };
}

/** Polls `read` until `ok` holds (every 50 ms); fails with the last value after `ms`. */
export async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
