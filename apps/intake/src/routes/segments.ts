import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_CREDENTIAL } from '@fsx/config';
import { isFullStoryError } from '@fsx/fullstory';
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { IntakeDeps } from '../deps.js';
import { HttpError } from '../errors.js';
import { errorResponses, segmentList } from '../http-responses.js';

const MAX_WAIT_MS = 15_000;

/**
 * FullStory's segments, for people choosing what to export. Each page costs a quota token from
 * the same shared limiter the workers use: the request waits a little for one, and past that
 * answers 503 with Retry-After rather than spend a token the pipeline needs.
 */
export const segmentRoutes =
  (deps: IntakeDeps): FastifyPluginAsync =>
  async (app) => {
    const query = z.strictObject({ credential: z.string().max(64).optional() });
    app.get(
      '/v1/segments',
      {
        schema: {
          summary: 'List FullStory segments',
          querystring: query,
          response: { 200: segmentList, ...errorResponses(400, 502) },
        },
      },
      async (request) => {
        const { credential = DEFAULT_CREDENTIAL } = request.query as z.infer<typeof query>;
        const access = deps.fullstory?.(credential);
        if (!access)
          throw new HttpError(
            400,
            'invalid_request',
            `credential "${credential}" is not configured`,
          );
        const takeToken = async () => {
          const deadline = Date.now() + MAX_WAIT_MS;
          for (;;) {
            const token = await access.limiter.acquire(access.apiKey);
            if (token.granted) return;
            if (Date.now() + token.retryAfterMs > deadline) {
              throw new HttpError(
                503,
                'quota',
                `FullStory's quota is in use; retry in ${Math.ceil(token.retryAfterMs / 1000)} s`,
              );
            }
            await sleep(token.retryAfterMs);
          }
        };
        try {
          const segments = await access.client.listSegments(takeToken);
          return {
            items: segments.map(({ id, name, creator, created }) => ({
              id,
              name,
              creator,
              created,
            })),
          };
        } catch (error) {
          if (isFullStoryError(error)) throw new HttpError(502, 'fullstory', error.message);
          throw error;
        }
      },
    );
  };
