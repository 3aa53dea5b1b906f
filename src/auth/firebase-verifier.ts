import { randomUUID } from 'node:crypto';
import type { Agent } from 'node:http';
import { cert, deleteApp, initializeApp, type App, type AppOptions, type ServiceAccount } from 'firebase-admin/app';
import { getAuth, type Auth } from 'firebase-admin/auth';
import { AppError } from '../errors/app-error.js';
import { principalFromClaims, unauthenticated } from './claims.js';
import type { Principal, TokenVerifier } from './verifier.js';

export interface FirebaseVerifierOptions {
  /** Firebase project whose ID tokens are accepted (`aud`, and `iss` = securetoken.google.com/<id>). */
  projectId: string;
  /** Service-account JSON, base64 (standard or URL-safe). Only needed for `checkRevoked` outside the emulator. */
  serviceAccountBase64?: string | undefined;
  /** `host:port` of the Auth emulator. Unsigned (`alg: none`) tokens are then accepted: never in production. */
  emulatorHost?: string | undefined;
  /** Ask Identity Toolkit whether the token was revoked or the user disabled (a network call per token). */
  checkRevoked: boolean;
  /**
   * Agent for the SDK's cert fetch and Identity Toolkit calls (tests point it at local servers). The
   * service-account OAuth exchange does not use it (google-auth-library ignores it; observed).
   */
  httpAgent?: Agent;
  /** Give up (AUTH_UNAVAILABLE) when the provider has not answered within this time. Default 10 s. */
  timeoutMs?: number;
}

const ENV = 'FIREBASE_AUTH_EMULATOR_HOST';
const DEFAULT_TIMEOUT_MS = 10_000;
/** Firebase ID tokens are about 1 KB; anything far larger is not one and is refused before decoding. */
const MAX_TOKEN_LENGTH = 16 * 1024;

/*
 * firebase-admin 13.9 has no option for the Auth emulator: it reads `process.env.FIREBASE_AUTH_EMULATOR_HOST`
 * itself, process-wide, at these moments (lib/auth/auth-api-request.js `useEmulator()`, base-auth.js):
 *  1. synchronously at the start of every `verifyIdToken()` call: set ⇒ signature, `kid` and `alg` checks are
 *     SKIPPED (`alg: none` accepted) and the accounts:lookup revocation check is forced on;
 *  2. when an app's Auth sends its first Identity Toolkit request (the URL builder is created lazily then): set ⇒
 *     `http://<host>/identitytoolkit.googleapis.com/...` for the life of that app;
 *  3. before every Identity Toolkit request: set ⇒ bearer token `owner` instead of an OAuth token.
 * So the variable is global state that can turn signature checking off. The rules kept here:
 *  - An emulator-mode verifier sets it when constructed and re-asserts it before each call (2 and 3 happen
 *    asynchronously, so it must stay set while such a verifier lives). Because of (2) there can be only one
 *    emulator host per process at a time; a second, different one is refused at construction.
 *    The last emulator-mode verifier to close restores the value that was there before the first one.
 *  - A production verifier deletes a stale value it finds when no emulator verifier of ours is alive (e.g.
 *    AUTH_MODE=firebase with the variable left in the environment), and in any case hides the variable
 *    synchronously around its own `verifyIdToken()` call, so (1) always sees "not emulator" and real RS256
 *    signatures are checked even when an emulator verifier coexists in the same process (tests).
 *    Known limit of that mixed case only (config never builds both kinds in one server): a production
 *    verifier with `checkRevoked` reads (2) and (3) while the emulator's value is set, so its revocation
 *    lookup goes to the emulator. Its signature check is unaffected.
 */
let emulatorUsers = 0;
let emulatorHostInUse: string | undefined;
let envBeforeEmulator: string | undefined;

let appCounter = 0;

/** Verifies Firebase ID tokens with firebase-admin, one named App per instance (several may coexist). */
export class FirebaseVerifier implements TokenVerifier {
  private readonly app: App;
  private readonly auth: Auth;
  private readonly emulatorHost: string | undefined;
  private readonly checkRevoked: boolean;
  private readonly timeoutMs: number;
  private closed = false;

