import t from 'tap';
import { Api } from '../helpers/api.js';
import { startPhotoServer } from './fixtures/server.js';

t.test('without S3 settings the photo routes answer 503 STORAGE_NOT_CONFIGURED and the rest runs', async (t) => {
  const { app } = await startPhotoServer(t, {}, null);
  const api = new Api(app);
  const calls = [
    ['GET', '/user/photo-upload-url?type=image/png&size=10', undefined],
    ['GET', '/user/photo-upload-url', undefined], // even invalid input: the feature is off
    ['POST', '/user/confirm-photo-upload', { key: 'pending/alice/x' }],
    ['PUT', '/user/photo-upload-confirm', { key: 'pending/alice/x' }],
    ['DELETE', '/user/profile-photo', undefined],
  ] as const;
  for (const [method, url, body] of calls) {
    const res = await api.req(method, url, 'alice', body);
    t.equal(res.statusCode, 503, `${method} ${url}`);
    t.equal(res.json().error.code, 'STORAGE_NOT_CONFIGURED');
  }
  t.equal((await api.req('GET', '/user/photo-upload-url?type=image/png&size=10', null)).statusCode, 401, 'auth still comes first');
  const user = await api.req('GET', '/user', 'alice');
  t.equal(user.statusCode, 200);
  t.equal(user.json().photo, null);
  t.equal((await api.req('DELETE', '/user', 'alice')).statusCode, 204, 'account deletion works without a store');
});
