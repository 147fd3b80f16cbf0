import type { SinkKind } from '@fsx/config';
import type { FullStoryClient } from '@fsx/fullstory';
import type { Logger } from '@fsx/logger';
import type { ExportStore, ScheduleStore } from '@fsx/pipeline';
import type { StageQueues } from '@fsx/queues';
import type { RateLimiter } from '@fsx/rate-limit';
import type { SendJob, SendStore } from '@fsx/sends';
import type { WebhookJob } from '@fsx/webhooks';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

/** What the intake needs; built once in main.ts (or a test) and passed in. */
export interface IntakeDeps {
  /**
   * Check every response against the route's documented schema (http-responses.ts), failing
   * it with a 500 when it differs: tests turn it on, so the OpenAPI document cannot drift.
   */
  checkResponses?: boolean;
  redis: Redis;
  store: ExportStore;
  queues: StageQueues;
  logger: Logger;
  /** Credential names this deployment has keys for (the keys stay in the workers' config). */
  credentials: readonly string[];
  defaultSink: SinkKind;
  /** Sinks this deployment can load into. */
  sinks: readonly SinkKind[];
  publicUrl: string;
  /** Bearer tokens; empty means no auth, which main.ts allows on loopback only. */
  apiTokens: readonly string[];
  /** Redis key prefix (the queues' hash tag), for the rate limiter's counters. */
  prefix: string;
  /** Requests per minute per client (token or address). */
  rateLimitPerMinute: number;
  /** Longest time range an export may ask for. */
  maxSpanDays: number;
  /** FullStory access for /v1/segments: a client and the shared limiter, per credential. */
  fullstory?: (
    credential: string,
  ) => { client: FullStoryClient; apiKey: string; limiter: RateLimiter } | undefined;
  /** Whether exports may ask for a completion callback (a signing secret is configured). */
  callbacksEnabled?: boolean;
  /** Recurring exports. */
  schedules?: { store: ScheduleStore; queue: Queue<{ scheduleId: string }> };
  /** Users and events for FullStory's server API: where they queue, and how long to gather. */
  sends?: { store: SendStore; queue: Queue<SendJob>; gatherMs: number };
  /** FullStory webhooks; absent when no secret is configured. */
  webhooks?: { secret: string; replayWindowSeconds: number; queue: Queue<WebhookJob> };
}
