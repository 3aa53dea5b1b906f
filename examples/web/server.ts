/**
 * The web app's own small server: it builds the app with esbuild (from the workspace's sources),
 * serves it on an origin of its own — so the browser talks to the sync server across origins, CORS
 * and the socket's Origin check included — and signs visitors in: `POST /token {name}` answers a
 * `dev` token for that name. Minting tokens is this demo's business, never a route of the sync
 * server; a real app gets its tokens from Firebase Auth instead.
 *
 *   const web = await startWebServer({ apiUrl: 'http://127.0.0.1:3000', devAuthSecret });
 *   console.log(web.origin);
 *
 * Used by `npm run demo` (scripts/demo.ts) and by the browser test (test/browser/app.browser.ts).
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import fs from 'node:fs/promises';
import * as esbuild from 'esbuild';
import { mintDevToken } from '../../src/auth/dev-verifier.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const HERE = path.relative(ROOT, import.meta.dirname);

export interface WebServerOptions {
  /** The sync server the app talks to, e.g. `http://127.0.0.1:3000`. */
  apiUrl: string;
  /** The sync server's DEV_AUTH_SECRET (its `dev` auth mode verifies the tokens minted here). */
  devAuthSecret: string;
  /** Default 127.0.0.1: whoever reaches this server signs in as anyone. */
  host?: string;
  /** Default 0 (a free port). */
  port?: number;
  /** Lifetime of a minted token (default one hour; the app asks for a new one before it ends). */
  tokenTtlSeconds?: number;
}

export interface WebServer {
  /** `http://<host>:<port>`. */
  origin: string;
  port: number;
  close(): Promise<void>;
}

interface Asset {
  type: string;
  body: Buffer;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
};

/** The app shell (what the service worker keeps for offline use) and the source maps. */
export async function buildAssets(apiUrl: string): Promise<Map<string, Asset>> {
  const common: esbuild.BuildOptions = {
    absWorkingDir: ROOT,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    // The workspace packages from their sources (no package build needed), through their own condition.
    conditions: ['@budget-sync/source'],
    minify: true,
    sourcemap: 'linked',
    write: false,
    outdir: '/out',
    logLevel: 'silent',
  };
  const app = await esbuild.build({ ...common, entryPoints: { app: `${HERE}/src/main.ts` }, tsconfig: `${HERE}/tsconfig.json` });
  const assets = new Map<string, Asset>();
  for (const out of app.outputFiles ?? []) assets.set(`/${path.basename(out.path)}`, asset(out.path, Buffer.from(out.contents)));
  for (const file of ['index.html', 'style.css', 'icon.svg']) {
    assets.set(`/${file}`, asset(file, await fs.readFile(path.join(ROOT, HERE, file))));
  }
  assets.set('/config.json', asset('.json', Buffer.from(JSON.stringify({ apiUrl }))));
  // The service worker precaches exactly these files under a name that changes with their content,
  // so a new build installs a new cache and an unchanged one is left alone.
  const shell = ['/index.html', '/app.js', '/style.css', '/icon.svg', '/config.json'];
  const hash = createHash('sha256');
  for (const file of shell) hash.update(assets.get(file)?.body ?? '');
  const sw = await esbuild.build({
    ...common,
    entryPoints: { sw: `${HERE}/src/sw.ts` },
    tsconfig: `${HERE}/tsconfig.sw.json`,
    // A classic script: module service workers cannot be registered everywhere yet.
    format: 'iife',
    define: { SHELL_VERSION: JSON.stringify(hash.digest('hex').slice(0, 12)), SHELL_FILES: JSON.stringify(shell) },
  });
  for (const out of sw.outputFiles ?? []) assets.set(`/${path.basename(out.path)}`, asset(out.path, Buffer.from(out.contents)));
  return assets;
}

function asset(name: string, body: Buffer): Asset {
  return { type: TYPES[path.extname(name)] ?? 'application/octet-stream', body };
}

/**
 * The page may talk to its own origin and to the sync server (HTTP and socket), nothing else; no
 * inline script or style.
 */
function contentPolicy(apiUrl: string): string {
  const api = new URL(apiUrl);
  const ws = `${api.protocol === 'https:' ? 'wss:' : 'ws:'}//${api.host}`;
  return `default-src 'self'; connect-src 'self' ${api.origin} ${ws}; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`;
}

/** A user id from a display name: `Ada Lovelace` → `ada-lovelace` (letters of any script kept). */
export function userIdFor(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/[\s/\\#?%]+/g, '-')
    .slice(0, 64);
}

const MAX_NAME = 40;

async function readJson(req: http.IncomingMessage, limit = 4096): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new Error('body too large');
    chunks.push(chunk);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

export async function startWebServer(options: WebServerOptions): Promise<WebServer> {
  const assets = await buildAssets(options.apiUrl);
  const policy = contentPolicy(options.apiUrl);
  const ttlSeconds = options.tokenTtlSeconds ?? 3600;

  const send = (res: http.ServerResponse, status: number, type: string, body: string | Buffer) => {
    res.writeHead(status, {
      'content-type': type,
      // The service worker keeps the offline copy; the HTTP cache always asks again.
      'cache-control': 'no-cache',
      'content-security-policy': policy,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    });
    res.end(body);
  };
  const json = (res: http.ServerResponse, status: number, body: unknown) => send(res, status, TYPES['.json'] ?? '', JSON.stringify(body));

  const mint = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    // A JSON content type makes a cross-site form post impossible and a cross-site fetch need a
    // preflight, which this server never answers: only the app's own pages get tokens.
    if (!req.headers['content-type']?.startsWith('application/json')) {
      return json(res, 415, { error: { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'send application/json' } });
    }
    let name: unknown;
    try {
      name = ((await readJson(req)) as { name?: unknown } | null)?.name;
    } catch {
      return json(res, 400, { error: { code: 'INVALID_JSON', message: 'the body is not a JSON object' } });
    }
    const clean = typeof name === 'string' ? name.trim().replace(/\s+/g, ' ') : '';
    const userId = userIdFor(clean);
    if (clean.length === 0 || clean.length > MAX_NAME || userId.length === 0) {
      return json(res, 400, { error: { code: 'VALIDATION_FAILED', message: `a name of 1–${MAX_NAME} characters` } });
    }
    const token = mintDevToken(options.devAuthSecret, userId, { name: clean, ttlSeconds });
    return json(res, 200, { userId, name: clean, token, expiresAt: Date.now() + ttlSeconds * 1000 });
  };

  const server = http.createServer((req, res) => {
    const { pathname } = new URL(req.url ?? '/', 'http://x');
    if (pathname === '/token') {
      if (req.method !== 'POST') return json(res, 405, { error: { code: 'METHOD_NOT_ALLOWED', message: 'POST /token' } });
      return void mint(req, res).catch(() => json(res, 500, { error: { code: 'INTERNAL', message: 'could not mint a token' } }));
    }
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return json(res, 405, { error: { code: 'METHOD_NOT_ALLOWED', message: 'GET only' } });
    const file = assets.get(pathname === '/' ? '/index.html' : pathname);
    if (!file) return send(res, 404, 'text/plain; charset=utf-8', 'not found');
    return send(res, 200, file.type, req.method === 'HEAD' ? '' : file.body);
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