  constructor(opts: FirebaseVerifierOptions) {
    if (typeof opts.projectId !== 'string' || opts.projectId.trim() === '') {
      throw new Error('FIREBASE_PROJECT_ID: required to verify Firebase ID tokens');
    }
    const emulatorHost = opts.emulatorHost === '' ? undefined : opts.emulatorHost;
    if (emulatorHost !== undefined) checkEmulatorHost(emulatorHost);
    const appOptions: AppOptions = { projectId: opts.projectId };
    if (opts.serviceAccountBase64 !== undefined && opts.serviceAccountBase64 !== '') {
      appOptions.credential = credentialFromBase64(opts.serviceAccountBase64, opts.projectId, opts.httpAgent);
    }
    if (opts.httpAgent) appOptions.httpAgent = opts.httpAgent;

    this.emulatorHost = emulatorHost;
    this.checkRevoked = opts.checkRevoked;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    // Neither call reads the emulator variable in a way that matters here (the Identity Toolkit URL is
    // chosen lazily, at the first request), so the variable is settled after them.
    this.app = initializeApp(appOptions, `token-verifier-${++appCounter}-${randomUUID()}`);
    this.auth = getAuth(this.app);

    if (emulatorHost !== undefined) {
      if (emulatorUsers === 0) envBeforeEmulator = process.env[ENV];
      emulatorUsers += 1;
      emulatorHostInUse = emulatorHost;
      // The SDK has no emulator option; this variable is how it is told (see the note above).
      process.env[ENV] = emulatorHost;
    } else if (emulatorUsers === 0 && process.env[ENV] !== undefined) {
      // Not ours: a stale value would silently switch signature checks off (see the note above).
      delete process.env[ENV];
    }
  }

  async verify(token: string): Promise<Principal> {
    if (this.closed) throw new AppError('AUTH_UNAVAILABLE', 'token verifier is closed');
    if (typeof token !== 'string' || token.length === 0) throw unauthenticated('missing token');
    if (token.length > MAX_TOKEN_LENGTH) throw unauthenticated('malformed token');

    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new AppError('AUTH_UNAVAILABLE', 'identity provider did not answer in time')), this.timeoutMs);
    });
    let decoded: Record<string, unknown>;
    try {
      // The call must start inside withEmulatorEnv: the SDK decides "emulator or not" synchronously here.
      const call = this.withEmulatorEnv(() => this.auth.verifyIdToken(token, this.checkRevoked));
      decoded = (await Promise.race([call, timeout])) as Record<string, unknown>;
    } catch (e) {
      throw mapFirebaseError(e);
    } finally {
      clearTimeout(timer);
    }
    return principalFromClaims(decoded);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await deleteApp(this.app);
    } finally {
      this.releaseEmulator();
    }
  }

  /** Runs `fn` with the emulator variable as this instance needs it, restoring the previous value after. */
  private withEmulatorEnv<T>(fn: () => T): T {
    if (this.emulatorHost !== undefined) {
      process.env[ENV] = this.emulatorHost;
      return fn();
    }
    const saved = process.env[ENV];
    if (saved === undefined) return fn();
    delete process.env[ENV];
    try {
      return fn();
    } finally {
      process.env[ENV] = saved;
    }
  }

  private releaseEmulator(): void {
    if (this.emulatorHost === undefined) return;
    emulatorUsers -= 1;
    if (emulatorUsers > 0) return;
    emulatorHostInUse = undefined;
    if (envBeforeEmulator === undefined) delete process.env[ENV];
    else process.env[ENV] = envBeforeEmulator;
    envBeforeEmulator = undefined;
  }
}

function checkEmulatorHost(host: string): void {
  if (host.includes('://') || host.includes('/')) {
    throw new Error(`FIREBASE_AUTH_EMULATOR_HOST: expected host:port without a scheme or path, got "${host}"`);
  }
  if (emulatorUsers > 0 && emulatorHostInUse !== host) {
    throw new Error(
      `FIREBASE_AUTH_EMULATOR_HOST: "${host}" conflicts with "${emulatorHostInUse}" used by another live verifier; ` +
        'firebase-admin reads this setting process-wide, so only one emulator host can be in use at a time',
    );
  }
}

