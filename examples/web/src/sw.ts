/**
 * The service worker: keeps the app shell (HTML, script, style, icon, config) so the app opens with
 * no network at all — the budgets themselves are in IndexedDB, the shell is here. Cache first: the
 * shell answers at once even on a network that hangs; a new build (another SHELL_VERSION, set by
 * examples/web/server.ts from the files' content) installs a fresh cache, takes over, and the page
 * offers a reload. Requests to the sync server and `POST /token` are never touched.
 */
export {}; // a module, so this file's `self` is the worker's scope, not the page's
declare const self: ServiceWorkerGlobalScope;
declare const SHELL_VERSION: string;
declare const SHELL_FILES: string[];

const CACHE = `budget-sync-shell-${SHELL_VERSION}`;

self.addEventListener('install', (event) => {
  // `reload`: straight from the network, not from the HTTP cache of an older build.
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL_FILES.map((f) => new Request(f, { cache: 'reload' }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith('budget-sync-shell-') && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const { request } = event;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin) return;
  // Every page of the app is index.html (routes are in the #fragment).
  const path = request.mode === 'navigate' ? '/index.html' : url.pathname;
  if (!SHELL_FILES.includes(path)) return;
  event.respondWith(caches.open(CACHE).then(async (cache) => (await cache.match(path)) ?? fetch(request)));
});
