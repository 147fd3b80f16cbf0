import type { V2Event, V2User } from '@fsx/fullstory';
import { isFullStoryError } from '@fsx/fullstory';
import { WaitSignal } from '@fsx/pipeline';
import type { SendDeps } from './context.js';
import { EXPIRED_ITEM, itemIdempotencyKey, record, unsettledItems } from './outcomes.js';
import type { Batch } from './send-store.js';
import { callServer } from './server-call.js';

/**
 * A few items: one call each, each with its own Idempotency-Key. Every outcome is recorded as it
 * arrives, so a job delayed for a token or retried after a 5xx carries on where it stopped.
 * A retryable error is thrown (BullMQ retries the job with backoff), or, when items got through
 * first, becomes a short wait; a permanent error is the item's own outcome.
 */
export async function sendSingly(deps: SendDeps, batch: Batch): Promise<void> {
  const { client, apiKey } = deps.server(batch.credential);
  let progressed = false;
  for (const { ref, body } of await unsettledItems(deps, batch.refs)) {
    if (body === undefined) {
      await record(deps, batch, [{ ref, failure: EXPIRED_ITEM }]);
      continue;
    }
    const options = { idempotencyKey: itemIdempotencyKey(ref) };
    try {
      await callServer(deps, apiKey, async () => {
        if (batch.kind === 'users') await client.upsertUser(body as V2User, options);
        else await client.sendEvent(body as V2Event, options);
      });
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
  await deps.store.updateBatch(batch.id, { state: 'settled' });
}
