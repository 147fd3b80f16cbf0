import { FAULT_KINDS, type FaultKind } from './options.js';

export interface ExportStats {
  operationId: string;
  segmentId: string;
  type: string;
  format: string;
  timeRange: { start: string; end: string };
  /** Filled once the file is generated: the exact rows a client must end up with. */
  rows?: number;
  hash?: string;
  bytes?: number;
  downloads: number;
  /** When the operation finished, and when a client first saw it COMPLETED (ms since epoch). */
  finishedAtMs?: number;
  durationMs?: number;
  completionSeenAtMs?: number;
  /** Polls of the operation: how many GET /operations calls it cost. */
  polls?: number;
}

/** Everything tests need to prove nothing was lost, duplicated or over-requested. */
export class SimStats {
  requests: Record<string, Record<string, number>> = {};
  rateLimited = 0;
  faults = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
  exports: Record<string, ExportStats> = {};
  operations = 0;
  /** Webhook delivery attempts by the receiver's status (0: no answer). */
  webhookDeliveries: Record<number, number> = {};

  countRequest(route: string, status: number): void {
    const byStatus = this.requests[route] ?? {};
    byStatus[status] = (byStatus[status] ?? 0) + 1;
    this.requests[route] = byStatus;
    if (status === 429) this.rateLimited += 1;
  }

  /** A download of an export's file: its exact rows become known, and the download is counted. */
  countDownload(id: string, file: { rows: number; hash: string; bytes: number }): void {
    const stats = this.exports[id];
    if (stats)
      Object.assign(stats, {
        rows: file.rows,
        hash: file.hash,
        bytes: file.bytes,
        downloads: stats.downloads + 1,
      });
  }

  countFault(kind: FaultKind): void {
    this.faults[kind] += 1;
  }

  toJSON() {
    return {
      requests: this.requests,
      rateLimited: this.rateLimited,
      faults: this.faults,
      operations: this.operations,
      webhookDeliveries: this.webhookDeliveries,
      exports: this.exports,
    };
  }
}
