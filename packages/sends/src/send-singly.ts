import type { V2Event, V2User } from '@fsx/fullstory';
import { isFullStoryError } from '@fsx/fullstory';
import type { SendDeps } from './context.js';
import { EXPIRED_ITEM, itemIdempotencyKey, record, unsettledItems } from './outcomes.js';
import type { Batch } from './send-store.js';
import { callServer } from './server-call.js';

/**
 * A few items: one call each, each with its own Idempotency-Key. Every outcome is recorded as it
 * arrives, so a job delayed for a token or retried after a 5xx carries on where it stopped.
 * A retryable error is thrown (BullMQ retries the job with backoff); a permanent one is the item's.
 */
export async function sendSingly(deps: SendDeps, batch: Batch): Promise<void> {
  const { client, apiKey } = deps.server(batch.credential);
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
    } catch (error) {
      if (!isFullStoryError(error) || error.retryable) throw error;
      await record(deps, batch, [
        { ref, failure: { code: error.apiCode ?? error.code, message: error.message } },
      ]);
    }
  }
}
