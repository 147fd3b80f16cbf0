import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BULL_BOARD_PATH } from './routes/bull-board.js';
import { WEBHOOK_PATH } from './routes/webhooks.js';

const digest = (value: string) => createHash('sha256').update(value).digest();

/** The token a request presents: `Bearer <token>`, or Basic auth's password (for browsers). */
export function presentedToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization ?? '';
  const bearer = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
  if (bearer) return bearer;
  const basic = /^Basic\s+(\S+)$/i.exec(header)?.[1];
  if (!basic) return undefined;
  const decoded = Buffer.from(basic, 'base64').toString('utf8');
  return decoded.slice(decoded.indexOf(':') + 1) || undefined;
}

/**
 * Every route but /health needs one of the configured tokens. Digests are compared in constant
 * time, so response timing says nothing about how close a guess was. Bull Board answers with a
 * Basic challenge so a browser can log in with the token as its password.
 */
export function registerAuth(app: FastifyInstance, tokens: readonly string[]): void {
  if (tokens.length === 0) return;
  const accepted = tokens.map(digest);
  app.addHook('onRequest', async (request, reply) => {
    const path = request.url.split('?')[0];
    // /health is for probes; FullStory's webhooks carry their own signature instead of a token.
    if (path === '/health' || path === WEBHOOK_PATH) return;
    const token = presentedToken(request);
    const presented = token ? digest(token) : undefined;
    if (presented && accepted.some((a) => timingSafeEqual(a, presented))) return;
    const browser = path?.startsWith(BULL_BOARD_PATH) || path?.startsWith('/docs');
    return reply
      .code(401)
      .header(
        'www-authenticate',
        browser ? 'Basic realm="fsx", charset="UTF-8"' : 'Bearer realm="fsx"',
      )
      .send({
        error: 'unauthorized',
        message: 'a valid API token is required (Authorization: Bearer <token>)',
      });
  });
}
