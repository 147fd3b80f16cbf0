import type { Stage } from '@fsx/queues';
import type { StageHandler } from '../stage-runner.js';
import { createStage } from './create.js';
import { downloadStage } from './download.js';
import { fetchStage } from './fetch.js';
import { ingestStage } from './ingest.js';
import { pollStage } from './poll.js';

export const STAGE_HANDLERS: Record<Stage, StageHandler> = {
  create: createStage,
  poll: pollStage,
  fetch: fetchStage,
  download: downloadStage,
  ingest: ingestStage,
};
