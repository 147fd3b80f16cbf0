import { type BatchItemError, InvalidRequestError, isRetryableItemCode } from '@fsx/fullstory';
import { WaitSignal } from '@fsx/pipeline';
import type { SendDeps } from './context.js';
import { EXPIRED_ITEM, record, unsettledItems } from './outcomes.js';
import { enqueueBatch } from './queue.js';
import { sendEach, sendSingly } from './send-singly.js';
import type { Batch, ItemFailure, ItemRef } from './send-store.js';
import { callServer } from './server-call.js';
import { stableJson } from './stable-json.js';

/** When to look at a batch import again: sooner for small ones, backing off while it runs. */
export function importPollDelayMs(
  items: number,
  polls: number,
  bounds: { pollMinDelayMs: number; pollMaxDelayMs: number },
): number {
  const estimate = bounds.pollMinDelayMs * 1.5 ** polls + (polls === 0 ? items * 0.1 : 0);
  return Math.round(Math.min(bounds.pollMaxDelayMs, Math.max(bounds.pollMinDelayMs, estimate)));
}

/** FullStory echoes each failed request: find which of ours it was (identical ones in turn). */
function matchErrors(
  errors: readonly BatchItemError[],
  sent: readonly { ref: ItemRef; body: unknown }[],
) {
  const byBody = new Map<string, ItemRef[]>();
  for (const { ref, body } of sent) {
    const key = stableJson(body);
    byBody.set(key, [...(byBody.get(key) ?? []), ref]);
  }
  const failed: { ref: ItemRef; error: BatchItemError }[] = [];
  let unmatched = 0;
  for (const error of errors) {
    const ref = byBody.get(stableJson(error.request))?.shift();
    if (ref) failed.push({ ref, error });
    else unmatched += 1;
  }
  return { failed, unmatched };
}

/**
 * Many items: one batch import. Created with the batch's id as Idempotency-Key (a re-run gets the
 * same import), polled with delayed jobs, then settled: sent items recorded, permanent failures
 * recorded with FullStory's reason, retryable ones moved to a follow-up batch (bounded tries).
 */
export async function sendAsImport(deps: SendDeps, batch: Batch): Promise<void> {
  const { client, apiKey } = deps.server(batch.credential);
  const items = await unsettledItems(deps, batch.refs);
  const missing = items.filter((i) => i.body === undefined);
  await record(
    deps,
    batch,
    missing.map(({ ref }) => ({ ref, failure: EXPIRED_ITEM })),
  );
  // Updates by FullStory id have no place in a batch import: they go singly, first.
  const byId = items.filter((i) => (i.body as { id?: string } | undefined)?.id !== undefined);
  if (!batch.importId && byId.length > 0) await sendEach(deps, batch, byId);
  const sent = items.filter((i) => i.body !== undefined && !byId.includes(i));
  if (sent.length === 0) return settle(deps, batch, []);

  if (!batch.importId) {
    try {
      const job = await callServer(deps, apiKey, () =>
        client.createBatchImport(
          batch.kind,
          sent.map((i) => i.body),
          { idempotencyKey: `fsx-batch-${batch.id}` },
        ),
      );
      await deps.store.updateBatch(batch.id, { importId: job.id, polls: 0 });
    } catch (error) {
      if (!(error instanceof InvalidRequestError)) throw error;
      // The import as a whole was refused: item by item, each gets its own answer.
      deps.logger.warn({ batchId: batch.id, err: error }, 'batch import refused; sending singly');
      await deps.store.updateBatch(batch.id, { mode: 'single' });
      return sendSingly(deps, { ...batch, mode: 'single' });
    }
    throw new WaitSignal(importPollDelayMs(sent.length, 0, deps.settings), 'batch import running');
  }

  const importId = batch.importId;
  const status = await callServer(deps, apiKey, () => client.getBatchImport(batch.kind, importId));
  if (status.status === 'PROCESSING') {
    await deps.store.updateBatch(batch.id, { polls: batch.polls + 1 });
    throw new WaitSignal(
      importPollDelayMs(sent.length, batch.polls + 1, deps.settings),
      'batch import running',
    );
  }
  const errors =
    status.errors > 0
      ? await client.listBatchErrors(batch.kind, importId, (call) => callServer(deps, apiKey, call))
      : [];
  const { failed, unmatched } = matchErrors(errors, sent);
  if (unmatched > 0)
    deps.logger.warn(
      { batchId: batch.id, importId, unmatched },
      'FullStory reported failures fsx could not tie to an item; those items count as sent',
    );
  await settle(
    deps,
    batch,
    sent.map((i) => i.ref),
    failed,
  );
}

async function settle(
  deps: SendDeps,
  batch: Batch,
  sentRefs: ItemRef[],
  failed: { ref: ItemRef; error: BatchItemError }[] = [],
): Promise<void> {
  const failedKeys = new Set(failed.map((f) => `${f.ref.sendId}|${f.ref.index}`));
  const retry: ItemRef[] = [];
  const outcomes: { ref: ItemRef; failure?: ItemFailure }[] = sentRefs
    .filter((ref) => !failedKeys.has(`${ref.sendId}|${ref.index}`))
    .map((ref) => ({ ref }));
  for (const { ref, error } of failed) {
    if (isRetryableItemCode(error.code) && batch.attempt < deps.settings.maxItemAttempts)
      retry.push(ref);
    else outcomes.push({ ref, failure: { code: error.code, message: error.message } });
  }
  // The follow-up batch before the outcomes: a re-run finds it (same id) and makes no second one.
  if (retry.length > 0) {
    const retryId = `${batch.id}.r`;
    await deps.store.createBatch(retryId, {
      kind: batch.kind,
      credential: batch.credential,
      refs: retry,
      mode: retry.length >= deps.settings.importThreshold ? 'import' : 'single',
      attempt: batch.attempt + 1,
    });
    await enqueueBatch(deps.queue, retryId, deps.settings.pollMinDelayMs);
  }
  await record(deps, batch, outcomes);
  await deps.store.updateBatch(batch.id, { state: 'settled' });
  deps.logger.info(
    { batchId: batch.id, sent: outcomes.filter((o) => !o.failure).length, retry: retry.length },
    'batch settled',
  );
}
