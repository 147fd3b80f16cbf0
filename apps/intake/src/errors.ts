import { IdempotencyKeyReusedError } from '@fsx/pipeline';
import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly error: string,
    message: string,
    readonly issues?: { path: string; message: string }[],
  ) {
    super(message);
  }
}

/** A request named a credential this deployment has no key for: say which ones it has. */
export function assertCredential(credentials: readonly string[], credential: string): void {
  if (credentials.includes(credential)) return;
  throw new HttpError(400, 'invalid_request', `credential "${credential}" is not configured`, [
    {
      path: 'credential',
      message: `must be one of: ${credentials.join(', ') || '(none configured)'}`,
    },
  ]);
}

function isRedisDown(error: unknown): boolean {
  const message = error instanceof Error ? error.message : '';
  return /enableOfflineQueue|Connection is closed|ECONNREFUSED|max retries|Stream isn't writeable/i.test(
    message,
  );
}

/**
 * One error shape for every route: `{error, message, issues?}`. Bad input lists every field
 * problem; Redis down is a 503 the caller can retry; anything else is a 500 that says nothing
 * of the inside.
 */
export function registerErrorHandler(app: FastifyInstance): void {
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({
      error: 'not_found',
      message: `no route ${request.method} ${request.url.split('?')[0]}; the API is described at /docs`,
    }),
  );
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (hasZodFastifySchemaValidationErrors(error)) {
      const issues = error.validation.map((v) => ({
        path:
          `${error.validationContext ?? ''}${v.instancePath}`.replace(/^body\/?/, '') || '(root)',
        message: v.message ?? 'is invalid',
      }));
      return reply.code(400).send({
        error: 'invalid_request',
        message: issues.map((i) => `${i.path}: ${i.message}`).join('; '),
        issues,
      });
    }
    if (error instanceof HttpError) {
      return reply.code(error.statusCode).send({
        error: error.error,
        message: error.message,
        ...(error.issues ? { issues: error.issues } : {}),
      });
    }
    if (error instanceof IdempotencyKeyReusedError) {
      return reply.code(422).send({ error: error.code, message: error.message });
    }
    // Fastify's own refusals (a body that is not JSON, too large, of another type) in the same
    // words as every other, not Fastify's FST_ERR_* codes.
    if (error.statusCode === 413) {
      return reply.code(413).send({
        error: 'payload_too_large',
        message: `the request body is over this route's ${request.routeOptions.bodyLimit} bytes`,
      });
    }
    if (error.statusCode === 415) {
      return reply.code(415).send({
        error: 'unsupported_media_type',
        message: `a body of type ${request.headers['content-type'] ?? '(none given)'} is not accepted here; send application/json`,
      });
    }
    if (error.statusCode === 429) {
      return reply.code(429).send({ error: 'rate_limited', message: error.message });
    }
    if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      return reply.code(error.statusCode).send({
        error: error.statusCode === 400 ? 'invalid_request' : (error.code ?? 'bad_request'),
        message: error.message,
      });
    }
    if (isRedisDown(error)) {
      request.log.error({ err: error }, 'Redis unavailable');
      return reply
        .code(503)
        .header('retry-after', '5')
        .send({ error: 'unavailable', message: 'the queue store is unavailable; retry shortly' });
    }
    request.log.error({ err: error }, 'unhandled error');
    return reply.code(500).send({ error: 'internal', message: 'internal error' });
  });
}
