import type { StageQueues } from '@fsx/queues';
import { childrenOf, rollUp, settleBackfill } from './backfill-rollup.js';
import { type ExportRecord, publicView } from './export-record.js';
import type { ExportStore, NewExport } from './export-store.js';
import { cancelExport, submitExport } from './submit.js';

/** Windows of `splitMs` covering [start, end); the last one may be shorter. */
export function splitWindows(
  startMs: number,
  endMs: number,
  splitMs: number,
): { start: string; end: string }[] {
  const windows = [];
  for (let at = startMs; at < endMs; at += splitMs) {
    windows.push({
      start: new Date(at).toISOString(),
      end: new Date(Math.min(endMs, at + splitMs)).toISOString(),
    });
  }
  return windows;
}

/**
 * A backfill: one parent record and one child export per window. Children are ordinary exports
 * (queued, retried, idempotent on their own); the parent's state is derived from them when read.
 */
export async function submitBackfill(
  store: ExportStore,
  queues: StageQueues,
  input: NewExport & { splitMs: number },
) {
  const { record: parent, created } = await store.create(input);
  if (!created) return { record: parent, created };
  const start = Date.parse(input.spec.timeRange?.start ?? '');
  const end = Date.parse(input.spec.timeRange?.end ?? new Date().toISOString());
  const children: string[] = [];
  for (const [i, timeRange] of splitWindows(start, end, input.splitMs).entries()) {
    const { record } = await submitExport(store, queues, {
      spec: { ...input.spec, timeRange },
      credential: input.credential,
      sink: input.sink,
      parentId: parent.id,
      idempotencyKey: `backfill:${parent.id}:${i}`,
    });
    children.push(record.id);
  }
  const updated = await store.update(parent.id, { children, state: 'running', stage: 'backfill' });
  // Windows that ended before the parent knew them did not settle it.
  const settled = await settleBackfill(store, parent.id);
  return { record: settled ?? updated ?? parent, created };
}

/** A record as the API shows it; a backfill parent carries its children's state, rows and list. */
export async function exportView(store: ExportStore, record: ExportRecord) {
  if (!record.children) return publicView(record);
  const children = await childrenOf(store, record);
  return {
    ...publicView(rollUp(record, children)),
    children: children.map((c) => ({
      id: c.id,
      state: c.state,
      timeRange: c.spec.timeRange,
      rows: c.rows ?? null,
    })),
  };
}

/**
 * The parent ends first, so no child that ends meanwhile settles it as failed, then each child
 * is cancelled.
 */
export async function cancelBackfill(
  store: ExportStore,
  queues: StageQueues,
  record: ExportRecord,
) {
  const parent = await store.update(record.id, {
    state: 'cancelled',
    finishedAt: new Date().toISOString(),
  });
  for (const id of record.children ?? []) await cancelExport(store, queues, id);
  return parent;
}
