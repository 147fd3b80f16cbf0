import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  firstRequestId,
  idempotencyValue,
  type Page,
  pageNewestFirst,
  requestFingerprint,
} from '@fsx/pipeline';
import type { Redis } from 'ioredis';
import type { SendKind } from './items.js';

const script = (name: string) => readFileSync(new URL(`./${name}.lua`, import.meta.url), 'utf8');
const SCRIPTS = {
  fsxCreateSend: { keys: 7, lua: script('create-send') },
  fsxTakeBatch: { keys: 3, lua: script('take-batch') },
  fsxRecordOutcomes: { keys: 4, lua: script('record-outcomes') },
  fsxCreateBatch: { keys: 2, lua: script('create-batch') },
} as const;
type Scripts = { [K in keyof typeof SCRIPTS]: (...args: (string | number)[]) => Promise<unknown> };

const IDEMPOTENCY_TTL_S = 7 * 86_400;
/** A finished send's record stays readable this long. */
const FINISHED_TTL_S = 7 * 86_400;
const MAX_LISTED_FAILURES = 1_000;

/** An item of a send: which send, and its position in the request. */
export interface ItemRef {
  sendId: string;
  index: number;
}

export interface ItemFailure {
  code: string;
  message: string;
}

export interface Batch {
  id: string;
  kind: SendKind;
  credential: string;
  refs: ItemRef[];
  /** `import`: one batch import; `single`: one call per item. */
  mode: 'import' | 'single';
  attempt: number;
  state: 'open' | 'settled';
  /** The batch import's id at FullStory, once created. */
  importId?: string;
  polls: number;
}

/** What a listing shows of a send. */
export type SendSummary = Omit<SendView, 'failures'>;

export const SEND_STATES = ['queued', 'sending', 'completed', 'partial', 'failed'] as const;

export interface SendView {
  id: string;
  kind: SendKind;
  state: (typeof SEND_STATES)[number];
  items: number;
  sent: number;
  failed: number;
  pending: number;
  failures: ({ index: number } & ItemFailure)[];
  createdAt: string;
  finishedAt: string | null;
}

export const parseRef = (ref: string): ItemRef => {
  const at = ref.lastIndexOf('|');
  return { sendId: ref.slice(0, at), index: Number(ref.slice(at + 1)) };
};
const formatRef = (ref: ItemRef) => `${ref.sendId}|${ref.index}`;

/**
 * Sends in Redis: each accepted request (its items, their outcomes), the queue of items waiting
 * for a batch, and the batches. Items live here, not in job data, so Bull Board shows none.
 */
export class SendStore {
  private readonly redis: Redis & Scripts;

  constructor(
    redis: Redis,
    private readonly prefix: string,
  ) {
    this.redis = redis as Redis & Scripts;
    for (const [name, { keys, lua }] of Object.entries(SCRIPTS))
      if (!(name in this.redis)) this.redis.defineCommand(name, { numberOfKeys: keys, lua });
  }

  private key(...parts: string[]) {
    return [this.prefix, ...parts].join(':');
  }
  private sendKeys(id: string) {
    // Not `send:`: that is the BullMQ queue's own namespace.
    const base = this.key('sendrec', id);
    return [base, `${base}:outcome`, `${base}:failures`, `${base}:items`] as const;
  }
  pendingKey(credential: string, kind: SendKind) {
    return this.key(
      'sendq',
      createHash('sha256').update(credential).digest('hex').slice(0, 16),
      kind,
    );
  }
  private get pendingIndexKey() {
    return this.key('sendq-index');
  }
  private get sendIndexKey() {
    return this.key('sendrec-index');
  }
  private batchKey(id: string) {
    return this.key('sendbatch', id);
  }
  /** Batches not yet settled, by when they were made: what a sweep checks on. */
  private get openBatchesKey() {
    return this.key('sendbatch-open');
  }

