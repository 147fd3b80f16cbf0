import { type ExportRecord, type ExportState, TERMINAL_STATES } from './export-record.js';
import { ExportStore } from './export-store.js';

function derivedState(states: ExportState[]): ExportState {
  if (states.some((s) => s === 'queued' || s === 'running')) return 'running';
  if (states.every((s) => s === 'completed')) return 'completed';
  if (states.every((s) => s === 'cancelled')) return 'cancelled';
  return 'failed';
}

const sum = (values: (number | undefined)[]) => values.reduce<number>((a, v) => a + (v ?? 0), 0);
const latest = (times: (string | undefined)[]) =>
  times
    .filter((t): t is string => !!t)
    .reduce<string | undefined>((a, t) => (a && a > t ? a : t), undefined);
const union = (lists: (string[] | undefined)[]) => [...new Set(lists.flatMap((l) => l ?? []))];
// Redis' cjson writes an empty list back as an object: a record leaves an empty one out.
const nonEmpty = <K extends string>(key: K, list: string[]) =>
  (list.length > 0 ? { [key]: list } : {}) as Partial<Record<K, string[]>>;

/** Why a parent did not complete: how many windows did not, and the first one's reason. */
function whyNotCompleted(children: ExportRecord[]): string | undefined {
  const missed = children.filter((c) => c.state === 'failed' || c.state === 'cancelled');
  const first = missed[0];
  if (!first) return undefined;
  const reason = first.lastError ?? first.state;
  return `${missed.length} of ${children.length} windows did not complete; ${first.id} (${first.spec.timeRange?.start}): ${reason}`;
}

/**
 * A backfill parent as its children make it: their state, progress, rows and columns. A parent
 * that already ended (cancelled, or settled) keeps its own state.
 */
export function rollUp(parent: ExportRecord, children: ExportRecord[]): ExportRecord {
  const state = ExportStore.isTerminal(parent)
    ? parent.state
    : derivedState(children.map((c) => c.state));
  const ended = TERMINAL_STATES.includes(state);
  const warnings = [...new Set(children.map((c) => c.warning).filter((w): w is string => !!w))];
  const lastError = whyNotCompleted(children);
  const finishedAt =
    parent.finishedAt ?? (ended ? latest(children.map((c) => c.finishedAt)) : undefined);
  const { warning: _w, lastError: _e, finishedAt: _f, ...own } = parent;
  return {
    ...own,
    state,
    stage: ended ? null : 'backfill',
    progress: Math.floor(sum(children.map((c) => c.progress)) / Math.max(1, children.length)),
    rows: sum(children.map((c) => c.rows)),
    rowsRejected: sum(children.map((c) => c.rowsRejected)),
    bytes: sum(children.map((c) => c.bytes)),
    updatedAt: latest([parent.updatedAt, ...children.map((c) => c.updatedAt)]) ?? parent.updatedAt,
    ...nonEmpty('newColumns', union(children.map((c) => c.newColumns))),
    ...nonEmpty('extraFields', union(children.map((c) => c.extraFields))),
    ...(warnings.length > 0 ? { warning: warnings.join('; ') } : {}),
    ...(lastError ? { lastError } : {}),
    ...(finishedAt ? { finishedAt } : {}),
  };
}

export async function childrenOf(store: ExportStore, parent: ExportRecord) {
  // One round trip: every window that ends reads all of them.
  return store.getMany(parent.children ?? []);
}

/**
 * Ends a backfill parent once its last child has ended, with the children's totals, so it lists
 * under its final state and its callback can go. Safe to repeat and to race: an ended parent
 * is left as it is. Returns the parent if it has ended.
 */
export async function settleBackfill(
  store: ExportStore,
  parentId: string,
): Promise<ExportRecord | undefined> {
  const parent = await store.get(parentId);
  if (!parent?.children) return undefined;
  if (ExportStore.isTerminal(parent)) return parent;
  const {
    id: _id,
    children: _c,
    createdAt: _t,
    ...rolled
  } = rollUp(parent, await childrenOf(store, parent));
  if (!TERMINAL_STATES.includes(rolled.state)) return undefined;
  return store.update(parentId, rolled);
}

/** After a child export ended: its parent ends with the last child and sends its own callback. */
export async function endChildOf(
  deps: { store: ExportStore; onFinished?: (exportId: string) => Promise<void> },
  child: ExportRecord,
): Promise<void> {
  if (!child.parentId) return;
  const parent = await settleBackfill(deps.store, child.parentId);
  if (parent?.callbackUrl && parent.state !== 'cancelled') await deps.onFinished?.(parent.id);
}
