/**
 * Which browser origins may call the API and open sockets (`CORS_ORIGINS`). An entry is an exact
 * origin (`https://app.example.com`), or one with `*` standing for a port or a first host label
 * (`http://localhost:*`, `https://*.example.com`); `*` alone allows any origin. Bearer tokens, not
 * cookies, carry auth, so an allowed origin gains nothing a page could not do with its own token;
 * the list keeps other sites' pages from using a signed-in user's browser as a client.
 */

/** Outside production, with CORS_ORIGINS unset: any local dev server (Vite, webpack, a static one). */
export const DEV_ORIGINS = ['http://localhost:*', 'http://127.0.0.1:*'];

const ENTRY = /^https?:\/\/(\*\.)?[a-z0-9.-]+(:(\d{1,5}|\*))?$/i;

/** The problems of a CORS_ORIGINS value (empty when it is fine). */
export function originProblems(value: string): string[] {
  return splitOrigins(value)
    .filter((o) => o !== '*' && !ENTRY.test(o))
    .map((o) => `${JSON.stringify(o)} is not an origin (scheme://host[:port], no path; * for a port or a first label)`);
}

export function splitOrigins(value: string): string[] {
  return value
    .split(',')
    .map((o) => o.trim())
    .filter((o) => o !== '');
}

/** A matcher for a list of entries; `Origin: null` (sandboxed frames, files) matches only `*`. */
export function originMatcher(entries: readonly string[]): (origin: string) => boolean {
  if (entries.includes('*')) return () => true;
  const exact = new Set(entries.filter((e) => !e.includes('*')).map((e) => e.toLowerCase()));
  const patterns = entries
    .filter((e) => e.includes('*'))
    .map(
      (e) =>
        new RegExp(
          `^${e
            .toLowerCase()
            .replace(/[.+?^${}()|[\]\\]/g, '\\$&')
            .replace(/\*/g, '[a-z0-9-]+')}$`,
        ),
    );
  return (origin) => {
    const o = origin.toLowerCase();
    return exact.has(o) || patterns.some((p) => p.test(o));
  };
}