  /**
   * Records a send and queues its items atomically. A repeated idempotency key returns the first
   * send, or throws IdempotencyKeyReusedError if it came with other items.
   */
  async create(input: {
    kind: SendKind;
    credential: string;
    items: readonly unknown[];
    idempotencyKey?: string;
  }): Promise<{ id: string; created: boolean }> {
    const id = randomUUID();
    const [send, , , items] = this.sendKeys(id);
    const fingerprint = requestFingerprint(input.items);
    const idemKey = this.key(
      'send-idem',
      createHash('sha256')
        .update(`${input.credential}\n${input.kind}\n${input.idempotencyKey ?? ''}`)
        .digest('hex'),
    );
    const result = (await this.redis.fsxCreateSend(
      send,
      items,
      this.pendingKey(input.credential, input.kind),
      idemKey,
      this.pendingIndexKey,
      this.sendIndexKey,
      `${this.sendIndexKey}:seq`,
      id,
      input.kind,
      input.credential,
      new Date().toISOString(),
      IDEMPOTENCY_TTL_S,
      input.idempotencyKey ? '1' : '0',
      input.items.length,
      JSON.stringify([input.credential, input.kind]),
      idempotencyValue(id, fingerprint),
      ...input.items.map((item) => JSON.stringify(item)),
    )) as string;
    if (result === id) return { id, created: true };
    return {
      id: firstRequestId(result, fingerprint, input.idempotencyKey ?? ''),
      created: false,
    };
  }

  /** Every credential and kind that has had items queued: what a sweep looks at. */
  async pendingQueues(): Promise<{ credential: string; kind: SendKind }[]> {
    const members = await this.redis.smembers(this.pendingIndexKey);
    return members.map((m) => {
      const [credential, kind] = JSON.parse(m) as [string, SendKind];
      return { credential, kind };
    });
  }

  async pendingCount(credential: string, kind: SendKind): Promise<number> {
    return this.redis.llen(this.pendingKey(credential, kind));
  }

  /** Moves up to `max` queued items into batch `batchId`; returns how many it holds (0: none). */
  async takeBatch(
    batchId: string,
    input: { credential: string; kind: SendKind; max: number; importThreshold: number },
  ): Promise<number> {
    const now = new Date();
    return Number(
      await this.redis.fsxTakeBatch(
        this.pendingKey(input.credential, input.kind),
        this.batchKey(batchId),
        this.openBatchesKey,
        input.max,
        input.kind,
        input.credential,
        now.toISOString(),
        input.importThreshold,
        now.getTime(),
        batchId,
      ),
    );
  }

  /** Creates a batch of given items unless it exists; false when it already did. */
  async createBatch(
    batchId: string,
    batch: Pick<Batch, 'kind' | 'credential' | 'refs' | 'mode' | 'attempt'>,
  ): Promise<boolean> {
    const now = new Date();
    const made = await this.redis.fsxCreateBatch(
      this.batchKey(batchId),
      this.openBatchesKey,
      batch.kind,
      batch.credential,
      now.toISOString(),
      JSON.stringify(batch.refs.map(formatRef)),
      batch.refs.length,
      batch.mode,
      batch.attempt,
      now.getTime(),
      batchId,
    );
    return Number(made) === 1;
  }

  async getBatch(batchId: string): Promise<Batch | undefined> {
    const raw = await this.redis.hgetall(this.batchKey(batchId));
    if (!raw.refs) return undefined;
    return {
      id: batchId,
      kind: raw.kind as SendKind,
      credential: raw.credential ?? '',
      refs: (JSON.parse(raw.refs) as string[]).map(parseRef),
      mode: raw.mode === 'import' ? 'import' : 'single',
      attempt: Number(raw.attempt ?? 1),
      state: raw.state === 'settled' ? 'settled' : 'open',
      ...(raw.importId ? { importId: raw.importId } : {}),
      polls: Number(raw.polls ?? 0),
    };
  }

  async updateBatch(
    batchId: string,
    patch: Partial<Pick<Batch, 'mode' | 'state' | 'importId' | 'polls'>>,
  ): Promise<void> {
    const key = this.batchKey(batchId);
    if (patch.state !== 'settled') {
      await this.redis.hset(key, patch as Record<string, string | number>);
      return;
    }
    await this.redis
      .multi()
      .hset(key, patch as Record<string, string | number>)
      .expire(key, FINISHED_TTL_S)
      .zrem(this.openBatchesKey, batchId)
      .exec();
  }

  /** The oldest `limit` batches not yet settled (their ids). */
  openBatchIds(limit: number): Promise<string[]> {
    return this.redis.zrange(this.openBatchesKey, 0, limit - 1);
  }

  /** Drops a batch from the open ones (it is settled, or its record expired). */
  async forgetOpenBatch(batchId: string): Promise<void> {
    await this.redis.zrem(this.openBatchesKey, batchId);
  }

