import type { DefaultJobOptions } from 'bullmq';
import { z } from 'zod';

/** The pipeline's stages, in order. One BullMQ queue and one worker app each. */
export const STAGES = ['create', 'poll', 'fetch', 'download', 'ingest'] as const;
export type Stage = (typeof STAGES)[number];

/**
 * Every job carries only the export's id and the step it belongs to; the export record in Redis
 * holds the rest. So no API key, download URL or row ever sits in job data or Bull Board.
 * `step` counts hand-offs: the next job's id is derived from it, so a stage that runs twice
 * enqueues the same next job once.
 */
export const stageJobSchema = z.object({
  exportId: z.string().min(1),
  step: z.number().int().nonnegative(),
});
export type StageJob = z.infer<typeof stageJobSchema>;

const DAY_S = 86_400;

/** Default options per stage. API stages retry transient failures with jittered exponential backoff. */
export const JOB_OPTIONS: Record<Stage, DefaultJobOptions> = {
  create: { attempts: 8, backoff: { type: 'exponential', delay: 5_000, jitter: 0.5 } },
  poll: { attempts: 10, backoff: { type: 'exponential', delay: 5_000, jitter: 0.5 } },
  fetch: { attempts: 8, backoff: { type: 'exponential', delay: 5_000, jitter: 0.5 } },
  download: { attempts: 8, backoff: { type: 'exponential', delay: 2_000, jitter: 0.5 } },
  ingest: { attempts: 5, backoff: { type: 'exponential', delay: 2_000, jitter: 0.5 } },
};

export const RETENTION: Pick<DefaultJobOptions, 'removeOnComplete' | 'removeOnFail'> = {
  removeOnComplete: { age: DAY_S, count: 5_000 },
  removeOnFail: { age: 14 * DAY_S, count: 20_000 },
};

/** BullMQ custom ids may not contain ':'. */
export function stageJobId(stage: Stage, exportId: string, step: number): string {
  return `${exportId}.${stage}.${step}`;
}
