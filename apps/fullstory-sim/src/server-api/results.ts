import type { ApiErrorCode, FieldViolation } from '../api-error.js';

/** What a server-API operation answers: a body, or an error FullStory's way. */
export type ApiResult =
  | { ok: true; status: number; body: unknown }
  | {
      ok: false;
      status: number;
      code: ApiErrorCode;
      message: string;
      details?: FieldViolation[];
    };

export const ok = (body: unknown, status = 200): ApiResult => ({ ok: true, status, body });

export const fail = (
  status: number,
  code: ApiErrorCode,
  message: string,
  details?: FieldViolation[],
): ApiResult => ({ ok: false, status, code, message, ...(details ? { details } : {}) });

export function invalid(details: FieldViolation[]): ApiResult {
  const message = details.map((d) => `${d.field || 'body'} ${d.description}`).join('; ');
  return fail(400, 'invalid_argument', message, details);
}