  /** The items of `refs`, in order; an item whose send expired comes back undefined. */
  async items(refs: readonly ItemRef[]): Promise<(unknown | undefined)[]> {
    const pipeline = this.redis.pipeline();
    for (const ref of refs) pipeline.hget(this.sendKeys(ref.sendId)[3], String(ref.index));
    const results = (await pipeline.exec()) ?? [];
    return results.map(([error, value]) =>
      error || typeof value !== 'string' ? undefined : JSON.parse(value),
    );
  }

  /** Which of `refs` already have an outcome (sent or failed). */
  async settled(refs: readonly ItemRef[]): Promise<boolean[]> {
    const pipeline = this.redis.pipeline();
    for (const ref of refs) pipeline.hexists(this.sendKeys(ref.sendId)[1], String(ref.index));
    const results = (await pipeline.exec()) ?? [];
    return results.map(([, value]) => value === 1);
  }

  /**
   * Records outcomes (undefined = sent) once per item. Returns how many items newly counted as
   * sent and failed, and which sends this finished.
   */
  async recordOutcomes(
    outcomes: readonly { ref: ItemRef; failure?: ItemFailure }[],
  ): Promise<{ sent: number; failed: number; finished: string[] }> {
    const bySend = new Map<string, (string | number)[]>();
    for (const { ref, failure } of outcomes) {
      const args = bySend.get(ref.sendId) ?? [];
      args.push(ref.index, failure ? JSON.stringify(failure) : '');
      bySend.set(ref.sendId, args);
    }
    const now = new Date().toISOString();
    const totals = { sent: 0, failed: 0, finished: [] as string[] };
    await Promise.all(
      [...bySend].map(async ([sendId, args]) => {
        const [sent, failed, finished] = (await this.redis.fsxRecordOutcomes(
          ...this.sendKeys(sendId),
          now,
          FINISHED_TTL_S,
          ...args,
        )) as [number, number, number];
        totals.sent += sent;
        totals.failed += failed;
        if (finished) totals.finished.push(sendId);
      }),
    );
    return totals;
  }

  async view(id: string): Promise<SendView | undefined> {
    const [sendKey, , failuresKey] = this.sendKeys(id);
    const [raw, failures] = await Promise.all([
      this.redis.hgetall(sendKey),
      this.redis.hgetall(failuresKey),
    ]);
    const summary = summarize(raw);
    if (!summary) return undefined;
    return {
      ...summary,
      failures: Object.entries(failures)
        .map(([index, json]) => ({ index: Number(index), ...(JSON.parse(json) as ItemFailure) }))
        .sort((a, b) => a.index - b.index)
        .slice(0, MAX_LISTED_FAILURES),
    };
  }

  /**
   * Sends, newest first, without their failures (`view` has them); `cursor` is the offset to
   * continue from. A finished send drops out when its record expires.
   */
  list(options: {
    state?: SendView['state'];
    kind?: SendKind;
    limit: number;
    cursor?: number;
  }): Promise<Page<SendSummary>> {
    return pageNewestFirst(
      this.redis,
      this.sendIndexKey,
      options,
      async (ids) => {
        const pipeline = this.redis.pipeline();
        for (const id of ids) pipeline.hgetall(this.sendKeys(id)[0]);
        const results = (await pipeline.exec()) ?? [];
        return results.map(([, raw]) => summarize(raw as Record<string, string>));
      },
      (send) =>
        (!options.state || send.state === options.state) &&
        (!options.kind || send.kind === options.kind),
      async (expired) => {
        await this.redis.zrem(this.sendIndexKey, ...expired);
      },
    );
  }
}

/** A send's counts and state from its hash; undefined when it is gone. */
function summarize(raw: Record<string, string> | null | undefined): SendSummary | undefined {
  if (!raw?.id) return undefined;
  const items = Number(raw.total);
  const sent = Number(raw.sent);
  const failed = Number(raw.failed);
  const pending = items - sent - failed;
  const state =
    pending > 0
      ? sent + failed > 0
        ? 'sending'
        : 'queued'
      : failed === 0
        ? 'completed'
        : sent === 0
          ? 'failed'
          : 'partial';
  return {
    id: raw.id,
    kind: raw.kind as SendKind,
    state,
    items,
    sent,
    failed,
    pending,
    createdAt: raw.createdAt ?? '',
    finishedAt: raw.finishedAt ?? null,
  };
}
