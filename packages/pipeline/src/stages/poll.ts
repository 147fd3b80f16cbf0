import { ExportFailedError, WaitSignal } from '../errors.js';
import { pollDelayMs } from '../poll-schedule.js';
import type { StageHandler } from '../stage-runner.js';

/**
 * Polls the operation. While it runs, the same job is delayed until the predicted completion;
 * when it fails, the export is created again a bounded number of times.
 */
export const pollStage: StageHandler = async (run) => {
  const { record, deps } = run;
  if (!record.operationId) throw new ExportFailedError('poll: the export has no operation id');
  const operationId = record.operationId;
  const operation = await run.callFullStory(({ client }) => client.getOperation(operationId));
  const polls = record.polls + 1;
  await run.job.updateProgress(operation.estimatePctComplete);

  if (operation.state === 'COMPLETED') {
    // Learn how long it took (FullStory's own times when it gives them) for later first polls.
    const startedAtMs = Date.parse(operation.createdAt ?? record.operationStartedAt ?? '');
    const finishedAtMs = operation.finishedAt ? Date.parse(operation.finishedAt) : Date.now();
    await deps.durations
      ?.record(record.credential, finishedAtMs - startedAtMs)
      .catch(() => undefined);
    const patch = { polls, progress: 100, searchExportId: operation.searchExportId ?? null };
    if (operation.downloadUrl) {
      // The OpenAPI shape: the operation carries the URL, so the results call is not needed.
      await run.handoff('download', {
        ...patch,
        download: {
          location: operation.downloadUrl,
          ...(operation.expires ? { expires: operation.expires } : {}),
        },
      });
    } else if (operation.searchExportId) {
      await run.handoff('fetch', patch);
    } else {
      throw new ExportFailedError(
        'poll: FullStory reported COMPLETED without a searchExportId or downloadUrl',
      );
    }
    return;
  }

  if (operation.state === 'FAILED') {
    const details = operation.errorDetails || 'no details given';
    if (record.recreates >= deps.settings.maxRecreates) {
      throw new ExportFailedError(
        `FullStory could not build the export after ${record.recreates + 1} tries: ${details}`,
      );
    }
    await run.handoff('create', {
      polls,
      recreates: record.recreates + 1,
      operationId: null,
      lastError: `FullStory operation failed: ${details}`,
    });
    return;
  }

  await run.save({ polls, progress: operation.estimatePctComplete, state: 'running' });
  const startedAtMs = Date.parse(record.operationStartedAt ?? record.createdAt);
  const delay = pollDelayMs(
    { pct: operation.estimatePctComplete, startedAtMs, nowMs: Date.now(), polls },
    { minMs: deps.settings.pollMinDelayMs, maxMs: deps.settings.pollMaxDelayMs },
  );
  throw new WaitSignal(delay, `operation ${operation.state} at ${operation.estimatePctComplete}%`);
};
