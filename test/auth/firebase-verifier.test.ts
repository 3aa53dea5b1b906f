/**
 * FirebaseVerifier in emulator mode, against firebase-admin itself and a fake Auth emulator
 * (docs/dependencies.md, "firebase-admin"): account states, claim failures, provider outages, the process-wide emulator
 * variable, and construction errors. The real RS256 path is in firebase-verifier-rs256.test.ts.
 */
import { generateKeyPairSync } from 'node:crypto';
import t from 'tap';
import { FirebaseVerifier, mapFirebaseError } from '../../src/auth/firebase-verifier.js';
import { AppError } from '../../src/errors/app-error.js';
import { closedPort, idClaims, PROJECT_ID, startFakeEmulator, unsignedToken, type FakeEmulator } from './fixtures/fake-identity.js';

const ENV = 'FIREBASE_AUTH_EMULATOR_HOST';
delete process.env[ENV];

/** Resolves the AppError `p` rejects with (fails the test if it resolves or throws something else). */
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

t.test('emulator mode', async (t) => {
  const emu: FakeEmulator = await startFakeEmulator();
  const verifier = new FirebaseVerifier({ projectId: PROJECT_ID, emulatorHost: emu.host, checkRevoked: false });
  t.teardown(async () => {
    await verifier.close();
    await emu.close();
  });
  const authTime = now() - 10;
  emu.users.set('u-ok', { localId: 'u-ok', email: 'ok@example.com' });
  emu.users.set('u-disabled', { localId: 'u-disabled', disabled: true });
  emu.users.set('u-revoked', { localId: 'u-revoked', validSince: String(authTime + 5) });
  emu.users.set('u-old-revocation', { localId: 'u-old-revocation', validSince: String(authTime - 100) });

  t.equal(process.env[ENV], emu.host, 'the SDK is pointed at the emulator through its variable');

  t.test('account states via accounts:lookup', async (t) => {
    const claims = idClaims('u-ok', { email: 'ok@example.com', name: 'Olive', auth_time: authTime });
    const principal = await verifier.verify(unsignedToken(claims));
    t.same(principal, { uid: 'u-ok', expiresAt: (claims.exp as number) * 1000, email: 'ok@example.com', name: 'Olive' });
    const last = emu.requests.at(-1);
    t.same(last?.localId, ['u-ok'], 'the lookup asked for the token subject');
    t.equal(last?.authorization, 'Bearer owner', 'the emulator is called with the owner token');

    const before = emu.requests.length;
    const old = await verifier.verify(unsignedToken(idClaims('u-old-revocation', { auth_time: authTime })));
    t.equal(old.uid, 'u-old-revocation', 'validSince before auth_time is not a revocation');
    t.equal(emu.requests.length, before + 1, 'checkRevoked:false is forced on in emulator mode: lookup on every call');

    const disabled = await appError(verifier.verify(unsignedToken(idClaims('u-disabled'))));
    t.match(disabled, { code: 'UNAUTHENTICATED', statusCode: 401, message: 'user account is disabled' });
    t.equal((disabled.cause as { code?: string }).code, 'auth/user-disabled', 'original SDK error kept as cause');

    const revoked = await appError(verifier.verify(unsignedToken(idClaims('u-revoked', { auth_time: authTime }))));
    t.match(revoked, { code: 'UNAUTHENTICATED', statusCode: 401, message: 'token has been revoked' });

    const unknown = await appError(verifier.verify(unsignedToken(idClaims('u-nobody'))));
    t.match(unknown, { code: 'UNAUTHENTICATED', statusCode: 401, message: 'user does not exist' });
  });

  t.test('claim failures are 401s', async (t) => {
    const cases: Array<[string, string, string | RegExp, string]> = [
      [
        'expired',
        unsignedToken(idClaims('u-ok', { iat: now() - 7200, auth_time: now() - 7200, exp: now() - 60 })),
        'TOKEN_EXPIRED',
        'token has expired',
      ],
      ['wrong audience', unsignedToken(idClaims('u-ok', { aud: 'other-project' })), 'UNAUTHENTICATED', 'token is for another project'],
      [
        'wrong issuer',
        unsignedToken(idClaims('u-ok', { iss: 'https://securetoken.google.com/other-project' })),
        'UNAUTHENTICATED',
        'token has the wrong issuer',
      ],
      ['missing sub', unsignedToken(idClaims('u-ok', { sub: undefined })), 'UNAUTHENTICATED', 'token has no valid subject'],
      ['sub over 128 chars', unsignedToken(idClaims('x'.repeat(129))), 'UNAUTHENTICATED', 'token has no valid subject'],
      ['iat beyond the 60 s skew', unsignedToken(idClaims('u-ok', { iat: now() + 120 })), 'UNAUTHENTICATED', 'token issued in the future'],
      [
        'auth_time beyond the skew',
        unsignedToken(idClaims('u-ok', { auth_time: now() + 3600 })),
        'UNAUTHENTICATED',
        'token authenticated in the future',
      ],
      ['missing exp', unsignedToken(idClaims('u-ok', { exp: undefined })), 'UNAUTHENTICATED', 'token has no expiry'],
      ['garbage', 'not-a-jwt', 'UNAUTHENTICATED', 'malformed token'],
      ['empty', '', 'UNAUTHENTICATED', 'missing token'],
      ['huge', 'a'.repeat(20_000), 'UNAUTHENTICATED', 'malformed token'],
    ];
    for (const [name, token, code, message] of cases) {
      const err = await appError(verifier.verify(token));
      t.match(err, { code, statusCode: 401, message }, name);
      if (token.length > 0) t.notOk(err.message.includes(token), `${name}: the token is not echoed`);
    }
    // Control: iat inside the skew is fine, so the 'future iat' case above is about the 60 s limit.
    const ok = await verifier.verify(unsignedToken(idClaims('u-ok', { iat: now() + 30 })));
    t.equal(ok.uid, 'u-ok', 'iat 30 s ahead is within the tolerated skew');
  });

  t.test('identity toolkit failures are 503s, not 401s', async (t) => {
    const token = unsignedToken(idClaims('u-ok'));
    emu.behaviour = 'error500';
    t.match(await appError(verifier.verify(token)), { code: 'AUTH_UNAVAILABLE', statusCode: 503 }, 'lookup answered 500');

    emu.behaviour = 'hang';
    const impatient = new FirebaseVerifier({ projectId: PROJECT_ID, emulatorHost: emu.host, checkRevoked: true, timeoutMs: 200 });
    const started = Date.now();
    t.match(
      await appError(impatient.verify(token)),
      { code: 'AUTH_UNAVAILABLE', statusCode: 503, message: 'identity provider did not answer in time' },
      'lookup never answered',
    );
    t.ok(Date.now() - started < 2000, 'gave up after about timeoutMs');
    await impatient.close();
    emu.behaviour = 'ok';
    t.equal((await verifier.verify(token)).uid, 'u-ok', 'recovers once the provider answers again');
  });

  t.test('only one emulator host per process at a time', async (t) => {
    t.throws(
      () => new FirebaseVerifier({ projectId: PROJECT_ID, emulatorHost: '127.0.0.1:1', checkRevoked: false }),
      /FIREBASE_AUTH_EMULATOR_HOST: "127\.0\.0\.1:1" conflicts/,
    );
    t.equal(process.env[ENV], emu.host, 'the refused verifier left the variable alone');
  });

  t.test('a production verifier in the same process still checks signatures', async (t) => {
    const prod = new FirebaseVerifier({ projectId: PROJECT_ID, checkRevoked: false });
    const token = unsignedToken(idClaims('u-ok'));
    t.match(await appError(prod.verify(token)), { code: 'UNAUTHENTICATED', message: 'bad token signature' }, 'alg:none refused');
    t.equal(process.env[ENV], emu.host, 'the variable is back for the emulator verifier');
    t.equal((await verifier.verify(token)).uid, 'u-ok', 'and the emulator verifier still accepts the same token');
    await prod.close();
  });
});

