import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import {
  type ExportRecord,
  type ExportSpec,
  type ExportState,
  TERMINAL_STATES,
} from './export-record.js';
import { firstRequestId, idempotencyValue, requestFingerprint } from './idempotency.js';
import { type Page, pageNewestFirst } from './newest-first.js';

const MERGE = readFileSync(new URL('./merge.lua', import.meta.url), 'utf8');
const IDEMPOTENCY_TTL_S = 7 * 86_400;

type RedisWithMerge = Redis & {
  fsxMergeExport(key: string, patch: string, mode: string): Promise<string | null>;
};

export type ExportPatch = { [K in keyof ExportRecord]?: ExportRecord[K] | null };

export interface NewExport {
  spec: ExportSpec;
  credential: string;
  sink: string;
  idempotencyKey?: string;
  callbackUrl?: string;
  /** A legacy Data Export bundle to download, instead of a segment export to create. */
  bundleId?: string;
  /** The backfill this export is one window of. */
  parentId?: string;
}

/** Export records in Redis: one JSON value per export, and a sorted set indexing them by time. */
export class ExportStore {
  private readonly redis: RedisWithMerge;

  constructor(
    redis: Redis,
    private readonly prefix: string,
  ) {
    this.redis = redis as RedisWithMerge;
    if (!this.redis.fsxMergeExport)
      this.redis.defineCommand('fsxMergeExport', { numberOfKeys: 1, lua: MERGE });
  }

  private key(id: string) {
    return `${this.prefix}:export:${id}`;
  }

  private get indexKey() {
    return `${this.prefix}:exports`;
  }

  private idempotencyKey(key: string, credential: string) {
    return `${this.prefix}:idempotency:${createHash('sha256').update(`${credential}\n${key}`).digest('hex')}`;
  }

  /**
   * Creates a record; with an idempotency key already used, returns the first record instead, or
   * throws IdempotencyKeyReusedError if the key came with a different request.
   */
  async create(input: NewExport): Promise<{ record: ExportRecord; created: boolean }> {
    const id = randomUUID();
    if (input.idempotencyKey) {
      const { idempotencyKey, credential: _c, ...request } = input;
      const fingerprint = requestFingerprint(request);
      const key = this.idempotencyKey(idempotencyKey, input.credential);
      const claimed = await this.redis.set(
        key,
        idempotencyValue(id, fingerprint),
        'EX',
        IDEMPOTENCY_TTL_S,
        'NX',
      );
      if (claimed === null) {
        const stored = await this.redis.get(key);
        const existingId = stored ? firstRequestId(stored, fingerprint, idempotencyKey) : undefined;
        const existing = existingId ? await this.waitFor(existingId) : undefined;
        if (existing) return { record: existing, created: false };
      }
    }
    const now = new Date().toISOString();
    const record: ExportRecord = {
      id,
      state: 'queued',
      stage: 'create',
      step: 0,
      spec: input.spec,
      credential: input.credential,
      sink: input.sink,
      progress: 0,
      polls: 0,
      recreates: 0,
      downloadRestarts: 0,
      createdAt: now,
      updatedAt: now,
      ...(input.callbackUrl ? { callbackUrl: input.callbackUrl } : {}),
      ...(input.parentId ? { parentId: input.parentId } : {}),
      ...(input.bundleId ? { bundleId: input.bundleId, stage: 'download' } : {}),
    };
    // A sequence, not the clock: exports created in the same millisecond still list in order.
    const order = await this.redis.incr(`${this.indexKey}:seq`);
    await this.redis
      .multi()
      .set(this.key(id), JSON.stringify(record))
      .zadd(this.indexKey, order, id)
      .exec();
    return { record, created: true };
  }

  /** A concurrent request with the same idempotency key may still be writing its record. */
  private async waitFor(id: string): Promise<ExportRecord | undefined> {
    for (let i = 0; i < 20; i++) {
      const record = await this.get(id);
      if (record) return record;
      await new Promise((r) => setTimeout(r, 25));
    }
    return undefined;
  }

  async get(id: string): Promise<ExportRecord | undefined> {
    const raw = await this.redis.get(this.key(id));
    return raw ? (JSON.parse(raw) as ExportRecord) : undefined;
  }

  /** Several records in one round trip, in order; missing ones left out. */
  async getMany(ids: readonly string[]): Promise<ExportRecord[]> {
    if (ids.length === 0) return [];
    const raws = await this.redis.mget(ids.map((id) => this.key(id)));
    return raws.filter((raw): raw is string => !!raw).map((raw) => JSON.parse(raw) as ExportRecord);
  }

  /** Merges `patch` unless the export already ended; returns the record as it now is. */
  async update(
    id: string,
    patch: ExportPatch,
    options: { force?: boolean } = {},
  ): Promise<ExportRecord | undefined> {
    const raw = await this.redis.fsxMergeExport(
      this.key(id),
      JSON.stringify({ ...patch, updatedAt: new Date().toISOString() }),
      options.force ? 'force' : 'guarded',
    );
    return raw ? (JSON.parse(raw) as ExportRecord) : undefined;
  }

  /** Newest first. `cursor` is the offset to continue from. */
  list(options: {
    state?: ExportState;
    limit: number;
    cursor?: number;
  }): Promise<Page<ExportRecord>> {
    return pageNewestFirst(
      this.redis,
      this.indexKey,
      options,
      async (ids) =>
        (await this.redis.mget(ids.map((id) => this.key(id)))).map((raw) =>
          raw ? (JSON.parse(raw) as ExportRecord) : undefined,
        ),
      (record) => !options.state || record.state === options.state,
    );
  }

  static isTerminal(record: ExportRecord): boolean {
    return TERMINAL_STATES.includes(record.state);
  }
}
