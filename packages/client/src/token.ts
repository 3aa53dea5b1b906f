/**
 * The app's ID token, asked for through its `getToken` callback (for Firebase:
 * `(o) => auth.currentUser!.getIdToken(o.forceRefresh)`), cached until shortly before it expires.
 * The expiry is read from the token's `exp` claim when the token is a JWT; otherwise the token is
 * used until the server refuses it (401 / close 4401), and then refreshed.
 */
import { jwtClaims } from './values.js';

export type GetToken = (options: { forceRefresh: boolean }) => string | Promise<string>;

export class TokenSource {
  private token: string | undefined;
  private pending: Promise<string> | undefined;

  constructor(
    private readonly getToken: GetToken,
    /** Refresh this long before `exp` (ms). */
    readonly marginMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** A token valid for at least `marginMs` when its expiry is known. */
  async get(): Promise<string> {
    if (this.token !== undefined) {
      const exp = expiresAt(this.token);
      if (exp === undefined || exp - this.now() > this.marginMs) return this.token;
    }
    return this.fetch(false);
  }

  /** A new token from the app (after a 401 or a 4401 close). */
  refresh(): Promise<string> {
    return this.fetch(true);
  }

  /** The user id in the token (`sub`, or Firebase's `user_id`), when it is a readable JWT. */
  static userId(token: string): string | undefined {
    const claims = jwtClaims(token);
    return claims?.sub ?? claims?.user_id;
  }

  private fetch(forceRefresh: boolean): Promise<string> {
    // Callers that ask at the same time share one call to the app.
    this.pending ??= (async () => {
      try {
        const token = await this.getToken({ forceRefresh });
        this.token = token;
        return token;
      } finally {
        this.pending = undefined;
      }
    })();
    return this.pending;
  }
}

/** The token's expiry in epoch ms, from its `exp` claim. */
export function expiresAt(token: string): number | undefined {
  const exp = jwtClaims(token)?.exp;
  return typeof exp === 'number' ? exp * 1000 : undefined;
}