t.test('emulator variable lifecycle', async (t) => {
  t.equal(process.env[ENV], undefined, 'the last emulator verifier to close removed the variable it set');

  process.env[ENV] = 'preexisting:9099';
  const emu = await startFakeEmulator();
  const a = new FirebaseVerifier({ projectId: PROJECT_ID, emulatorHost: emu.host, checkRevoked: false });
  const b = new FirebaseVerifier({ projectId: PROJECT_ID, emulatorHost: emu.host, checkRevoked: false });
  await a.close();
  t.equal(process.env[ENV], emu.host, 'still set while another emulator verifier lives');
  await b.close();
  await b.close();
  t.equal(process.env[ENV], 'preexisting:9099', 'the value from before is restored, and a double close is harmless');
  await emu.close();

  // A stale value nobody of ours set must not switch the production path to emulator mode.
  // (An empty emulatorHost, as an empty env setting would give, means production mode.)
  const prod = new FirebaseVerifier({ projectId: PROJECT_ID, emulatorHost: '', checkRevoked: false });
  t.equal(process.env[ENV], undefined, 'a production verifier removes a stale emulator variable');
  process.env[ENV] = 'stale:9099';
  t.match(
    await appError(prod.verify(unsignedToken(idClaims('u1')))),
    { code: 'UNAUTHENTICATED', message: 'bad token signature' },
    'even when set again later, alg:none is refused by a production verifier',
  );
  t.equal(process.env[ENV], 'stale:9099', 'and the variable is restored after the call');
  delete process.env[ENV];
  await prod.close();
  t.match(await appError(prod.verify('x')), { code: 'AUTH_UNAVAILABLE', message: 'token verifier is closed' });
});

