import type { FullStoryClient } from '@fsx/fullstory';
import type { Logger } from '@fsx/logger';
import type { StageQueues } from '@fsx/queues';
import type { RateLimiter } from '@fsx/rate-limit';
import type { Sink } from '@fsx/sinks';
import type { ExportStore } from './export-store.js';
import type { PipelineMetrics } from './metrics.js';
import type { OperationDurations } from './operation-durations.js';
import type { StagingStore } from './staging.js';

export interface FullStoryAccess {
  client: FullStoryClient;
  /** Used only as the rate limiter's bucket identity (hashed there). */
  apiKey: string;
}

/** What the stage processors need, passed in: nothing here reads the environment. */
export interface PipelineDeps {
  store: ExportStore;
  queues: StageQueues;
  limiter: RateLimiter;
  /** Resolves a credential name to a client; throws UnknownCredentialError. */
  fullstory(credential: string): FullStoryAccess;
  sink(name: string): Sink;
  staging: StagingStore;
  /** Called once an export has ended, to send its callback. */
  onFinished?: (exportId: string) => Promise<void>;
  /** Recent operation durations, for timing first polls; without it the first poll is early. */
  durations?: OperationDurations;
  /** Counters for /metrics; optional so a test can leave them out. */
  metrics?: PipelineMetrics;
  logger: Logger;
  settings: {
    pollMinDelayMs: number;
    pollMaxDelayMs: number;
    maxRecreates: number;
    /** Tokens the create stage leaves to polls and fetches (detection lag under a backlog). */
    createReserve?: number;
    /** The first poll's delay while no operation time has been learned. @defaultValue pollMinDelayMs */
    pollFirstDelayMs?: number;
    /** Times an expired download may go back to fetch before the export fails. @defaultValue 5 */
    maxDownloadRestarts?: number;
  };
  /** Limits on what a download may be. */
  downloads?: {
    maxBytes: number;
    maxDecompressedBytes: number;
    /** Stage the export's text for ingest, not its gzip (see inflateGzip). @defaultValue true */
    stageText?: boolean;
  };
}
