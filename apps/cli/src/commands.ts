import { setTimeout as sleep } from 'node:timers/promises';
import cliProgress from 'cli-progress';
import { CliError, type IntakeClient } from './intake-client.js';

export interface ExportRecordView {
  id: string;
  state: string;
  stage: string | null;
  progress: number;
  rows: number | null;
  rowsRejected: number;
  lastError: string | null;
  spec: { segmentId: string; type: string; format: string };
}

export interface ExportOptions {
  segment: string;
  type: string;
  format: string;
  since?: string;
  until?: string;
  sink?: string;
  credential?: string;
  splitBy?: string;
  wait?: boolean;
}

/** A date (2026-11-01) or a full timestamp, as the RFC 3339 the API takes. */
export function toTimestamp(value: string, flag: string): string {
  const full = /^\d{4}-\d\d-\d\d$/.test(value) ? `${value}T00:00:00Z` : value;
  if (Number.isNaN(Date.parse(full)))
    throw new CliError(`${flag} must be a date like 2026-11-01 or a timestamp`);
  return new Date(full).toISOString().replace(/\.000Z$/, 'Z');
}

const out = (line: string) => process.stdout.write(`${line}\n`);

export async function startExport(api: IntakeClient, options: ExportOptions): Promise<number> {
  const timeRange = options.since
    ? {
        start: toTimestamp(options.since, '--since'),
        ...(options.until ? { end: toTimestamp(options.until, '--until') } : {}),
      }
    : undefined;
  const created = await api.call<{ id: string }>('POST', '/v1/exports', {
    segmentId: options.segment,
    type: options.type,
    format: options.format,
    ...(timeRange ? { timeRange } : {}),
    ...(options.sink ? { sink: options.sink } : {}),
    ...(options.credential ? { credential: options.credential } : {}),
    ...(options.splitBy ? { splitBy: options.splitBy } : {}),
  });
  out(`export ${created.id} accepted`);
  if (!options.wait) return 0;
  return waitFor(api, created.id);
}

/** Follows an export with a progress bar of FullStory's percentage and the current stage. */
export async function waitFor(api: IntakeClient, id: string): Promise<number> {
  const bar = new cliProgress.SingleBar(
    {
      format: ' {bar} {percentage}% | {stage}',
      hideCursor: true,
      noTTYOutput: true,
      notTTYSchedule: 2_000,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(100, 0, { stage: 'queued' });
  let record: ExportRecordView;
  for (;;) {
    record = await api.call<ExportRecordView>('GET', `/v1/exports/${id}`);
    bar.update(record.progress, { stage: record.stage ?? record.state });
    if (['completed', 'failed', 'cancelled'].includes(record.state)) break;
    await sleep(1_000);
  }
  bar.stop();
  if (record.state === 'completed') {
    out(
      `export ${id} completed: ${record.rows} rows${record.rowsRejected ? `, ${record.rowsRejected} quarantined` : ''}`,
    );
    return 0;
  }
  throw new CliError(`export ${id} ${record.state}: ${record.lastError ?? 'no reason given'}`);
}

export async function showStatus(api: IntakeClient, id?: string): Promise<number> {
  const records = id
    ? [await api.call<ExportRecordView>('GET', `/v1/exports/${id}`)]
    : (await api.call<{ items: ExportRecordView[] }>('GET', '/v1/exports?limit=20')).items;
  if (records.length === 0) out('no exports yet');
  for (const r of records) {
    out(
      `${r.id}  ${r.state.padEnd(9)} ${(r.stage ?? '-').padEnd(8)} ${String(r.progress).padStart(3)}%  ${r.spec.segmentId} ${r.spec.type}/${r.spec.format}  ${r.rows ?? '-'} rows${r.lastError ? `  (${r.lastError})` : ''}`,
    );
  }
  return 0;
}

export async function cancelExport(api: IntakeClient, id: string): Promise<number> {
  const record = await api.call<ExportRecordView>('DELETE', `/v1/exports/${id}`);
  out(`export ${record.id} ${record.state}`);
  return 0;
}

export async function listSchedules(api: IntakeClient): Promise<number> {
  const { items } = await api.call<{
    items: {
      id: string;
      spec: { segmentId: string; type: string; format: string };
      everyMs: number;
      cursor: string;
      sink: string;
    }[];
  }>('GET', '/v1/schedules');
  if (items.length === 0) out('no schedules');
  for (const s of items) {
    out(
      `${s.id}  every ${s.everyMs / 60_000} min  ${s.spec.segmentId} ${s.spec.type}/${s.spec.format} → ${s.sink}  exported up to ${s.cursor}`,
    );
  }
  return 0;
}

export async function listSegments(api: IntakeClient, credential?: string): Promise<number> {
  const { items } = await api.call<{ items: { id: string; name: string; creator?: string }[] }>(
    'GET',
    `/v1/segments${credential ? `?credential=${encodeURIComponent(credential)}` : ''}`,
  );
  for (const s of items) out(`${s.id.padEnd(24)} ${s.name}${s.creator ? `  (${s.creator})` : ''}`);
  return 0;
}
