import type { FastifyReply } from 'fastify';

/** FullStory's error codes (v2 reference; v1 uses the same body shape). */
export type ApiErrorCode =
  | 'invalid_argument'
  | 'required_field'
  | 'unauthorized'
  | 'forbidden'
  | 'resource_not_found'
  | 'too_many_requests'
  | 'server_error'
  | 'service_unavailable';

export interface FieldViolation {
  field: string;
  description: string;
}

export function sendApiError(
  reply: FastifyReply,
  status: number,
  code: ApiErrorCode,
  message: string,
  details?: FieldViolation[],
): FastifyReply {
  return reply.code(status).send({ code, message, ...(details ? { details } : {}) });
}