t.test('emulator host on a closed port is a 503', async (t) => {
  const port = await closedPort();
  const v = new FirebaseVerifier({ projectId: PROJECT_ID, emulatorHost: `127.0.0.1:${port}`, checkRevoked: false });
  t.teardown(() => v.close());
  const err = await appError(v.verify(unsignedToken(idClaims('u1'))));
  t.match(err, { code: 'AUTH_UNAVAILABLE', statusCode: 503, message: 'identity provider unreachable' });
  t.match((err.cause as Error).message, /ECONNREFUSED/);
  // Claim errors are found before the network is needed, so they stay 401s even while the provider is down.
  t.match(await appError(v.verify(unsignedToken(idClaims('u1', { aud: 'x' })))), { code: 'UNAUTHENTICATED' });
  t.match(await appError(v.verify(unsignedToken(idClaims('u1', { exp: now() - 1 })))), { code: 'TOKEN_EXPIRED' });
});

t.test('construction errors name the setting', async (t) => {
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  // The '?' run makes the standard encoding contain '/' (0x3f3f3f → "Pz8/"), so both alphabets are exercised.
  const account = {
    type: 'service_account',
    project_id: PROJECT_ID,
    private_key: privateKey,
    client_email: `sa@${PROJECT_ID}.iam.gserviceaccount.com`,
    client_id: '?'.repeat(12),
  };
  const json = JSON.stringify(account);
  const standard = Buffer.from(json).toString('base64');
  const urlSafe = Buffer.from(json).toString('base64url');
  t.not(standard.replace(/=+$/, ''), urlSafe, 'the two alphabets really differ for this key');
  for (const [name, encoded] of [
    ['standard base64', standard],
    ['url-safe base64', urlSafe],
    ['base64 with line breaks', standard.replace(/(.{76})/g, '$1\n')],
  ] as const) {
    const v = new FirebaseVerifier({ projectId: PROJECT_ID, serviceAccountBase64: encoded, checkRevoked: false });
    await v.close();
    t.pass(`${name} accepted`);
  }

  const secretish = 'c2VjcmV0LWJ1dC1ub3QtanNvbg'; // "secret-but-not-json"
  const bad: Array<[string, string, RegExp]> = [
    ['not base64', 'not base64!!', /^FIREBASE_SERVICE_ACCOUNT_BASE64: not valid base64$/],
    ['not JSON', secretish, /^FIREBASE_SERVICE_ACCOUNT_BASE64: does not decode to JSON/],
    ['JSON array', Buffer.from('[1]').toString('base64'), /FIREBASE_SERVICE_ACCOUNT_BASE64: does not decode to a JSON object/],
    [
      'wrong type',
      Buffer.from(JSON.stringify({ ...account, type: 'authorized_user' })).toString('base64'),
      /FIREBASE_SERVICE_ACCOUNT_BASE64: "type" is "authorized_user"/,
    ],
    [
      'no private key',
      Buffer.from(JSON.stringify({ ...account, private_key: undefined })).toString('base64'),
      /FIREBASE_SERVICE_ACCOUNT_BASE64: .*"private_key"/,
    ],
    [
      'broken private key',
      Buffer.from(JSON.stringify({ ...account, private_key: 'nope' })).toString('base64'),
      /FIREBASE_SERVICE_ACCOUNT_BASE64: .*Failed to parse private key/,
    ],
  ];
  for (const [name, value, message] of bad) {
    let thrown: unknown;
    try {
      new FirebaseVerifier({ projectId: PROJECT_ID, serviceAccountBase64: value, checkRevoked: false });
    } catch (e) {
      thrown = e;
    }
    t.match(thrown, { message }, name);
    t.notOk(String((thrown as Error).message).includes('secret-but-not-json'), `${name}: decoded content not echoed`);
  }
  t.throws(() => new FirebaseVerifier({ projectId: '', checkRevoked: false }), /^FIREBASE_PROJECT_ID: required/);
  t.throws(
    () => new FirebaseVerifier({ projectId: PROJECT_ID, emulatorHost: 'http://localhost:9099', checkRevoked: false }),
    /^FIREBASE_AUTH_EMULATOR_HOST: expected host:port/,
  );
  t.equal(process.env[ENV], undefined, 'failed constructions leave no emulator variable behind');
});

