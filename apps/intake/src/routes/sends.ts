import { DEFAULT_CREDENTIAL } from '@fsx/config';
import {
  enqueueFlush,
  itemSchemas,
  MAX_ITEMS_PER_REQUEST,
  SEND_KINDS,
  SEND_STATES,
  type SendKind,
} from '@fsx/sends';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { IntakeDeps } from '../deps.js';
import { assertCredential, HttpError } from '../errors.js';
import { errorResponses, sendAccepted, sendList, sendView } from '../http-responses.js';
import { idempotencyHeaders, pageQuery } from '../http-schemas.js';

// A back end's batch of up to 1,000 users or events; the global 64 KiB limit is for exports.
const SEND_BODY_LIMIT = 4 * 1024 * 1024;

/** One item or an array of them; every item is checked against the v2 rules before queueing. */
const sendBody = (kind: SendKind) =>
  z.preprocess(
    (body) => (Array.isArray(body) ? body : [body]),
    z.array(itemSchemas[kind]).min(1).max(MAX_ITEMS_PER_REQUEST),
  );

const credentialQuery = z.strictObject({ credential: z.string().min(1).max(100).optional() });
const sendIdParams = z.strictObject({ id: z.uuid('must be a send id') });
const listSendsQuery = z.strictObject({
  state: z.enum(SEND_STATES).optional(),
  kind: z.enum(SEND_KINDS).optional(),
  ...pageQuery,
});

/**
 * Users and events for FullStory's v2 server API. A request is answered 202 once its items are
 * durably queued in Redis (one atomic step); worker-send batches and sends them, and
 * `GET /v1/sends/{id}` tells what became of each.
 */
export const sendRoutes =
  (deps: IntakeDeps): FastifyPluginAsyncZod =>
  async (app) => {
    const self = (id: string) => `${deps.publicUrl}/v1/sends/${id}`;
    const sendsHere = () => {
      if (!deps.sends)
        throw new HttpError(404, 'not_found', 'sending to FullStory is not set up here');
      return deps.sends;
    };

    for (const kind of SEND_KINDS) {
      app.post(
        `/v1/${kind}`,
        {
          bodyLimit: SEND_BODY_LIMIT,
          schema: {
            summary:
              kind === 'users' ? 'Send users to FullStory' : 'Send custom events to FullStory',
            description: `One ${kind === 'users' ? 'user' : 'event'} or an array of up to ${MAX_ITEMS_PER_REQUEST}, in FullStory's v2 shape (property names without type suffixes). Answered 202 once queued; a repeated Idempotency-Key returns the first send.`,
            body: sendBody(kind),
            headers: idempotencyHeaders,
            querystring: credentialQuery,
            response: { 202: sendAccepted, ...errorResponses(400, 404, 413, 415, 422) },
          },
        },
        async (request, reply) => {
          const sends = sendsHere();
          const credential = request.query.credential ?? DEFAULT_CREDENTIAL;
          assertCredential(deps.credentials, credential);
          const idempotencyKey = request.headers['idempotency-key'];
          const { id, created } = await sends.store.create({
            kind,
            credential,
            items: request.body,
            ...(idempotencyKey ? { idempotencyKey } : {}),
          });
          if (created) await enqueueFlush(sends.queue, { credential, kind }, sends.gatherMs);
          request.log.info(
            { sendId: id, kind, items: request.body.length, created },
            created ? 'send accepted' : 'idempotent replay',
          );
          return reply
            .code(202)
            .header('location', self(id))
            .header('idempotent-replayed', String(!created))
            .send({ id, kind, items: request.body.length, links: { self: self(id) } });
        },
      );
    }

    app.get(
      '/v1/sends',
      {
        schema: {
          summary: 'Sends, newest first (counts only; one send shows its failures)',
          querystring: listSendsQuery,
          response: { 200: sendList, ...errorResponses(400, 404) },
        },
      },
      async (request) => {
        const { records, nextCursor } = await sendsHere().store.list(request.query);
        return {
          items: records.map((send) => ({ ...send, links: { self: self(send.id) } })),
          ...(nextCursor !== undefined ? { nextCursor } : {}),
        };
      },
    );

    app.get(
      '/v1/sends/:id',
      {
        schema: {
          summary: 'What became of a send: items sent, failed (with reasons), pending',
          params: sendIdParams,
          response: { 200: sendView, ...errorResponses(400, 404) },
        },
      },
      async (request) => {
        const view = await deps.sends?.store.view(request.params.id);
        if (!view) throw new HttpError(404, 'not_found', `send ${request.params.id} not found`);
        return { ...view, links: { self: self(view.id) } };
      },
    );
  };
