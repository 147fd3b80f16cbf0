import { randomBytes } from 'node:crypto';
import { isObject } from './properties.js';
import { type ApiResult, fail, invalid, ok } from './results.js';
import type { ServerData } from './users.js';

export type BatchKind = 'users' | 'events';

/** FullStory's documented limits on batch imports. */
export const BATCH_LIMITS = { maxRequests: 50_000, maxInProgress: 200 } as const;

interface BatchError {
  message: string;
  code: string;
  user?: unknown;
  event?: unknown;
}

interface SimBatch {
  id: string;
  kind: BatchKind;
  requests: unknown[];
  createdAtMs: number;
  dueAtMs: number;
  status: 'PROCESSING' | 'COMPLETED' | 'FAILED';
  finishedAtMs?: number;
  imports: unknown[];
  errors: BatchError[];
}

export interface BatchOptions {
  /** How long a batch of `n` requests takes to process. */
  durationMs(n: number): number;
  /** Whether one request of a batch fails with a retryable server error (a fault). */
  itemFails(): boolean;
}

function page<T>(items: T[], query: { page_token?: string; page_size?: string }) {
  const offset = Number(query.page_token ?? 0) || 0;
  const size = Math.min(1000, Math.max(1, Number(query.page_size ?? 100) || 100));
  return {
    results: items.slice(offset, offset + size),
    ...(offset + size < items.length ? { next_page_token: String(offset + size) } : {}),
  };
}

/**
 * Batch imports of users or events: created PROCESSING, applied once their time has come (a
 * request at a time, through the same rules as the single endpoints), then COMPLETED, or FAILED
 * when any request failed; the failures are listed with the request they belong to.
 */
export class BatchJobs {
  private readonly batches = new Map<string, SimBatch>();
  private counter = 0;

  constructor(
    private readonly data: ServerData,
    private readonly options: BatchOptions,
  ) {}

  create(kind: BatchKind, body: unknown, nowMs: number): ApiResult {
    this.settle(nowMs);
    const requests = isObject(body) ? body.requests : undefined;
    if (!Array.isArray(requests) || requests.length === 0)
      return invalid([{ field: 'requests', description: 'must be a non-empty array' }]);
    if (requests.length > BATCH_LIMITS.maxRequests)
      return invalid([
        { field: 'requests', description: `must hold at most ${BATCH_LIMITS.maxRequests}` },
      ]);
    const inProgress = [...this.batches.values()].filter((b) => b.status === 'PROCESSING');
    if (inProgress.length >= BATCH_LIMITS.maxInProgress)
      return fail(429, 'too_many_requests', 'too many batch imports in progress');
    this.counter += 1;
    const batch: SimBatch = {
      id: `otpo${this.counter}_${randomBytes(6).toString('base64url')}`,
      kind,
      requests,
      createdAtMs: nowMs,
      dueAtMs: nowMs + this.options.durationMs(requests.length),
      status: 'PROCESSING',
      imports: [],
      errors: [],
    };
    this.batches.set(batch.id, batch);
    return ok({ job: jobView(batch) });
  }

  /** Applies every batch whose processing time has passed. */
  settle(nowMs: number): void {
    for (const batch of this.batches.values()) {
      if (batch.status !== 'PROCESSING' || batch.dueAtMs > nowMs) continue;
      for (const request of batch.requests) this.applyOne(batch, request);
      batch.status = batch.errors.length > 0 ? 'FAILED' : 'COMPLETED';
      batch.finishedAtMs = batch.dueAtMs;
    }
  }

  private applyOne(batch: SimBatch, request: unknown): void {
    const echo = batch.kind === 'users' ? { user: request } : { event: request };
    if (this.options.itemFails()) {
      batch.errors.push({
        message: 'internal error; retry the request',
        code: 'server_error',
        ...echo,
      });
      return;
    }
    const result =
      batch.kind === 'users' ? this.data.upsertUser(request) : this.data.createEvent(request);
    if (!result.ok) batch.errors.push({ message: result.message, code: result.code, ...echo });
    else if (batch.kind === 'users')
      batch.imports.push({ ...(request as object), id: (result.body as { id: string }).id });
    else batch.imports.push(request);
  }

  private find(kind: BatchKind, id: string, nowMs: number): SimBatch | undefined {
    this.settle(nowMs);
    const batch = this.batches.get(id);
    return batch?.kind === kind ? batch : undefined;
  }

  status(kind: BatchKind, id: string, nowMs: number): ApiResult {
    const batch = this.find(kind, id, nowMs);
    if (!batch) return fail(404, 'resource_not_found', 'batch job not found');
    return ok({ imports: batch.imports.length, errors: batch.errors.length, job: jobView(batch) });
  }

  /** Errors or imports, a page at a time; 202 while the batch is still processing. */
  listing(
    kind: BatchKind,
    id: string,
    which: 'errors' | 'imports',
    query: { page_token?: string; page_size?: string },
    nowMs: number,
  ): ApiResult {
    const batch = this.find(kind, id, nowMs);
    if (!batch) return fail(404, 'resource_not_found', 'batch job not found');
    if (batch.status === 'PROCESSING') return ok({ results: [] }, 202);
    return ok(page(batch[which] as unknown[], query));
  }
}

function jobView(batch: SimBatch) {
  return {
    id: batch.id,
    status: batch.status,
    created: new Date(batch.createdAtMs).toISOString(),
    ...(batch.finishedAtMs ? { finished: new Date(batch.finishedAtMs).toISOString() } : {}),
  };
}
