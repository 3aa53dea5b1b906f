import t from 'tap';
import { CLOCK_SKEW_SECONDS, principalFromClaims, unauthenticated } from '../../src/auth/claims.js';
import { AppError } from '../../src/errors/app-error.js';

const NOW_MS = 1_800_000_000_000;
const NOW = NOW_MS / 1000;
const base = { sub: 'u1', iat: NOW - 10, auth_time: NOW - 10, exp: NOW + 3600 };
const with_ = (overrides: Record<string, unknown>): Record<string, unknown> => {
  const claims: Record<string, unknown> = { ...base, ...overrides };
  for (const [k, v] of Object.entries(overrides)) if (v === undefined) delete claims[k];
  return claims;
};
const failure = (claims: Record<string, unknown>): AppError => {
  try {
    principalFromClaims(claims, NOW_MS);
  } catch (e) {
    if (e instanceof AppError) return e;
    throw e;
  }
  throw new Error('expected principalFromClaims to throw');
};

t.test('valid claims map to a Principal', async (t) => {
  t.same(principalFromClaims(base, NOW_MS), { uid: 'u1', expiresAt: (NOW + 3600) * 1000 }, 'no email/name keys when absent');
  t.same(principalFromClaims(with_({ email: 'a@b.c', name: 'Ann' }), NOW_MS), {
    uid: 'u1',
    expiresAt: (NOW + 3600) * 1000,
    email: 'a@b.c',
    name: 'Ann',
  });
  const odd = principalFromClaims(with_({ email: 42, name: null }), NOW_MS);
  t.notOk('email' in odd || 'name' in odd, 'non-string email/name are dropped');
  t.equal(principalFromClaims(with_({ sub: 'x'.repeat(128) }), NOW_MS).uid.length, 128, '128-char subject is allowed');
  t.ok(principalFromClaims(with_({ auth_time: undefined }), NOW_MS), 'auth_time is optional');
  t.equal(CLOCK_SKEW_SECONDS, 60);
  const realNow = principalFromClaims({ sub: 'u', iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 60 });
  t.equal(realNow.uid, 'u', 'defaults to the current time');
});

t.test('subject', async (t) => {
  for (const [name, sub] of [
    ['missing', undefined],
    ['empty', ''],
    ['too long', 'x'.repeat(129)],
    ['not a string', 7],
  ] as const) {
    t.match(failure(with_({ sub })), { code: 'UNAUTHENTICATED', statusCode: 401, message: 'token has no valid subject' }, name);
  }
});

t.test('expiry', async (t) => {
  for (const [name, exp] of [
    ['missing', undefined],
    ['string', String(NOW + 60)],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
  ] as const) {
    t.match(failure(with_({ exp })), { code: 'UNAUTHENTICATED', message: 'token has no expiry' }, name);
  }
  t.match(failure(with_({ exp: NOW })), { code: 'TOKEN_EXPIRED', statusCode: 401, message: 'token has expired' }, 'exp == now is expired');
  t.match(failure(with_({ exp: NOW - 1 })), { code: 'TOKEN_EXPIRED' }, 'past exp');
  t.equal(principalFromClaims(with_({ exp: NOW + 1 }), NOW_MS).expiresAt, (NOW + 1) * 1000, 'exp one second ahead is valid');
});

t.test('iat and auth_time may not lie beyond the skew in the future', async (t) => {
  t.ok(principalFromClaims(with_({ iat: NOW + CLOCK_SKEW_SECONDS }), NOW_MS), 'iat exactly at the skew limit');
  t.match(failure(with_({ iat: NOW + CLOCK_SKEW_SECONDS + 1 })), { code: 'UNAUTHENTICATED', message: 'token issued in the future' });
  t.match(failure(with_({ iat: undefined })), { code: 'UNAUTHENTICATED' }, 'iat is required');
  t.match(failure(with_({ iat: 'yesterday' })), { code: 'UNAUTHENTICATED' }, 'iat must be a number');
  t.ok(principalFromClaims(with_({ auth_time: NOW + CLOCK_SKEW_SECONDS }), NOW_MS), 'auth_time exactly at the skew limit');
  t.match(failure(with_({ auth_time: NOW + CLOCK_SKEW_SECONDS + 1 })), {
    code: 'UNAUTHENTICATED',
    message: 'token authenticated in the future',
  });
  t.match(
    failure(with_({ auth_time: String(NOW) })),
    { code: 'UNAUTHENTICATED', message: 'token authenticated in the future' },
    'auth_time must be a number',
  );
});

t.test('unauthenticated()', async (t) => {
  const cause = new Error('inner');
  const err = unauthenticated('nope', cause);
  t.ok(err instanceof AppError);
  t.match(err, { code: 'UNAUTHENTICATED', statusCode: 401, message: 'nope' });
  t.equal(err.cause, cause, 'keeps the cause for logs');
  t.same(err.toJSON(), { statusCode: 401, code: 'UNAUTHENTICATED', message: 'nope' }, 'the cause is not part of the wire form');
  t.notOk('cause' in unauthenticated('bare'), 'no cause property when none is given');
});
