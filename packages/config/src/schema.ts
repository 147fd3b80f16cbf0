import path from 'node:path';
import { z } from 'zod';
import { type Credentials, DEFAULT_CREDENTIAL, parseCredentialList } from './credentials.js';
import {
  booleanFlag,
  commaList,
  logLevel,
  port,
  positiveInt,
  positiveNumber,
  url,
} from './env-types.js';
import { MIB_PER_LOAD_THREAD, sizeBytes } from './size.js';

/** Jobs a worker process runs at once. */
export const DEFAULT_WORKER_CONCURRENCY = 4;

export const SINK_KINDS = ['duckdb', 'postgres', 'files'] as const;
export type SinkKind = (typeof SINK_KINDS)[number];

/** Every environment variable fsx reads, in one place. */
export const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: logLevel,
  REDIS_URL: url(['redis:', 'rediss:']).default('redis://127.0.0.1:6379'),
  /** BullMQ prefix; the braces are a Redis Cluster hash tag so every queue key lands on one slot. */
  QUEUE_PREFIX: z
    .string()
    .regex(/^\{[A-Za-z0-9_-]+\}$/, 'must be a hash tag like {fsx}')
    .default('{fsx}'),
  FULLSTORY_BASE_URL: url(['https:', 'http:']).default('https://api.fullstory.com'),
  FULLSTORY_API_KEY: z.string().min(1, 'must not be empty').optional(),
  FULLSTORY_CREDENTIALS: z.string().default('').transform(parseCredentialList),
  FULLSTORY_REQUEST_TIMEOUT_MS: positiveInt(30_000),
  /**
   * Hosts download locations may point at (comma-separated), over https; `http://host:port`
   * allows plain http to that one. FullStory's storage host by default.
   */
  FULLSTORY_DOWNLOAD_HOSTS: commaList.default(['storage.googleapis.com']),
  QUOTA_BURST: positiveInt(50),
  QUOTA_PER_MINUTE: positiveNumber(2),
  /**
   * Tokens starting a new export leaves for polls and fetches of running ones: under a backlog,
   * completion is seen sooner, for more polls per export (bench/quota). Off by default.
   */
  QUOTA_CREATE_RESERVE: z.coerce.number().int().min(0).default(0),
  /** The v2 server API's own quota (users, events): 1000 requests a minute per key. */
  SERVER_QUOTA_BURST: positiveInt(100),
  SERVER_QUOTA_PER_MINUTE: positiveNumber(1000),
  /** Most items in one batch import (FullStory allows 50,000). */
  SEND_BATCH_MAX: z.coerce.number().int().min(1).max(50_000).default(5_000),
  /** From this many queued items on, a batch import; below it, one call per item. */
  SEND_IMPORT_THRESHOLD: positiveInt(10),
  /** How long queued items wait for others to join their batch. */
  SEND_GATHER_MS: z.coerce.number().int().min(0).default(250),
  /** Tries per item when FullStory reports a retryable failure for it. */
  SEND_MAX_ITEM_ATTEMPTS: positiveInt(5),
  /** How often leftover queued items are swept into a batch (a flush that gave up). */
  SEND_SWEEP_MS: positiveInt(30_000),
  SEND_POLL_MIN_DELAY_MS: positiveInt(1_000),
  SEND_POLL_MAX_DELAY_MS: positiveInt(60_000),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: port(3000),
  WORKER_CONCURRENCY: positiveInt(DEFAULT_WORKER_CONCURRENCY),
  /** How long a worker's claim on a job lasts without renewal; a killed worker's job is retried after it. */
  WORKER_LOCK_DURATION_MS: positiveInt(30_000),
  WORKER_STALLED_INTERVAL_MS: positiveInt(30_000),
  /** libuv's thread pool, sized by Node at start from this variable: fsx only checks it. */
  UV_THREADPOOL_SIZE: positiveInt(4),
  DATA_DIR: z.string().min(1).default('./data'),
  STAGING_DIR: z.string().min(1).optional(),
  DUCKDB_PATH: z.string().min(1).optional(),
  DEFAULT_SINK: z
    .enum(SINK_KINDS, { message: `must be one of ${SINK_KINDS.join(', ')}` })
    .default('duckdb'),
  DATABASE_URL: url(['postgres:', 'postgresql:']).optional(),
  /** DuckDB's memory cap while loading (every sink reads through DuckDB); it spills past it. */
  DUCKDB_MEMORY_LIMIT: z
    .string()
    .regex(/^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i, {
      message: 'must look like 256MB or 2GB',
      // zod runs the refinement below on a value this refused, and sizeBytes would throw.
      abort: true,
    })
    // At least one load thread's worth: at 64MB every format ran out of memory on every load,
    // so every export would fail.
    .refine(
      (size) => sizeBytes(size) >= MIB_PER_LOAD_THREAD * 2 ** 20,
      `must be at least ${MIB_PER_LOAD_THREAD}MiB, what one DuckDB load thread needs`,
    )
    .default('256MB'),
  /** DuckDB's threads while loading; unset, one per core, as many as the memory limit feeds. */
  DUCKDB_THREADS: z.coerce
    .number({ message: 'must be a number' })
    .int('must be a whole number')
    .positive('must be greater than 0')
    .optional(),
  /**
   * How long one ingest attempt waits for another process's lock on the DuckDB file (someone
   * querying it) before the export steps back and waits as a delayed job.
   */
  DUCKDB_LOCK_WAIT_MS: z.coerce.number().int().min(0).default(30_000),
  /**
   * How long a PostgreSQL load waits for a table lock another session holds (an analyst's open
   * transaction) before it steps back and waits as a delayed job. Short: while fsx's ALTER TABLE
   * waits for its lock, every later reader of the table queues behind it.
   */
  POSTGRES_LOCK_TIMEOUT_MS: z.coerce.number().int().positive().default(2_000),
  /** Where fields FullStory starts sending go: their own columns, or one JSON `extras` column. */
  SINK_NEW_FIELDS: z
    .enum(['columns', 'extras'], { message: 'must be columns or extras' })
    .default('columns'),
  FILES_DIR: z.string().min(1).optional(),
  FILES_FORMAT: z
    .enum(['parquet', 'ndjson'], { message: 'must be parquet or ndjson' })
    .default('parquet'),
  POLL_MIN_DELAY_MS: positiveInt(2_000),
  POLL_MAX_DELAY_MS: positiveInt(5 * 60_000),
  /** The first poll's delay until this credential's typical operation time has been learned. */
  POLL_FIRST_DELAY_MS: positiveInt(30_000),
  EXPORT_MAX_RECREATES: z.coerce.number().int().min(0).default(2),
  INTAKE_PUBLIC_URL: url(['https:', 'http:']).optional(),
  /** Bearer tokens for the intake API and Bull Board (comma-separated). Required off loopback. */
  INTAKE_API_TOKENS: commaList
    .refine(
      (tokens) => tokens.every((t) => t.length >= 16),
      'every token must be at least 16 characters',
    )
    .default([]),
  INTAKE_RATE_LIMIT_PER_MINUTE: positiveInt(600),
  /** Shared secret of the FullStory webhook endpoint; unset disables /v1/webhooks/fullstory. */
  FULLSTORY_WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  WEBHOOK_REPLAY_WINDOW_SECONDS: positiveInt(300),
  /** Signs completion callbacks (Fsx-Signature); unset refuses exports with a callbackUrl. */
  CALLBACK_SIGNING_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  WEBHOOK_ALERT_EXPORT_TYPE: z.enum(['events', 'individuals']).default('events'),
  WEBHOOK_ALERT_EXPORT_FORMAT: z.enum(['json', 'ndjson', 'csv']).default('ndjson'),
  EXPORT_MAX_SPAN_DAYS: positiveInt(92),
  DOWNLOAD_MAX_BYTES: positiveInt(20 * 1024 ** 3),
  DOWNLOAD_MAX_DECOMPRESSED_BYTES: positiveInt(200 * 1024 ** 3),
  /**
   * Stage each export's text for ingest beside its gzip, not the gzip alone: about ten times the
   * disk until ingest removes both, for an ingest that need not inflate the file again.
   */
  STAGE_TEXT: booleanFlag(true),
  PRETTY_LOGS: booleanFlag(false),
});

