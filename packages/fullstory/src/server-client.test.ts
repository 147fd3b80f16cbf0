import { createSimulator, type Simulator, type SimulatorOptions } from '@fsx/fullstory-sim';
import { afterAll, describe, expect, it } from 'vitest';
import {
  FullStoryServerClient,
  InvalidRequestError,
  isRetryableItemCode,
  NotFoundError,
  RateLimitedError,
  TransientError,
  UnauthorizedError,
} from './index.js';

const sims: Simulator[] = [];
async function setup(options: SimulatorOptions = {}, apiKey = 'na1.sim-standard') {
  const sim = createSimulator({ batchMs: { base: 0, perItem: 0 }, ...options });
  sims.push(sim);
  const baseUrl = await sim.listen();
  return { sim, client: new FullStoryServerClient({ baseUrl, apiKey }) };
}
afterAll(async () => {
  await Promise.all(sims.map((s) => s.close()));
});

describe('FullStoryServerClient', () => {
  it('upserts, updates, reads and finds users', async () => {
    const { client } = await setup();
    const { id } = await client.upsertUser({ uid: 'c1', properties: { plan: 'free' } });
    await client.upsertUser({ uid: 'c1', properties: { seats: 3 } });
    await client.updateUser(id, { display_name: 'Ada' });
    expect(await client.getUser(id)).toMatchObject({
      id,
      uid: 'c1',
      display_name: 'Ada',
      properties: { plan: 'free', seats: 3 },
    });
    expect((await client.findUserByUid('c1'))?.id).toBe(id);
    expect(await client.findUserByUid('nobody')).toBeUndefined();
  });

  it('maps v2 errors to typed errors', async () => {
    const { client, sim } = await setup();
    const suffixed = await client
      .upsertUser({ uid: 'x', properties: { plan_str: 'free' } })
      .catch((e) => e);
    expect(suffixed).toBeInstanceOf(InvalidRequestError);
    expect(suffixed.retryable).toBe(false);
    expect(suffixed.details[0].field).toBe('properties.plan_str');
    const { id } = await client.upsertUser({ uid: 'fixed' });
    await expect(client.updateUser(id, { uid: 'other' })).rejects.toThrow(/immutable/);
    await expect(client.sendEvent({ name: 'e', user: { id: '1' } })).rejects.toBeInstanceOf(
      NotFoundError,
    );
    sim.injectFault('rate_limited', 1, 'server');
    const limited = await client.sendEvent({ name: 'e' }).catch((e) => e);
    expect(limited).toBeInstanceOf(RateLimitedError);
    expect(limited.retryAfterMs).toBe(1000);
    const stranger = new FullStoryServerClient({ baseUrl: sim.url, apiKey: 'na1.nope' });
    await expect(stranger.upsertUser({ uid: 'x' })).rejects.toBeInstanceOf(UnauthorizedError);
  });

  it('sends the Idempotency-Key, so a repeated write acts once', async () => {
    const { client, sim } = await setup();
    await client.sendEvent({ name: 'once' }, { idempotencyKey: 'evt-1' });
    await client.sendEvent({ name: 'once' }, { idempotencyKey: 'evt-1' });
    await client.sendEvent({ name: 'once' });
    const dump = (await sim.app.inject('/__sim/server')).json();
    expect(dump['na1.sim-standard'].events).toHaveLength(2);
  });

  it('runs a batch import and reads back which requests failed, and whether to retry them', async () => {
    const { client, sim } = await setup({ batchMs: { base: 200, perItem: 0 } });
    sim.injectFault('batch_item_error', 1, 'server');
    const requests = [
      { name: 'a', properties: { n: 1 } },
      { name: 'b', user: { id: 'missing' } },
      { name: 'c', properties: { n: 3 } },
    ];
    const job = await client.createBatchImport('events', requests, { idempotencyKey: 'batch-1' });
    expect(job.status).toBe('PROCESSING');
    const again = await client.createBatchImport('events', requests, { idempotencyKey: 'batch-1' });
    expect(again.id).toBe(job.id);
    await expect(client.listBatchErrors('events', job.id)).rejects.toBeInstanceOf(TransientError);
    await new Promise((r) => setTimeout(r, 250));
    const done = await client.getBatchImport('events', job.id);
    expect(done).toMatchObject({ status: 'FAILED', imports: 1, errors: 2 });
    const errors = await client.listBatchErrors('events', job.id);
    expect(errors.map((e) => [e.code, (e.request as { name: string }).name])).toEqual([
      ['server_error', 'a'],
      ['resource_not_found', 'b'],
    ]);
    expect(errors.map((e) => isRetryableItemCode(e.code))).toEqual([true, false]);
  });
});
