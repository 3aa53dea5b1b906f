import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { AppError } from '../../errors/app-error.js';
import { ref } from '../../protocol/components.js';
import type { PhotoStore } from '../../storage/photo-store.js';
import { Photos } from '../../storage/photos.js';
import type { RoutePlugin } from '../app.js';
import { principal } from '../auth.js';
import { AUTHENTICATED, PhotoResponse, PhotoUploadTicket, WITH_BODY, WITH_INPUT, errors } from '../responses.js';
import { ConfirmBody, UploadQuery } from '../schemas.js';

const tags = ['users'];
/** Without S3 settings every photo route answers 503 STORAGE_NOT_CONFIGURED; the store may fail (502). */
const STORAGE = [502, 503] as const;

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
      {
        schema: {
          tags,
          operationId: 'getPhotoUploadUrl',
          summary: 'Presigned PUT for a new profile photo',
          description: 'image/jpeg, image/png or image/webp, at most 5 MiB; the signature binds the type and the size.',
          querystring: UploadQuery,
          response: { 200: ref(PhotoUploadTicket), ...errors(...WITH_INPUT, ...STORAGE) },
        },
      },
      async (req) => enabled().uploadUrl(principal(req).uid, req.query.type, req.query.size),
    );

    // PUT /user/photo-upload-confirm is the alias kept for clients of the original service.
    for (const [method, url, operationId] of [
      ['POST', '/user/confirm-photo-upload', 'confirmPhotoUpload'],
      ['PUT', '/user/photo-upload-confirm', 'confirmPhotoUploadAlias'],
    ] as const) {
      app.route({
        method,
        url,
        schema: {
          tags,
          operationId,
          summary: method === 'POST' ? 'Make an uploaded object the profile photo' : 'The same as POST /user/confirm-photo-upload',
          ...(method === 'PUT' ? { deprecated: true } : {}),
          body: ConfirmBody,
          response: { 200: ref(PhotoResponse), ...errors(...WITH_BODY, 404, ...STORAGE) },
        },
        handler: async (req) => enabled().confirm(principal(req).uid, req.body.key),
      });
    }

    app.delete(
      '/user/profile-photo',
      {
        schema: {
          tags,
          operationId: 'deleteProfilePhoto',
          summary: 'Remove the profile photo',
          response: { 204: Type.Null({ description: 'Removed (also when there was none)' }), ...errors(...AUTHENTICATED, ...STORAGE) },
        },
      },
      async (req, reply) => {
        await enabled().remove(principal(req).uid);
        return reply.code(204).send(null);
      },
    );
  };
}
