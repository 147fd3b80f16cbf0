import { createHash } from 'node:crypto';
import { enqueueWebhook, envelopeSchema, eventId, verifyFullStorySignature } from '@fsx/webhooks';
import type { FastifyPluginAsync } from 'fastify';
import type { IntakeDeps } from '../deps.js';
import { HttpError } from '../errors.js';
import { errorResponses, webhookReceived } from '../http-responses.js';

export const WEBHOOK_PATH = '/v1/webhooks/fullstory';

/**
 * FullStory's webhooks. The signature is checked over the raw bytes (so this route parses its own
 * body), a stale timestamp is a replay, and the answer is 2xx only once the event is queued.
 */
export const webhookRoutes =
  (deps: IntakeDeps): FastifyPluginAsync =>
  async (app) => {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: 256 * 1024 },
      (_request, body, done) => done(null, body),
    );

    app.post(
      WEBHOOK_PATH,
      {
        schema: {
          summary: 'Receive a FullStory webhook',
          description:
            'Checked against Fullstory-Signature (FULLSTORY_WEBHOOK_SECRET), then queued for worker-webhook.',
          response: { 200: webhookReceived, ...errorResponses(400, 404, 413) },
        },
      },
      async (request, reply) => {
        const webhooks = deps.webhooks;
        if (!webhooks)
          throw new HttpError(
            404,
            'not_found',
            'webhooks are not configured (set FULLSTORY_WEBHOOK_SECRET)',
          );
        const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const header = request.headers['fullstory-signature'];
        const check = verifyFullStorySignature(
          raw,
          Array.isArray(header) ? header[0] : header,
          webhooks.secret,
          {
            replayWindowSeconds: webhooks.replayWindowSeconds,
          },
        );
        if (!check.ok) {
          request.log.warn({ reason: check.reason }, 'webhook refused');
          throw new HttpError(401, 'unauthorized', `webhook signature ${check.reason}`);
        }
        let json: unknown;
        try {
          json = JSON.parse(raw.toString('utf8'));
        } catch {
          throw new HttpError(400, 'invalid_request', 'body is not JSON');
        }
        const parsed = envelopeSchema.safeParse(json);
        if (!parsed.success)
          throw new HttpError(400, 'invalid_request', 'body is not a FullStory webhook envelope');
        const id = eventId(parsed.data, createHash('sha256').update(raw).digest('hex'));
        const { duplicate } = await enqueueWebhook(webhooks.queue, {
          eventId: id,
          receivedAt: new Date().toISOString(),
          envelope: parsed.data,
        });
        request.log.info(
          { eventId: id, eventName: parsed.data.eventName, duplicate },
          'webhook accepted',
        );
        return reply.code(200).send({ received: true, duplicate });
      },
    );
  };
