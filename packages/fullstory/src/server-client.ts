import { z } from 'zod';
import { type FullStoryClientOptions, httpContext } from './client.js';
import { apiRequest, type HttpContext } from './http.js';
import {
  batchErrorPageSchema,
  batchStatusSchema,
  createBatchResponseSchema,
  type V2UserRecord,
  v2UserIdSchema,
  v2UserPageSchema,
  v2UserSchema,
} from './server-schemas.js';

type Properties = Record<string, unknown>;
/** A declared type per property, for values FullStory would otherwise infer differently. */
type Schema = { properties?: Record<string, string> };

/** `POST /v2/users`: identified by `uid` (an upsert), or anonymous without one. */
export interface V2User {
  uid?: string;
  display_name?: string;
  email?: string;
  properties?: Properties;
  schema?: Schema;
}

/** `POST /v2/events`: a custom event, tied to a user or a session. */
export interface V2Event {
  name: string;
  timestamp?: string;
  properties?: Properties;
  schema?: Schema;
  user?: { uid: string } | { id: string };
  session?: { id: string } | { use_most_recent: true };
  context?: Record<string, unknown>;
}

export type BatchKind = 'users' | 'events';

export interface BatchJob {
  id: string;
  status: 'PROCESSING' | 'COMPLETED' | 'FAILED';
  created?: string | undefined;
  finished?: string | undefined;
  imports: number;
  errors: number;
}

/** One request of a batch that FullStory could not apply, with the request it echoed back. */
export interface BatchItemError {
  code: string;
  message: string;
  request: unknown;
}

/** Item error codes where sending the same request again can succeed. */
const RETRYABLE_ITEM_CODES = new Set([
  'server_error',
  'service_unavailable',
  'too_many_requests',
  'internal',
  'unavailable',
  'deadline_exceeded',
]);

export function isRetryableItemCode(code: string): boolean {
  return RETRYABLE_ITEM_CODES.has(code);
}

interface WriteOptions {
  /** FullStory acts once per key: a retried call after a lost answer changes nothing twice. */
  idempotencyKey?: string;
}

const emptySchema = z.unknown();

/**
 * A typed client for FullStory's v2 server API (users, custom events, batch imports). Like the
 * export client: one HTTP call per method, no retries, typed errors that say whether to retry.
 */
export class FullStoryServerClient {
  private readonly http: HttpContext;

  constructor(options: FullStoryClientOptions) {
    this.http = httpContext(options);
  }

  private write<S extends z.ZodType>(
    path: string,
    body: unknown,
    what: string,
    schema: S,
    options: WriteOptions,
  ) {
    return apiRequest(
      this.http,
      {
        method: 'POST',
        path,
        body,
        what,
        ...(options.idempotencyKey
          ? { headers: { 'idempotency-key': options.idempotencyKey } }
          : {}),
      },
      schema,
    );
  }

  /** Creates or updates a user; returns FullStory's id for it. */
  upsertUser(user: V2User, options: WriteOptions = {}): Promise<{ id: string }> {
    return this.write(
      '/v2/users',
      user,
      `user ${user.uid ?? '(anonymous)'}`,
      v2UserIdSchema,
      options,
    );
  }

  /** Updates the user with FullStory id `id`; a uid once set cannot change (400). */
  updateUser(id: string, user: V2User, options: WriteOptions = {}): Promise<{ id: string }> {
    return this.write(
      `/v2/users/${encodeURIComponent(id)}`,
      user,
      `user ${id}`,
      v2UserIdSchema,
      options,
    );
  }

  getUser(id: string): Promise<V2UserRecord> {
    return apiRequest(
      this.http,
      { method: 'GET', path: `/v2/users/${encodeURIComponent(id)}`, what: `user ${id}` },
      v2UserSchema,
    );
  }

  async findUserByUid(uid: string): Promise<V2UserRecord | undefined> {
    const page = await apiRequest(
      this.http,
      { method: 'GET', path: '/v2/users', query: { uid }, what: `user ${uid}` },
      v2UserPageSchema,
    );
    return page.results[0];
  }

  async sendEvent(event: V2Event, options: WriteOptions = {}): Promise<void> {
    await this.write('/v2/events', event, `event ${event.name}`, emptySchema, options);
  }

  /** Starts a batch import of up to 50,000 user or event requests. */
  async createBatchImport(
    kind: BatchKind,
    requests: readonly unknown[],
    options: WriteOptions = {},
  ): Promise<BatchJob> {
    const { job } = await this.write(
      `/v2/${kind}/batch`,
      { requests },
      `batch import of ${requests.length} ${kind}`,
      createBatchResponseSchema,
      options,
    );
    return { ...job, imports: 0, errors: 0 };
  }

  async getBatchImport(kind: BatchKind, jobId: string): Promise<BatchJob> {
    const status = await apiRequest(
      this.http,
      {
        method: 'GET',
        path: `/v2/${kind}/batch/${encodeURIComponent(jobId)}`,
        what: `batch import ${jobId}`,
      },
      batchStatusSchema,
    );
    return { ...status.job, imports: status.imports, errors: status.errors };
  }

  /**
   * Every failed request of a finished batch, page by page. Each page's call goes through
   * `callPage`, where a caller can take a rate-limit token and handle a 429 as it does any call.
   */
  async listBatchErrors(
    kind: BatchKind,
    jobId: string,
    callPage: <T>(call: () => Promise<T>) => Promise<T> = (call) => call(),
  ): Promise<BatchItemError[]> {
    const all: BatchItemError[] = [];
    let pageToken: string | undefined;
    do {
      const page = await callPage(() =>
        apiRequest(
          this.http,
          {
            method: 'GET',
            path: `/v2/${kind}/batch/${encodeURIComponent(jobId)}/errors`,
            query: { page_token: pageToken, page_size: 1000 },
            what: `errors of batch import ${jobId}`,
            acceptedMeansNotReady: true,
          },
          batchErrorPageSchema,
        ),
      );
      for (const e of page.results)
        all.push({
          code: e.code,
          message: e.message,
          request: kind === 'users' ? e.user : e.event,
        });
      pageToken = page.next_page_token;
    } while (pageToken);
    return all;
  }
}
