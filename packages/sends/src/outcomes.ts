import type { SendDeps } from './context.js';
import type { Batch, ItemFailure, ItemRef } from './send-store.js';

/** Records outcomes and counts them; finished sends are counted once (the script says which). */
export async function record(
  deps: SendDeps,
  batch: Pick<Batch, 'kind'>,
  outcomes: { ref: ItemRef; failure?: ItemFailure }[],
): Promise<void> {
  if (outcomes.length === 0) return;
  const { sent, failed, finished } = await deps.store.recordOutcomes(outcomes);
  if (sent)
    deps.metrics?.count('fsx_send_items_total', { kind: batch.kind, outcome: 'sent' }, sent);
  if (failed)
    deps.metrics?.count('fsx_send_items_total', { kind: batch.kind, outcome: 'failed' }, failed);
  if (finished.length) deps.metrics?.count('fsx_sends_finished_total', {}, finished.length);
}

export const EXPIRED_ITEM: ItemFailure = {
  code: 'expired',
  message: 'the item is no longer stored (its send expired before it could be sent)',
};

/** Items of `refs` that have no outcome yet, with their stored bodies. */
export async function unsettledItems(deps: SendDeps, refs: readonly ItemRef[]) {
  const settled = await deps.store.settled(refs);
  const todo = refs.filter((_, i) => !settled[i]);
  const bodies = await deps.store.items(todo);
  return todo.map((ref, i) => ({ ref, body: bodies[i] }));
}

/** FullStory acts once per key: the same item sent again (a retried job) is not applied twice. */
export const itemIdempotencyKey = (ref: ItemRef) => `fsx-${ref.sendId}-${ref.index}`;
