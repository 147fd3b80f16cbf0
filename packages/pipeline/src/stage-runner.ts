import { isFullStoryError, type RateLimitedError } from '@fsx/fullstory';
import { enqueueStage, type Stage, type StageJob, stageJobSchema } from '@fsx/queues';
import { type Job, UnrecoverableError } from 'bullmq';
import { endChildOf } from './backfill-rollup.js';
import type { FullStoryAccess, PipelineDeps } from './context.js';
import { canRetry, delayJob, describeError, isFinalAttempt, WaitSignal } from './errors.js';
import type { ExportRecord } from './export-record.js';
import { type ExportPatch, ExportStore } from './export-store.js';

/** What a stage handler gets: the export, and the only ways it may act on it. */
export interface StageRun {
  record: ExportRecord;
  job: Job<StageJob>;
  deps: PipelineDeps;
  /** Takes a token from the shared limiter, then makes the call; 429s penalize every process. */
  callFullStory<T>(call: (access: FullStoryAccess) => Promise<T>): Promise<T>;
  /** Saves state the stage learned, without moving on. */
  save(patch: ExportPatch): Promise<void>;
  /** Moves the export to `next` (idempotent: the next job's id comes from the step). */
  handoff(next: Stage, patch?: ExportPatch, options?: { delayMs?: number }): Promise<void>;
  /** Ends the export successfully. */
  complete(patch: ExportPatch): Promise<void>;
}

export type StageHandler = (run: StageRun) => Promise<void>;

/**
 * Wraps a stage handler as a BullMQ processor: loads the export, skips jobs a newer step has
 * superseded or an export that ended, turns waits into delayed jobs (the worker takes other work
 * meanwhile), and turns errors into retries or a failed export with the reason.
 */
export function stageProcessor(stage: Stage, deps: PipelineDeps, handler: StageHandler) {
  return async (job: Job<StageJob>, token?: string): Promise<void> => {
    const data = stageJobSchema.parse(job.data);
    const log = deps.logger.child({
      stage,
      exportId: data.exportId,
      step: data.step,
      jobId: job.id,
    });
    let record = await deps.store.get(data.exportId);
    if (!record) {
      log.warn('export record not found; dropping job');
      return;
    }
    if (ExportStore.isTerminal(record) || data.step < record.step) {
      log.debug({ state: record.state, recordStep: record.step }, 'job superseded; nothing to do');
      // A run that ended the export and stopped before settling its backfill is run again.
      if (ExportStore.isTerminal(record)) await endChildOf(deps, record);
      return;
    }
    if (data.step > record.step || record.state === 'queued') {
      // The previous stage enqueued this job but stopped before recording the hand-off.
      record =
        (await deps.store.update(record.id, { step: data.step, stage, state: 'running' })) ??
        record;
    }
    const current = record;
    // An ended export sends its callback, and may end the backfill it is a window of.
    const announceEnd = async () => {
      if (current.callbackUrl) await deps.onFinished?.(current.id);
      await endChildOf(deps, current);
    };
    const run: StageRun = {
      record: current,
      job,
      deps,
      async callFullStory(call) {
        const access = deps.fullstory(current.credential);
        // Starting an export leaves the last tokens to exports already running.
        const acquired = await deps.limiter.acquire(
          access.apiKey,
          stage === 'create' ? { reserve: deps.settings.createReserve ?? 0 } : {},
        );
        if (!acquired.granted) {
          deps.metrics?.count('fsx_limiter_waits_total', { stage });
          throw new WaitSignal(acquired.retryAfterMs, 'rate limiter');
        }
        try {
          const result = await call(access);
          deps.metrics?.count('fsx_fullstory_calls_total', { stage, outcome: 'ok' });
          return result;
        } catch (error) {
          const status = isFullStoryError(error) ? String(error.status ?? 'network') : 'error';
          deps.metrics?.count('fsx_fullstory_calls_total', { stage, outcome: status });
          if (isFullStoryError(error, 'fullstory.rate_limited')) {
            deps.metrics?.count('fsx_fullstory_rate_limited_total', { stage });
            const retryAfterMs = (error as RateLimitedError).retryAfterMs;
            await deps.limiter.penalize(access.apiKey, retryAfterMs);
            throw new WaitSignal(retryAfterMs, 'FullStory answered 429');
          }
          throw error;
        }
      },
      async save(patch) {
        await deps.store.update(current.id, patch);
      },
      async handoff(next, patch = {}, options = {}) {
        const step = data.step + 1;
        if (Object.keys(patch).length > 0) await deps.store.update(current.id, patch);
        await enqueueStage(deps.queues, next, { exportId: current.id, step }, options);
        // A hand-off that goes back (expired URL, failed operation) keeps its reason in lastError.
        await deps.store.update(current.id, {
          step,
          stage: next,
          ...('lastError' in patch ? {} : { lastError: null }),
        });
        log.info({ next, step }, 'handed off');
      },
      async complete(patch) {
        await deps.store.update(current.id, {
          ...patch,
          state: 'completed',
          stage: null,
          progress: 100,
          finishedAt: new Date().toISOString(),
          lastError: null,
        });
        log.info({ rows: patch.rows }, 'export completed');
        deps.metrics?.count('fsx_exports_finished_total', { state: 'completed' });
        await announceEnd();
        deps.metrics?.count('fsx_rows_ingested_total', { sink: current.sink }, patch.rows ?? 0);
        if (patch.rowsRejected)
          deps.metrics?.count(
            'fsx_rows_rejected_total',
            { sink: current.sink },
            patch.rowsRejected,
          );
      },
    };

    const startedAt = performance.now();
    try {
      await handler(run);
    } catch (error) {
      if (error instanceof WaitSignal) {
        log.debug({ delayMs: error.delayMs, reason: error.reason }, 'waiting');
        await delayJob(job, token, error);
      }
      if (!canRetry(error) || isFinalAttempt(job)) {
        await deps.store.update(current.id, {
          state: 'failed',
          lastError: `${stage}: ${describeError(error)}`,
          finishedAt: new Date().toISOString(),
        });
        log.error({ err: error }, 'export failed');
        deps.metrics?.count('fsx_exports_finished_total', { state: 'failed' });
        await announceEnd();
        throw new UnrecoverableError(`${stage}: ${describeError(error)}`);
      }
      await deps.store.update(current.id, { lastError: `${stage}: ${describeError(error)}` });
      log.warn({ err: error, attempt: job.attemptsMade + 1 }, 'stage failed; will retry');
      throw error;
    } finally {
      deps.metrics?.count(
        'fsx_stage_job_seconds_sum',
        { stage },
        (performance.now() - startedAt) / 1000,
      );
      deps.metrics?.count('fsx_stage_job_seconds_count', { stage });
    }
  };
}
