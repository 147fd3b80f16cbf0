import { enqueueStage, STAGES, type StageQueues, stageJobId } from '@fsx/queues';
import { settleBackfill } from './backfill-rollup.js';
import type { ExportRecord } from './export-record.js';
import type { ExportStore, NewExport } from './export-store.js';

/**
 * Records a new export and enqueues its first stage. Safe to repeat: an idempotency key returns
 * the first export, and the first job's id is fixed, so a retried submit enqueues nothing twice.
 */
export async function submitExport(
  store: ExportStore,
  queues: StageQueues,
  input: NewExport,
): Promise<{ record: ExportRecord; created: boolean }> {
  const { record, created } = await store.create(input);
  if (record.step === 0 && record.state === 'queued') {
    // A legacy bundle already exists at FullStory: it starts at download.
    await enqueueStage(queues, record.bundleId ? 'download' : 'create', {
      exportId: record.id,
      step: 0,
    });
  }
  return { record, created };
}

/**
 * Cancels an export: the record turns `cancelled` first (so any stage still running finds it
 * ended and stops), then its waiting or delayed job is removed.
 */
export async function cancelExport(store: ExportStore, queues: StageQueues, id: string) {
  const before = await store.get(id);
  if (!before) return undefined;
  const after = await store.update(id, {
    state: 'cancelled',
    finishedAt: new Date().toISOString(),
  });
  if (after?.state !== 'cancelled') return after;
  await Promise.all(
    STAGES.map(async (stage) => {
      const job = await queues[stage].getJob(stageJobId(stage, id, after.step));
      // An active job cannot be removed; it will see the cancelled record and stop.
      await job?.remove().catch(() => undefined);
    }),
  );
  // A cancel sends no callback, for a window's backfill as for the window.
  if (after.parentId) await settleBackfill(store, after.parentId);
  return after;
}
