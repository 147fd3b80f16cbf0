import type { SinkKind } from '@fsx/config';
import type { Logger } from '@fsx/logger';
import type { ExportStore } from '@fsx/pipeline';
import type { StageQueues } from '@fsx/queues';
import type { Redis } from 'ioredis';

/** What the intake needs; built once in main.ts (or a test) and passed in. */
export interface IntakeDeps {
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
}
