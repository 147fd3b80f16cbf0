import { isFullStoryError, type RateLimitedError } from '@fsx/fullstory';
import { WaitSignal } from '@fsx/pipeline';
import type { SendDeps } from './context.js';

/** The limiter's bucket for a key's server-API quota, apart from its export-API bucket. */
export const serverBucket = (apiKey: string) => `server-api\n${apiKey}`;

/** Takes a server-API token for `apiKey`, or throws a WaitSignal for when one will be free. */
async function takeServerToken(deps: SendDeps, apiKey: string): Promise<void> {
  const acquired = await deps.limiter.acquire(serverBucket(apiKey));
  if (!acquired.granted) {
    deps.metrics?.count('fsx_limiter_waits_total', { stage: 'send' });
    throw new WaitSignal(acquired.retryAfterMs, 'rate limiter');
  }
}

/**
 * One server-API call under the shared limiter: no token is a WaitSignal (the job is delayed), and
 * a 429 holds back every process until Retry-After.
 */
export async function callServer<T>(
  deps: SendDeps,
  apiKey: string,
  call: () => Promise<T>,
): Promise<T> {
  await takeServerToken(deps, apiKey);
  try {
    const result = await call();
    deps.metrics?.count('fsx_fullstory_calls_total', { stage: 'send', outcome: 'ok' });
    return result;
  } catch (error) {
    const outcome = isFullStoryError(error) ? String(error.status ?? 'network') : 'error';
    deps.metrics?.count('fsx_fullstory_calls_total', { stage: 'send', outcome });
    if (isFullStoryError(error, 'fullstory.rate_limited')) {
      deps.metrics?.count('fsx_fullstory_rate_limited_total', { stage: 'send' });
      const { retryAfterMs } = error as RateLimitedError;
      await deps.limiter.penalize(serverBucket(apiKey), retryAfterMs);
      throw new WaitSignal(retryAfterMs, 'FullStory answered 429');
    }
    throw error;
  }
}