/** Decodes the base64 (standard or URL-safe) service-account JSON into a credential, with errors naming the setting. */
function credentialFromBase64(value: string, projectId: string, httpAgent: Agent | undefined): NonNullable<AppOptions['credential']> {
  const setting = 'FIREBASE_SERVICE_ACCOUNT_BASE64';
  const compact = value.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(compact)) throw new Error(`${setting}: not valid base64`);
  const normalized = compact.replace(/-/g, '+').replace(/_/g, '/');
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(normalized, 'base64').toString('utf8'));
  } catch {
    // No cause: JSON.parse messages quote part of the input, which is a secret.
    throw new Error(`${setting}: does not decode to JSON (expected the service-account key file, base64-encoded)`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new Error(`${setting}: does not decode to a JSON object (expected the service-account key file)`);
  }
  const account = json as Record<string, unknown>;
  if (account.type !== undefined && account.type !== 'service_account') {
    throw new Error(`${setting}: "type" is "${String(account.type)}", expected "service_account"`);
  }
  try {
    return cert(account as ServiceAccount, httpAgent);
  } catch (e) {
    // cert() throws FirebaseAppError with fixed texts (which field is missing, or forge's PEM parse error).
    throw new Error(`${setting}: invalid service account for project ${projectId}: ${(e as Error).message}`, { cause: e });
  }
}

/** Codes meaning "could not check", never produced by the content of a token: 503, not 401. */
const UNAVAILABLE_CODES = new Set([
  'app/app-deleted', // verify() raced close()
  'app/network-error',
  'app/network-timeout',
  'app/invalid-credential', // the OAuth token for Identity Toolkit could not be fetched
  'auth/internal-error', // Identity Toolkit answered 5xx or garbage
  'auth/insufficient-permission', // our service account may not call Identity Toolkit
  'auth/invalid-credential',
]);
/*
 * A failed cert fetch reaches us as `auth/argument-error` (docs/dependencies.md, "firebase-admin"): jsonwebtoken wraps the key-callback
 * error and the SDK maps it to INVALID_ARGUMENT with the inner message. Those messages start with the HTTP
 * client's prefixes below; claim errors start with "Firebase ID token …" (and may quote claim values, so a
 * token cannot smuggle one of these prefixes to the start of the message).
 */
const KEY_FETCH_PREFIXES = ['Error while making request', 'Error fetching public keys'];

const FIREBASE_MESSAGES: Record<string, string> = {
  'auth/id-token-revoked': 'token has been revoked',
  'auth/user-disabled': 'user account is disabled',
  'auth/user-not-found': 'user does not exist',
};

/** Maps whatever firebase-admin threw to an AppError with a short message; the original stays as `cause`. */
export function mapFirebaseError(e: unknown): AppError {
  if (e instanceof AppError) return e;
  const { code, message } = (typeof e === 'object' && e !== null ? e : {}) as { code?: unknown; message?: unknown };
  if (typeof code !== 'string' || typeof message !== 'string') return unauthenticated('invalid token', e);
  if (code === 'auth/id-token-expired') return new AppError('TOKEN_EXPIRED', 'token has expired', undefined, { cause: e });
  if (UNAVAILABLE_CODES.has(code) || KEY_FETCH_PREFIXES.some((p) => message.startsWith(p))) {
    return new AppError('AUTH_UNAVAILABLE', 'identity provider unreachable', undefined, { cause: e });
  }
  const known = FIREBASE_MESSAGES[code];
  if (known) return unauthenticated(known, e);
  if (code === 'auth/argument-error') {
    if (message.includes('"aud"')) return unauthenticated('token is for another project', e);
    if (message.includes('"iss"')) return unauthenticated('token has the wrong issuer', e);
    if (message.includes('"sub"')) return unauthenticated('token has no valid subject', e);
    if (message.includes('signature') || message.includes('"kid"') || message.includes('algorithm')) {
      return unauthenticated('bad token signature', e);
    }
    if (message.startsWith('Decoding')) return unauthenticated('malformed token', e);
  }
  return unauthenticated('invalid token', e);
}
