import type { Principal, TokenVerifier } from './verifier.js';

/**
 * Keeps verified tokens until they expire, so a client's requests cost one signature check per
 * token, not per request. Bounded: the oldest entry goes first (a Map keeps insertion order).
 * Failures are not cached: a token refused because the provider was down must be retried.
 */
export class CachingVerifier implements TokenVerifier {
  private readonly cache = new Map<string, Principal>();

  constructor(
    private readonly inner: TokenVerifier,
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  async verify(token: string): Promise<Principal> {
    const hit = this.cache.get(token);
    if (hit) {
      if (hit.expiresAt > this.now()) return hit;
      this.cache.delete(token);
    }
    const principal = await this.inner.verify(token);
    if (this.maxEntries > 0) {
      if (this.cache.size >= this.maxEntries) this.cache.delete(this.cache.keys().next().value as string);
      this.cache.set(token, principal);
    }
    return principal;
  }

  get size(): number {
    return this.cache.size;
  }

  async close(): Promise<void> {
    this.cache.clear();
    await this.inner.close?.();
  }
}
