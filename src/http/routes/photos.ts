import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { AppError } from '../../errors/app-error.js';
import type { PhotoStore } from '../../storage/photo-store.js';
import { Photos } from '../../storage/photos.js';
import type { RoutePlugin } from '../app.js';
import { principal } from '../auth.js';

/** Longer than any key this server hands out (`pending/` + a percent-encoded 128-char uid + a uuid). */
const ConfirmBody = Type.Object({ key: Type.String({ minLength: 1, maxLength: 1024 }) }, { additionalProperties: false });
/**
 * `type` is any string here so an unlisted one answers PHOTO_TYPE_NOT_ALLOWED, not a schema error;
 * `size` above 5 MiB likewise answers PHOTO_TOO_LARGE.
 */
const UploadQuery = Type.Object({
  type: Type.String({ minLength: 1, maxLength: 255 }),
  size: Type.Integer({ minimum: 1, description: 'bytes' }),
});

/**
 * Profile photos (docs/protocol.md, "Users"). `store` null (no S3_BUCKET): the routes exist but answer
 * 503 STORAGE_NOT_CONFIGURED, so clients learn "off here" rather than "no such route".
 * Confirm answers 200, not 201: it changes the user's photo, it does not create an addressable resource
 * of its own, and a retried confirm answers the same.
 */
export function photoRoutes(store: PhotoStore | null): RoutePlugin {
  return async (fastify, { sql, config, log }) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
    let photos: Photos | undefined;
    if (store) {
      // loadConfig already refuses S3_BUCKET without CDN_BASE_URL; this guards hand-built configs.
      if (!config.CDN_BASE_URL) throw new Error('CDN_BASE_URL is required when photo storage is configured');
      photos = new Photos(store, sql, { cdnBaseUrl: config.CDN_BASE_URL, uploadTtlSeconds: config.PHOTO_UPLOAD_TTL_SECONDS }, log);
    }
    const enabled = (): Photos => {
      if (!photos) throw new AppError('STORAGE_NOT_CONFIGURED', 'photo storage is not configured on this server');
      return photos;
    };
    // Before validation, so an unconfigured server answers 503 whatever the input (after auth: 401 first).
    app.addHook('preValidation', async () => void enabled());

    app.get(
      '/user/photo-upload-url',
      { schema: { querystring: UploadQuery, summary: 'Presigned PUT for a new profile photo' } },
      async (req) => enabled().uploadUrl(principal(req).uid, req.query.type, req.query.size),
    );

    // PUT /user/photo-upload-confirm is the alias kept for clients of the original service.
    for (const [method, url] of [
      ['POST', '/user/confirm-photo-upload'],
      ['PUT', '/user/photo-upload-confirm'],
    ] as const) {
      app.route({
        method,
        url,
        schema: { body: ConfirmBody, summary: 'Make an uploaded object the profile photo' },
        handler: async (req) => enabled().confirm(principal(req).uid, req.body.key),
      });
    }

    app.delete('/user/profile-photo', { schema: { summary: 'Remove the profile photo' } }, async (req, reply) => {
      await enabled().remove(principal(req).uid);
      return reply.code(204).send();
    });
  };
}
