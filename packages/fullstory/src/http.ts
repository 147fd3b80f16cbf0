import { type Dispatcher, request, errors as undiciErrors } from 'undici';
import type { z } from 'zod';
import {
  ForbiddenError,
  FullStoryError,
  InvalidRequestError,
  NotFoundError,
  RateLimitedError,
  TransientError,
  UnauthorizedError,
  UnexpectedResponseError,
} from './errors.js';

export interface HttpContext {
  baseUrl: string;
  apiKey: string;
  dispatcher: Dispatcher;
  timeoutMs: number;
  userAgent: string;
}

export interface ApiCall {
  method: 'GET' | 'POST';
  path: string;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  /** What this call is about, for error messages ("segment everyone"). */
  what: string;
  /** Extra request headers (Idempotency-Key). */
  headers?: Record<string, string>;
  /** A 202 means "still processing, ask again later" (batch import listings). */
  acceptedMeansNotReady?: boolean;
}

const DEFAULT_RETRY_AFTER_MS = 10_000;

export function retryAfterMs(header: string | string[] | undefined): number {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return DEFAULT_RETRY_AFTER_MS;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? DEFAULT_RETRY_AFTER_MS : Math.max(0, date - Date.now());
}

/** Turns a network-level failure (reset, refused, timeout) into a TransientError. */
export function networkError(what: string, error: unknown): FullStoryError {
  if (error instanceof FullStoryError) return error;
  const kind =
    error instanceof undiciErrors.HeadersTimeoutError ||
    error instanceof undiciErrors.BodyTimeoutError
      ? 'timed out'
      : 'failed';
  const detail = error instanceof Error ? error.message : String(error);
  return new TransientError(`${what}: request ${kind} (${detail})`, { cause: error });
}

function parseErrorBody(text: string): {
  message: string;
  details: { field: string; description: string }[];
  code?: string;
} {
  try {
    const body = JSON.parse(text) as { message?: unknown; details?: unknown; code?: unknown };
    const details = Array.isArray(body.details)
      ? body.details.filter(
          (d): d is { field: string; description: string } =>
            typeof d?.field === 'string' && typeof d?.description === 'string',
        )
      : [];
    return {
      message: typeof body.message === 'string' ? body.message : text.slice(0, 200),
      details,
      ...(typeof body.code === 'string' ? { code: body.code } : {}),
    };
  } catch {
    return { message: text.slice(0, 200) || 'no details', details: [] };
  }
}

/** Maps a non-2xx status to the error class a caller can act on. */
export function statusError(
  what: string,
  status: number,
  text: string,
  headers: Record<string, string | string[] | undefined>,
) {
  const { message, details, code } = parseErrorBody(text);
  const error = errorForStatus(what, status, message, details, headers);
  error.apiCode = code;
  return error;
}

function errorForStatus(
  what: string,
  status: number,
  message: string,
  details: { field: string; description: string }[],
  headers: Record<string, string | string[] | undefined>,
) {
  if (status === 429) return new RateLimitedError(retryAfterMs(headers['retry-after']));
  if (status === 401) return new UnauthorizedError(message);
  if (status === 403) return new ForbiddenError(message);
  if (status === 404) return new NotFoundError(what);
  if (status >= 500 || status === 408)
    return new TransientError(`${what}: FullStory answered ${status} (${message})`, { status });
  return new InvalidRequestError(`${what}: ${message}`, details);
}

/** One call to FullStory's API: Basic auth, JSON in and out, the body checked against `schema`. */
export async function apiRequest<S extends z.ZodType>(
  ctx: HttpContext,
  call: ApiCall,
  schema: S,
): Promise<z.output<S>> {
  const url = new URL(call.path, `${ctx.baseUrl}/`);
  for (const [name, value] of Object.entries(call.query ?? {})) {
    if (value !== undefined) url.searchParams.set(name, String(value));
  }
  let response: Dispatcher.ResponseData;
  try {
    response = await request(url, {
      method: call.method,
      dispatcher: ctx.dispatcher,
      headersTimeout: ctx.timeoutMs,
      bodyTimeout: ctx.timeoutMs,
      headers: {
        // FullStory documents the raw key after "Basic", not base64 of "user:password".
        authorization: `Basic ${ctx.apiKey}`,
        accept: 'application/json',
        'user-agent': ctx.userAgent,
        ...(call.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...call.headers,
      },
      ...(call.body !== undefined ? { body: JSON.stringify(call.body) } : {}),
    });
  } catch (error) {
    throw networkError(call.what, error);
  }
  let text: string;
  try {
    text = await response.body.text();
  } catch (error) {
    throw networkError(call.what, error);
  }
  if (response.statusCode < 200 || response.statusCode >= 300) {
    throw statusError(call.what, response.statusCode, text, response.headers);
  }
  if (response.statusCode === 202 && call.acceptedMeansNotReady) {
    throw new TransientError(`${call.what}: not ready yet`, { status: 202 });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UnexpectedResponseError(call.what, text, {
      status: response.statusCode,
      cause: error,
    });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new UnexpectedResponseError(call.what, text, {
      status: response.statusCode,
      cause: parsed.error,
    });
  }
  return parsed.data;
}
