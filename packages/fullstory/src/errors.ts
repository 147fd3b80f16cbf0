/**
 * Errors from FullStory calls. Each has a stable `code` (check it, not `instanceof`, across package
 * copies), the HTTP `status` when there was one, and `retryable`: whether trying again later can
 * succeed. The client never retries by itself; the caller that can wait decides.
 */
export type FullStoryErrorCode =
  | 'fullstory.rate_limited'
  | 'fullstory.unauthorized'
  | 'fullstory.forbidden'
  | 'fullstory.not_found'
  | 'fullstory.invalid_request'
  | 'fullstory.download_expired'
  | 'fullstory.transient'
  | 'fullstory.unexpected_response'
  | 'fullstory.download_rejected';

export class FullStoryError extends Error {
  readonly code: FullStoryErrorCode;
  readonly status: number | undefined;
  readonly retryable: boolean;
  /** FullStory's own error code from the body (`invalid_argument`, `resource_not_found`), if any. */
  apiCode: string | undefined;

  constructor(
    code: FullStoryErrorCode,
    message: string,
    options: { status?: number; retryable?: boolean; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = options.status;
    this.retryable = options.retryable ?? false;
    this.apiCode = undefined;
  }
}

/** 429: wait `retryAfterMs` (from Retry-After; 10 s when absent, as hauser does). */
export class RateLimitedError extends FullStoryError {
  constructor(
    readonly retryAfterMs: number,
    options: { cause?: unknown } = {},
  ) {
    super('fullstory.rate_limited', `FullStory rate limit hit; retry after ${retryAfterMs} ms`, {
      status: 429,
      retryable: true,
      ...options,
    });
  }
}

export class UnauthorizedError extends FullStoryError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('fullstory.unauthorized', `FullStory rejected the API key: ${message}`, {
      status: 401,
      ...options,
    });
  }
}

export class ForbiddenError extends FullStoryError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(
      'fullstory.forbidden',
      `FullStory refused the request (${message}); the export APIs need an Admin or Architect API key`,
      { status: 403, ...options },
    );
  }
}

export class NotFoundError extends FullStoryError {
  constructor(what: string, options: { cause?: unknown } = {}) {
    super('fullstory.not_found', `${what} not found`, { status: 404, ...options });
  }
}

export interface FieldDetail {
  field: string;
  description: string;
}

export class InvalidRequestError extends FullStoryError {
  constructor(
    message: string,
    readonly details: FieldDetail[] = [],
    options: { cause?: unknown } = {},
  ) {
    super('fullstory.invalid_request', `FullStory rejected the request: ${message}`, {
      status: 400,
      ...options,
    });
  }
}

/** The download URL expired (ExpiredToken): get a fresh one from the results endpoint. */
export class DownloadExpiredError extends FullStoryError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('fullstory.download_expired', `download URL expired: ${message}`, {
      status: 400,
      retryable: true,
      ...options,
    });
  }
}

/** The storage host refused the download for another reason (a bad signature, a bad host). */
export class DownloadRejectedError extends FullStoryError {
  constructor(message: string, options: { status?: number; cause?: unknown } = {}) {
    super('fullstory.download_rejected', `download refused: ${message}`, options);
  }
}

/** 5xx, connection resets, timeouts: the same call may succeed later. */
export class TransientError extends FullStoryError {
  constructor(message: string, options: { status?: number; cause?: unknown } = {}) {
    super('fullstory.transient', message, { retryable: true, ...options });
  }
}

/** A 2xx whose body is not what the API documents. Shows what arrived, shortened. */
export class UnexpectedResponseError extends FullStoryError {
  constructor(
    what: string,
    readonly received: string,
    options: { status?: number; cause?: unknown } = {},
  ) {
    super(
      'fullstory.unexpected_response',
      `unexpected response from ${what}: ${received.slice(0, 500)}`,
      options,
    );
  }
}

export function isFullStoryError(
  error: unknown,
  code?: FullStoryErrorCode,
): error is FullStoryError {
  if (typeof error !== 'object' || error === null) return false;
  const found = (error as { code?: unknown }).code;
  return (
    typeof found === 'string' &&
    found.startsWith('fullstory.') &&
    (code === undefined || found === code)
  );
}
