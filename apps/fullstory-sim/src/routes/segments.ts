import type { FastifyInstance } from 'fastify';
import { sendApiError } from '../api-error.js';
import type { SimContext } from '../context.js';
import type { SimSegment } from '../options.js';

export const EVERYONE: SimSegment = { id: 'everyone', name: 'Everyone', creator: 'FullStory' };

export function allSegments(ctx: SimContext): SimSegment[] {
  return [EVERYONE, ...ctx.options.segments];
}

const encodeToken = (offset: number) => Buffer.from(`o:${offset}`).toString('base64url');
const decodeToken = (token: string) => {
  const match = /^o:(\d+)$/.exec(Buffer.from(token, 'base64url').toString('utf8'));
  return match ? Number(match[1]) : undefined;
};

export function segmentRoutes(app: FastifyInstance, ctx: SimContext): void {
  app.get<{ Querystring: Record<string, string | undefined> }>(
    '/segments/v1',
    { config: { guard: 'api' } },
    async (request, reply) => {
      const query = request.query;
      const limit = query.limit === undefined ? 20 : Number(query.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
        return sendApiError(
          reply,
          400,
          'invalid_argument',
          'limit must be an integer from 1 to 100',
          [{ field: 'limit', description: 'must be an integer from 1 to 100' }],
        );
      }
      // The OpenAPI file spells it pagination_token, the reference paginationToken: accept both.
      const token = query.pagination_token ?? query.paginationToken;
      const offset = token ? decodeToken(token) : 0;
      if (offset === undefined) {
        return sendApiError(reply, 400, 'invalid_argument', 'invalid pagination token');
      }
      const segments = allSegments(ctx).filter(
        (s) => !query.creator || s.creator === query.creator,
      );
      const page = segments.slice(offset, offset + limit);
      const next = offset + limit < segments.length ? encodeToken(offset + limit) : undefined;
      const tokenField =
        ctx.options.paginationStyle === 'openapi' ? 'pagination_token' : 'nextPaginationToken';
      return { segments: page.map(segmentView), ...(next ? { [tokenField]: next } : {}) };
    },
  );

  app.get<{ Params: { segmentId: string } }>(
    '/segments/v1/:segmentId',
    { config: { guard: 'api' } },
    async (request, reply) => {
      const segment = allSegments(ctx).find((s) => s.id === request.params.segmentId);
      if (!segment) return sendApiError(reply, 404, 'resource_not_found', 'segment not found');
      return segmentView(segment);
    },
  );
}

function segmentView(segment: SimSegment) {
  return {
    id: segment.id,
    name: segment.name,
    creator: segment.creator,
    ...(segment.created ? { created: segment.created } : {}),
    url: `https://app.fullstory.com/ui/o-SIM-na1/segments/${segment.id}`,
  };
}
