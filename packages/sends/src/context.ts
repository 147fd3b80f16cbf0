import type { FullStoryServerClient } from '@fsx/fullstory';
import type { Logger } from '@fsx/logger';
import type { PipelineMetrics } from '@fsx/pipeline';
import type { RateLimiter } from '@fsx/rate-limit';
import type { Queue } from 'bullmq';
import type { SendJob } from './queue.js';
import type { SendStore } from './send-store.js';

export interface SendSettings {
  batchMax: number;
  importThreshold: number;
  gatherMs: number;
  maxItemAttempts: number;
  pollMinDelayMs: number;
  pollMaxDelayMs: number;
}

/** What the send stage needs, passed in. */
export interface SendDeps {
  store: SendStore;
  queue: Queue<SendJob>;
  /** The limiter of the server API's own quota (not the export APIs'). */
  limiter: RateLimiter;
  /** A credential's server-API client and key; throws UnknownCredentialError. */
  server(credential: string): { client: FullStoryServerClient; apiKey: string };
  metrics?: PipelineMetrics;
  logger: Logger;
  settings: SendSettings;
}
