import type { StageHandler } from '../stage-runner.js';

/**
 * Asks FullStory to build the export, then hands off to poll. The first poll waits as long as
 * this credential's exports have typically taken (the median), within the poll bounds; until
 * one has been seen, POLL_FIRST_DELAY_MS (FullStory's exports take minutes, not seconds).
 */
export const createStage: StageHandler = async (run) => {
  const { spec, credential } = run.record;
  const { settings, durations } = run.deps;
  const { operationId } = await run.callFullStory(({ client }) => client.createSegmentExport(spec));
  const typical = await durations?.typicalMs(credential).catch(() => undefined);
  const firstPollMs = Math.min(
    settings.pollMaxDelayMs,
    Math.max(settings.pollMinDelayMs, typical ?? settings.pollFirstDelayMs ?? 0),
  );
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
    { delayMs: firstPollMs },
  );
};