t.test('error mapping of SDK error shapes', async (t) => {
  const fe = (code: string, message: string): Error => Object.assign(new Error(message), { code });
  const cases: Array<[string, unknown, string]> = [
    [
      'offline cert fetch (DNS)',
      fe('auth/argument-error', 'Error while making request: getaddrinfo ENOTFOUND www.googleapis.com. Error code: ENOTFOUND'),
      'AUTH_UNAVAILABLE',
    ],
    ['network error', fe('app/network-error', 'Error while making request: socket hang up. Error code: ECONNRESET'), 'AUTH_UNAVAILABLE'],
    ['network timeout', fe('app/network-timeout', 'Error while making request: timeout of 25000ms exceeded.'), 'AUTH_UNAVAILABLE'],
    [
      'no OAuth token for checkRevoked',
      fe('app/invalid-credential', 'Credential implementation provided to initializeApp() ... failed'),
      'AUTH_UNAVAILABLE',
    ],
    ['verify raced close', fe('app/app-deleted', 'Firebase app named "x" has already been deleted.'), 'AUTH_UNAVAILABLE'],
    ['expired', fe('auth/id-token-expired', 'Firebase ID token has expired.'), 'TOKEN_EXPIRED'],
    // A claim value quoted in the SDK's message must not turn a bad token into a 503.
    [
      'claim that quotes a network word',
      fe(
        'auth/argument-error',
        'Firebase ID token has incorrect "aud" (audience) claim. Expected "p" but got "Error while making request ECONNREFUSED".',
      ),
      'UNAUTHENTICATED',
    ],
    ['unknown error', new Error('boom'), 'UNAUTHENTICATED'],
    ['unlisted firebase code', fe('auth/invalid-id-token', 'The provided ID token is not a valid Firebase ID token.'), 'UNAUTHENTICATED'],
    ['no code but a network-like message', new Error('Error while making request: x'), 'UNAUTHENTICATED'],
    ['non-error', 'weird', 'UNAUTHENTICATED'],
  ];
  for (const [name, error, code] of cases) t.equal(mapFirebaseError(error).code, code, name);
  const own = new AppError('AUTH_UNAVAILABLE', 'x');
  t.equal(mapFirebaseError(own), own, 'an AppError passes through unchanged');
});
