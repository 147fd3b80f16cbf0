import type { StageHandler } from '../stage-runner.js';

/** Asks FullStory to build the export, then hands off to poll. */
export const createStage: StageHandler = async (run) => {
  const { spec } = run.record;
  const { operationId } = await run.callFullStory(({ client }) => client.createSegmentExport(spec));
  await run.handoff(
    'poll',
    {
      operationId,
      operationStartedAt: new Date().toISOString(),
      progress: 0,
      polls: 0,
      searchExportId: null,
      download: null,
    },
    { delayMs: run.deps.settings.pollMinDelayMs },
  );
};
