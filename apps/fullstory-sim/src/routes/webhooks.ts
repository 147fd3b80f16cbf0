import { createHmac, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { request } from 'undici';
import { sendApiError } from '../api-error.js';
import type { SimContext } from '../context.js';

interface Endpoint {
  id: string;
  url: string;
  eventNames: string[];
  secret: string;
}

/** What FullStory sends: `o:<org>,t:<ts>,v:<base64 HMAC-SHA256(secret, "<body>:<o>:<t>")>`. */
function signature(body: string, secret: string, org: string, timestampSeconds: number): string {
  const v = createHmac('sha256', secret)
    .update(`${body}:${org}:${timestampSeconds}`)
    .digest('base64');
  return `o:${org},t:${timestampSeconds},v:${v}`;
}

async function deliver(
  ctx: SimContext,
  endpoint: Endpoint,
  body: string,
  org: string,
  timestampSeconds: number,
) {
  // FullStory retries a delivery the receiver did not accept.
  for (let attempt = 1; attempt <= 4; attempt++) {
    let status = 0;
    try {
      const response = await request(endpoint.url, {
        method: 'POST',
        body,
        headers: {
          'content-type': 'application/json',
          'fullstory-signature': signature(body, endpoint.secret, org, timestampSeconds),
        },
      });
      await response.body.dump();
      status = response.statusCode;
    } catch {
      status = 0;
    }
    ctx.stats.webhookDeliveries[status] = (ctx.stats.webhookDeliveries[status] ?? 0) + 1;
    if (status >= 200 && status < 300)
      return { endpointId: endpoint.id, attempts: attempt, status };
    if (attempt < 4) await sleep(100 * 2 ** attempt);
    else return { endpointId: endpoint.id, attempts: attempt, status };
  }
  return { endpointId: endpoint.id, attempts: 4, status: 0 };
}

/** Webhook endpoints (registered like FullStory's) and the simulator's trigger to deliver events. */
export function webhookRoutes(app: FastifyInstance, ctx: SimContext): void {
  const endpoints: Endpoint[] = [];

  app.post<{ Body: { url?: unknown; event_types?: unknown; secret?: unknown } }>(
    '/webhooks/v1/endpoints',
    { config: { guard: 'api' } },
    async (req, reply) => {
      const { url, event_types: eventTypes, secret } = req.body ?? {};
      const names = Array.isArray(eventTypes)
        ? eventTypes.map((t) => (t as { event_name?: unknown })?.event_name)
        : [];
      if (
        typeof url !== 'string' ||
        !/^https?:\/\//.test(url) ||
        typeof secret !== 'string' ||
        secret.length < 8 ||
        names.length === 0 ||
        names.some((n) => typeof n !== 'string')
      ) {
        return sendApiError(
          reply,
          400,
          'invalid_argument',
          'url, event_types[{event_name}] and secret are required',
        );
      }
      const endpoint = {
        id: `wh_${randomBytes(6).toString('hex')}`,
        url,
        eventNames: names as string[],
        secret,
      };
      endpoints.push(endpoint);
      return { id: endpoint.id };
    },
  );

  app.post<{
    Body: {
      eventName?: unknown;
      data?: unknown;
      org?: unknown;
      timestampSeconds?: unknown;
      times?: unknown;
    };
  }>('/__sim/webhooks/deliver', async (req, reply) => {
    const { eventName, data, org = 'o-SIM-na1', timestampSeconds, times = 1 } = req.body ?? {};
    if (typeof eventName !== 'string' || typeof data !== 'object' || data === null) {
      return sendApiError(reply, 400, 'invalid_argument', 'eventName and data are required');
    }
    const body = JSON.stringify({ eventName, version: 1, data });
    const t =
      typeof timestampSeconds === 'number' ? timestampSeconds : Math.floor(Date.now() / 1000);
    const deliveries = [];
    for (const endpoint of endpoints.filter(
      (e) => e.eventNames.includes(eventName) || e.eventNames.includes('*'),
    )) {
      for (let i = 0; i < (typeof times === 'number' ? times : 1); i++) {
        deliveries.push(await deliver(ctx, endpoint, body, String(org), t));
      }
    }
    return { deliveries };
  });
}
