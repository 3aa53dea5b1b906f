/** What the server knows of a caller once its token is verified. */
export interface Principal {
  uid: string;
  /** Epoch ms after which the token is no longer valid (sockets close with 4401 then). */
  expiresAt: number;
  email?: string;
  name?: string;
}

/**
 * One interface for every way a bearer token is checked (Firebase, its emulator, local dev).
 * `verify` resolves a Principal or throws an AppError: UNAUTHENTICATED / TOKEN_EXPIRED for a bad
 * token, AUTH_UNAVAILABLE when the identity provider cannot be reached (a 503, not a 401).
 */
export interface TokenVerifier {
  verify(token: string): Promise<Principal>;
  close?(): Promise<void>;
}
