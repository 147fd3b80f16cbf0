import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import { STAGES } from '@fsx/queues';
import type { FastifyInstance } from 'fastify';
import type { IntakeDeps } from '../deps.js';

export const BULL_BOARD_PATH = '/admin/queues';

/** Bull Board on the same server; job data holds only export ids, so it shows no secret. */
export async function registerBullBoard(app: FastifyInstance, deps: IntakeDeps): Promise<void> {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(BULL_BOARD_PATH);
  createBullBoard({
    queues: [
      ...STAGES.map((stage) => new BullMQAdapter(deps.queues[stage], { readOnlyMode: false })),
      // Send jobs carry ids only (a send's items stay in Redis), so the board shows no user data.
      ...(deps.sends ? [new BullMQAdapter(deps.sends.queue, { readOnlyMode: false })] : []),
    ],
    serverAdapter,
    options: { uiConfig: { boardTitle: 'fsx' } },
  });
  // The prefix must match the base path, or the board's assets 404.
  await app.register(serverAdapter.registerPlugin(), { prefix: BULL_BOARD_PATH });
}
