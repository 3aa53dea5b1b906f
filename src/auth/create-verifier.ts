import { authMode } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { CachingVerifier } from './caching-verifier.js';
import { DevVerifier } from './dev-verifier.js';
import { FirebaseVerifier } from './firebase-verifier.js';
import type { TokenVerifier } from './verifier.js';

/** The verifier the configuration asks for, behind the token cache. */
export function createVerifier(config: Config): TokenVerifier {
  const mode = authMode(config);
  const inner =
    mode === 'dev'
      ? new DevVerifier(config.DEV_AUTH_SECRET)
      : new FirebaseVerifier({
          projectId: config.FIREBASE_PROJECT_ID as string,
          serviceAccountBase64: config.FIREBASE_SERVICE_ACCOUNT_BASE64,
          emulatorHost: mode === 'emulator' ? config.FIREBASE_AUTH_EMULATOR_HOST : undefined,
          checkRevoked: config.FIREBASE_CHECK_REVOKED,
        });
  return new CachingVerifier(inner, config.TOKEN_CACHE_SIZE);
}
