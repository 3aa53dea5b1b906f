/**
 * The production path of FirebaseVerifier: real RS256 tokens checked by firebase-admin against an x509
 * cert map fetched from "www.googleapis.com", which an `httpAgent` routes to a local HTTPS server
 * (docs/dependencies.md, "firebase-admin"). No emulator variable is involved.
 */
import t from 'tap';
import { FirebaseVerifier } from '../../src/auth/firebase-verifier.js';
import { AppError } from '../../src/errors/app-error.js';
import {
  CERT_PATH,
  closedPort,
  idClaims,
  LocalAgent,
  makeKeyAndCert,
  PROJECT_ID,
  signRs256,
  startFakeGoogleApis,
  unsignedToken,
} from './fixtures/fake-identity.js';

delete process.env.FIREBASE_AUTH_EMULATOR_HOST;

async function appError(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof AppError) return e;
    throw e;
  }
  throw new Error('expected the promise to reject');
}

const now = (): number => Math.floor(Date.now() / 1000);
const KID = 'test-kid-1';

const keys = makeKeyAndCert();
const otherKeys = makeKeyAndCert(); // published under 'other-kid'; also "the wrong key" for KID
const google = await startFakeGoogleApis(keys);
google.certs = { [KID]: keys.certPem, 'other-kid': otherKeys.certPem };
t.teardown(() => google.close());

const sign = (claims: Record<string, unknown>, kid = KID): string => signRs256(claims, keys.keyPem, kid);

t.test('valid tokens, checked against the fetched x509 certs', async (t) => {
  const verifier = new FirebaseVerifier({ projectId: PROJECT_ID, checkRevoked: false, httpAgent: google.agent() });
  t.teardown(() => verifier.close());
  const claims = idClaims('alice', { email: 'alice@example.com', name: 'Alice' });
  t.same(await verifier.verify(sign(claims)), {
    uid: 'alice',
    expiresAt: (claims.exp as number) * 1000,
    email: 'alice@example.com',
    name: 'Alice',
  });
  t.same(
    google.requests,
    [{ host: 'www.googleapis.com', method: 'GET', path: CERT_PATH, authorization: undefined }],
    "one unauthenticated GET of Google's securetoken cert URL, and no Identity Toolkit call without checkRevoked",
  );
  t.equal((await verifier.verify(sign(idClaims('bob')))).uid, 'bob');
  t.equal(google.requests.length, 1, 'certs are cached per cache-control max-age, not fetched per token');
});

t.test('bad tokens are 401s', async (t) => {
  const verifier = new FirebaseVerifier({ projectId: PROJECT_ID, checkRevoked: false, httpAgent: google.agent() });
  t.teardown(() => verifier.close());
  const cases: Array<[string, string, string, string]> = [
    ['signed with another key', signRs256(idClaims('mallory'), otherKeys.keyPem, KID), 'UNAUTHENTICATED', 'bad token signature'],
    ['kid of another published key', sign(idClaims('mallory'), 'other-kid'), 'UNAUTHENTICATED', 'bad token signature'],
    ['unknown kid', sign(idClaims('mallory'), 'no-such-kid'), 'UNAUTHENTICATED', 'bad token signature'],
    ['right key but no kid', signRs256(idClaims('mallory'), keys.keyPem, undefined), 'UNAUTHENTICATED', 'bad token signature'],
    ['unsigned emulator token', unsignedToken(idClaims('mallory')), 'UNAUTHENTICATED', 'bad token signature'],
    [
      'expired',
      sign(idClaims('alice', { iat: now() - 7200, auth_time: now() - 7200, exp: now() - 5 })),
      'TOKEN_EXPIRED',
      'token has expired',
    ],
    ['other project', sign(idClaims('alice', { aud: 'someone-else' })), 'UNAUTHENTICATED', 'token is for another project'],
    ['future iat (the SDK accepts it)', sign(idClaims('alice', { iat: now() + 3600 })), 'UNAUTHENTICATED', 'token issued in the future'],
    ['no exp (the SDK accepts it)', sign(idClaims('alice', { exp: undefined })), 'UNAUTHENTICATED', 'token has no expiry'],
  ];
  for (const [name, token, code, message] of cases) {
    const err = await appError(verifier.verify(token));
    t.match(err, { code, statusCode: 401, message }, name);
    t.notOk(err.message.includes(token), `${name}: the token is not echoed`);
  }
  // Tampering with the payload of a genuine token breaks its signature.
  const [h, , s] = sign(idClaims('alice')).split('.');
  const forged = `${h}.${Buffer.from(JSON.stringify(idClaims('admin'))).toString('base64url')}.${s}`;
  t.match(await appError(verifier.verify(forged)), { code: 'UNAUTHENTICATED', message: 'bad token signature' }, 'payload swapped');
});

t.test('cert endpoint failures are 503s', async (t) => {
  const token = sign(idClaims('alice'));

  const port = await closedPort();
  const unreachable = new FirebaseVerifier({ projectId: PROJECT_ID, checkRevoked: false, httpAgent: new LocalAgent(port) });
  const refused = await appError(unreachable.verify(token));
  t.match(refused, { code: 'AUTH_UNAVAILABLE', statusCode: 503, message: 'identity provider unreachable' }, 'connection refused');
  t.match(
    refused.cause,
    { code: 'auth/argument-error', message: /ECONNREFUSED/ },
    'the SDK reports a failed cert fetch as auth/argument-error; only the message tells it apart',
  );
  await unreachable.close();

  google.certStatus = 500;
  const erroring = new FirebaseVerifier({ projectId: PROJECT_ID, checkRevoked: false, httpAgent: google.agent() });
  t.match(await appError(erroring.verify(token)), { code: 'AUTH_UNAVAILABLE', statusCode: 503 }, 'cert endpoint answered 500');
  google.certStatus = 200;
  t.equal((await erroring.verify(token)).uid, 'alice', 'a failed fetch is not cached: the next call fetches again');
  await erroring.close();

  google.hang = true;
  const hanging = new FirebaseVerifier({ projectId: PROJECT_ID, checkRevoked: false, httpAgent: google.agent(), timeoutMs: 200 });
  t.match(
    await appError(hanging.verify(token)),
    { code: 'AUTH_UNAVAILABLE', message: 'identity provider did not answer in time' },
    'the SDK sets no timeout on the cert fetch; ours applies',
  );
  google.hang = false;
  await hanging.close();
});

t.test('several verifiers coexist, each with its own app', async (t) => {
  const a = new FirebaseVerifier({ projectId: PROJECT_ID, checkRevoked: false, httpAgent: google.agent() });
  const b = new FirebaseVerifier({ projectId: 'another-project', checkRevoked: false, httpAgent: google.agent() });
  const token = sign(idClaims('alice'));
  t.equal((await a.verify(token)).uid, 'alice');
  t.match(
    await appError(b.verify(token)),
    { code: 'UNAUTHENTICATED', message: 'token is for another project' },
    'b checks its own project',
  );
  await a.close();
  t.match(await appError(a.verify(token)), { code: 'AUTH_UNAVAILABLE' }, 'a closed verifier refuses to verify');
  const otherProject = signRs256(
    idClaims('carol', { aud: 'another-project', iss: 'https://securetoken.google.com/another-project' }),
    keys.keyPem,
    KID,
  );
  t.equal((await b.verify(otherProject)).uid, 'carol', 'closing a did not affect b');
  await b.close();
});