export type Env = z.input<typeof envSchema>;

export interface FsxConfig {
  env: 'development' | 'production' | 'test';
  logLevel: z.infer<typeof logLevel>;
  prettyLogs: boolean;
  redis: { url: string; prefix: string };
  fullstory: {
    baseUrl: string;
    credentials: Credentials;
    requestTimeoutMs: number;
    downloadHosts: string[];
    quota: { burst: number; perMinute: number };
  };
  sends: {
    quota: { burst: number; perMinute: number };
    batchMax: number;
    importThreshold: number;
    gatherMs: number;
    maxItemAttempts: number;
    sweepMs: number;
    pollMinDelayMs: number;
    pollMaxDelayMs: number;
  };
  intake: {
    host: string;
    port: number;
    publicUrl: string;
    apiTokens: string[];
    rateLimitPerMinute: number;
    maxSpanDays: number;
  };
  downloads: { maxBytes: number; maxDecompressedBytes: number; stageText: boolean };
  webhooks: {
    secret?: string;
    callbackSecret?: string;
    replayWindowSeconds: number;
    alertExport: { type: 'events' | 'individuals'; format: 'json' | 'ndjson' | 'csv' };
  };
  workers: {
    concurrency: number;
    lockDurationMs: number;
    stalledIntervalMs: number;
    /** libuv's thread pool in this process (see threadPoolSizeFor). */
    threadPoolSize: number;
  };
  pipeline: {
    pollMinDelayMs: number;
    pollMaxDelayMs: number;
    maxRecreates: number;
    createReserve: number;
    pollFirstDelayMs: number;
  };
  /** `tempDir`: where in-memory DuckDB spills past its memory limit (under DATA_DIR, writable). */
  storage: { dataDir: string; stagingDir: string; tempDir: string };
  sinks: {
    default: SinkKind;
    duckdbPath: string;
    duckdbMemoryLimit: string;
    duckdbThreads?: number;
    duckdbLockWaitMs: number;
    postgresUrl?: string;
    postgresLockTimeoutMs: number;
    filesDir: string;
    filesFormat: 'parquet' | 'ndjson';
    newFields: 'columns' | 'extras';
  };
}

