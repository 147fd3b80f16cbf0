import type { FullStoryServerClient, V2Event, V2User } from '@fsx/fullstory';
import { isFullStoryError } from '@fsx/fullstory';
import { WaitSignal } from '@fsx/pipeline';
import type { SendDeps } from './context.js';
import type { UserItem } from './items.js';
import { EXPIRED_ITEM, itemIdempotencyKey, record, unsettledItems } from './outcomes.js';
import type { Batch, ItemRef } from './send-store.js';
import { callServer } from './server-call.js';

/** One item, one call: an update by FullStory id, an upsert by uid, or an event. */
function sendOne(
  client: FullStoryServerClient,
  kind: Batch['kind'],
  body: unknown,
  idempotencyKey: string,
): Promise<unknown> {
  const options = { idempotencyKey };
  if (kind === 'events') return client.sendEvent(body as V2Event, options);
  const { id, ...user } = body as UserItem;
  return id ? client.updateUser(id, user as V2User, options) : client.upsertUser(user, options);
}

/**
 * Sends items one call each, each with its own Idempotency-Key. Every outcome is recorded as it
 * arrives, so a job delayed for a token or retried after a 5xx carries on where it stopped.
 * A retryable error is thrown (BullMQ retries the job with backoff), or, when items got through
 * first, becomes a short wait; a permanent error is the item's own outcome.
 */
export async function sendEach(
  deps: SendDeps,
  batch: Batch,
  items: readonly { ref: ItemRef; body: unknown }[],
): Promise<void> {
  const { client, apiKey } = deps.server(batch.credential);
  let progressed = false;
  for (const { ref, body } of items) {
    if (body === undefined) {
      await record(deps, batch, [{ ref, failure: EXPIRED_ITEM }]);
      continue;
    }
    try {
      await callServer(deps, apiKey, () =>
        sendOne(client, batch.kind, body, itemIdempotencyKey(ref)),
      );
      await record(deps, batch, [{ ref }]);
      progressed = true;
    } catch (error) {
      if (!isFullStoryError(error) || error.retryable) {
        // Items got through this run: a pause, not a spent try (tries count runs that got nowhere).
        if (progressed && !(error instanceof WaitSignal))
          throw new WaitSignal(
            deps.settings.pollMinDelayMs,
            `retrying after: ${(error as Error).message}`,
          );
        throw error;
      }
      await record(deps, batch, [
        { ref, failure: { code: error.apiCode ?? error.code, message: error.message } },
      ]);
    }
  }
}

/** A batch of few items: each sent on its own, then the batch is done. */
export async function sendSingly(deps: SendDeps, batch: Batch): Promise<void> {
  await sendEach(deps, batch, await unsettledItems(deps, batch.refs));
  await deps.store.updateBatch(batch.id, { state: 'settled' });
}
