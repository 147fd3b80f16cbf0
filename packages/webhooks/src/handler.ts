import type { Logger } from '@fsx/logger';
import { type ExportSpec, type ExportStore, submitExport } from '@fsx/pipeline';
import type { StageQueues } from '@fsx/queues';
import type { EventStore } from '@fsx/sinks';
import { type Job, UnrecoverableError } from 'bullmq';
import { ZodError, z } from 'zod';
import { type Note, noteSchema, trendAlertSchema } from './envelope.js';
import { type WebhookJob, webhookJobSchema } from './queue.js';

export interface WebhookRules {
  /** What a segment.trend.alert exports. */
  alertExport: { type: ExportSpec['type']; format: ExportSpec['format'] };
  credential: string;
  sink: string;
}

export interface WebhookDeps {
  store: ExportStore;
  queues: StageQueues;
  /** Where events and notes are kept: the default sink. */
  events: EventStore;
  rules: WebhookRules;
  logger: Logger;
}

const WINDOW_DAYS = { DAILY: 1, WEEKLY: 7, MONTHLY: 30 } as const;

/** The segment id at the end of a FullStory segment URL (`…/segments/<id>`). */
export function segmentIdFromUrl(url: string): string | undefined {
  return /\/segments\/([A-Za-z0-9_-]+)/.exec(url)?.[1];
}

function noteFields(note: Note, receivedAt: string) {
  const pageUrl = note.pageInfo?.pageUrl;
  return {
    created: note.created ?? null,
    author: note.author ?? null,
    text: note.text ?? null,
    session_url: note.sessionUrl ?? null,
    user_url: note.userUrl ?? null,
    share_link: note.shareLink ?? null,
    noted_time: note.notedTime ?? null,
    page_url: typeof pageUrl === 'string' ? pageUrl : null,
    received_at: receivedAt,
  };
}

/**
 * Acts on a verified, queued FullStory webhook: every event is kept (unknown names too), a note
 * lands in the `notes` table, a segment trend alert starts an export of that segment for the
 * alert's window. Each step is idempotent (upserts by id; the export's idempotency key is the
 * event id), so a job that runs twice acts once.
 */
export function webhookProcessor(deps: WebhookDeps) {
  return async (job: Job<WebhookJob>): Promise<{ action: string; exportId?: string }> => {
    const queued = webhookJobSchema.parse(job.data);
    const log = deps.logger.child({
      eventId: queued.eventId,
      eventName: queued.envelope.eventName,
    });
    try {
      return await actOn(deps, queued, log);
    } catch (error) {
      // The event is already kept in webhook_events. Data that does not fit what FullStory
      // documents will not fit on a retry either: fail the job at once, and say so.
      const permanent = error instanceof ZodError || error instanceof UnrecoverableError;
      const reason = error instanceof ZodError ? z.prettifyError(error) : String(error);
      log.warn(
        { err: error, attempt: job.attemptsMade + 1 },
        permanent
          ? `event kept, not acted on: its data does not fit: ${reason}`
          : 'acting on the event failed; will retry',
      );
      throw permanent ? new UnrecoverableError(reason) : error;
    }
  };
}

async function actOn(
  deps: WebhookDeps,
  { eventId, receivedAt, envelope }: WebhookJob,
  log: Logger,
): Promise<{ action: string; exportId?: string }> {
  await deps.events.saveEvent({
    table: 'webhook_events',
    id: eventId,
    fields: { event_name: envelope.eventName, received_at: receivedAt },
    payload: JSON.stringify(envelope),
  });

  if (envelope.eventName === 'note.created') {
    const note = noteSchema.parse(envelope.data);
    await deps.events.saveEvent({
      table: 'notes',
      id: note.id,
      fields: noteFields(note, receivedAt),
      payload: JSON.stringify(note),
    });
    log.info({ noteId: note.id }, 'note stored');
    return { action: 'note stored' };
  }

  if (envelope.eventName === 'segment.trend.alert') {
    const alert = trendAlertSchema.parse(envelope.data);
    const segmentId = segmentIdFromUrl(alert.alertConfig.segmentUrl);
    if (!segmentId)
      throw new UnrecoverableError(`no segment id in ${alert.alertConfig.segmentUrl}`);
    const end = new Date(alert.timestamp);
    const start = new Date(end.getTime() - WINDOW_DAYS[alert.alertConfig.duration] * 86_400_000);
    const { record } = await submitExport(deps.store, deps.queues, {
      spec: {
        segmentId,
        ...deps.rules.alertExport,
        timeRange: { start: start.toISOString(), end: end.toISOString() },
      },
      credential: deps.rules.credential,
      sink: deps.rules.sink,
      idempotencyKey: `webhook:${eventId}`,
    });
    log.info({ exportId: record.id, segmentId }, 'export started by a trend alert');
    return { action: 'export started', exportId: record.id };
  }

  log.info('event stored; no rule for it');
  return { action: 'stored' };
}