export const configSchema = envSchema
  .transform((env): FsxConfig => {
    const credentials = {
      ...(env.FULLSTORY_API_KEY ? { [DEFAULT_CREDENTIAL]: env.FULLSTORY_API_KEY } : {}),
      ...env.FULLSTORY_CREDENTIALS,
    };
    const dataDir = path.resolve(env.DATA_DIR);
    return {
      env: env.NODE_ENV,
      logLevel: env.LOG_LEVEL,
      prettyLogs: env.PRETTY_LOGS,
      redis: { url: env.REDIS_URL, prefix: env.QUEUE_PREFIX },
      fullstory: {
        baseUrl: env.FULLSTORY_BASE_URL.replace(/\/+$/, ''),
        credentials,
        requestTimeoutMs: env.FULLSTORY_REQUEST_TIMEOUT_MS,
        downloadHosts: env.FULLSTORY_DOWNLOAD_HOSTS,
        quota: { burst: env.QUOTA_BURST, perMinute: env.QUOTA_PER_MINUTE },
      },
      sends: {
        quota: { burst: env.SERVER_QUOTA_BURST, perMinute: env.SERVER_QUOTA_PER_MINUTE },
        batchMax: env.SEND_BATCH_MAX,
        importThreshold: env.SEND_IMPORT_THRESHOLD,
        gatherMs: env.SEND_GATHER_MS,
        maxItemAttempts: env.SEND_MAX_ITEM_ATTEMPTS,
        sweepMs: env.SEND_SWEEP_MS,
        pollMinDelayMs: env.SEND_POLL_MIN_DELAY_MS,
        pollMaxDelayMs: env.SEND_POLL_MAX_DELAY_MS,
      },
      intake: {
        host: env.HOST,
        port: env.PORT,
        publicUrl: env.INTAKE_PUBLIC_URL ?? `http://${env.HOST}:${env.PORT}`,
        apiTokens: env.INTAKE_API_TOKENS,
        rateLimitPerMinute: env.INTAKE_RATE_LIMIT_PER_MINUTE,
        maxSpanDays: env.EXPORT_MAX_SPAN_DAYS,
      },
      webhooks: {
        ...(env.FULLSTORY_WEBHOOK_SECRET ? { secret: env.FULLSTORY_WEBHOOK_SECRET } : {}),
        ...(env.CALLBACK_SIGNING_SECRET ? { callbackSecret: env.CALLBACK_SIGNING_SECRET } : {}),
        replayWindowSeconds: env.WEBHOOK_REPLAY_WINDOW_SECONDS,
        alertExport: {
          type: env.WEBHOOK_ALERT_EXPORT_TYPE,
          format: env.WEBHOOK_ALERT_EXPORT_FORMAT,
        },
      },
      downloads: {
        maxBytes: env.DOWNLOAD_MAX_BYTES,
        maxDecompressedBytes: env.DOWNLOAD_MAX_DECOMPRESSED_BYTES,
        stageText: env.STAGE_TEXT,
      },
      workers: {
        concurrency: env.WORKER_CONCURRENCY,
        lockDurationMs: env.WORKER_LOCK_DURATION_MS,
        stalledIntervalMs: env.WORKER_STALLED_INTERVAL_MS,
        threadPoolSize: env.UV_THREADPOOL_SIZE,
      },
      pipeline: {
        pollMinDelayMs: env.POLL_MIN_DELAY_MS,
        pollMaxDelayMs: env.POLL_MAX_DELAY_MS,
        maxRecreates: env.EXPORT_MAX_RECREATES,
        createReserve: env.QUOTA_CREATE_RESERVE,
        pollFirstDelayMs: env.POLL_FIRST_DELAY_MS,
      },
      storage: {
        dataDir,
        stagingDir: path.resolve(env.STAGING_DIR ?? path.join(dataDir, 'staging')),
        tempDir: path.join(dataDir, 'tmp'),
      },
      sinks: {
        default: env.DEFAULT_SINK,
        duckdbPath: path.resolve(env.DUCKDB_PATH ?? path.join(dataDir, 'fsx.duckdb')),
        duckdbMemoryLimit: env.DUCKDB_MEMORY_LIMIT,
        ...(env.DUCKDB_THREADS ? { duckdbThreads: env.DUCKDB_THREADS } : {}),
        duckdbLockWaitMs: env.DUCKDB_LOCK_WAIT_MS,
        postgresLockTimeoutMs: env.POSTGRES_LOCK_TIMEOUT_MS,
        filesDir: path.resolve(env.FILES_DIR ?? path.join(dataDir, 'files')),
        filesFormat: env.FILES_FORMAT,
        newFields: env.SINK_NEW_FIELDS,
        ...(env.DATABASE_URL ? { postgresUrl: env.DATABASE_URL } : {}),
      },
    };
  })
  .superRefine((config, ctx) => {
    if (config.pipeline.pollMinDelayMs > config.pipeline.pollMaxDelayMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['POLL_MIN_DELAY_MS'],
        message: 'must not exceed POLL_MAX_DELAY_MS',
      });
    }
    if (config.sinks.default === 'postgres' && !config.sinks.postgresUrl) {
      ctx.addIssue({
        code: 'custom',
        path: ['DATABASE_URL'],
        message: 'is required when DEFAULT_SINK=postgres',
      });
    }
  });

/** Every secret value the configuration holds, for the logger to scrub from every line. */
export function secretValues(config: FsxConfig): string[] {
  return [
    ...Object.values(config.fullstory.credentials),
    ...config.intake.apiTokens,
    ...(config.webhooks.secret ? [config.webhooks.secret] : []),
    ...(config.webhooks.callbackSecret ? [config.webhooks.callbackSecret] : []),
    ...(config.sinks.postgresUrl
      ? [new URL(config.sinks.postgresUrl).password].filter(Boolean)
      : []),
  ];
}
