import type { Redis } from 'ioredis';

export type Labels = Record<string, string>;

const series = (name: string, labels: Labels) =>
  `${name}{${Object.entries(labels)
    .map(([k, v]) => `${k}="${v.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`)
    .join(',')}}`;

/**
 * Counters every process of fsx adds to, kept in one Redis hash so the intake's /metrics shows the
 * whole system, however many worker processes there are and however often they restart.
 */
export class PipelineMetrics {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private get key() {
    return `${this.prefix}:metrics`;
  }

  /** Adds to a counter. Metrics must never fail the work they describe, so errors are dropped. */
  count(name: string, labels: Labels, by = 1): void {
    this.redis.hincrbyfloat(this.key, series(name, labels), by).catch(() => undefined);
  }

  /** Every counter: `name{labels}` → value. */
  async read(): Promise<{ name: string; labels: Labels; value: number }[]> {
    const all = await this.redis.hgetall(this.key);
    return Object.entries(all).map(([key, value]) => {
      const [, name = key, body = ''] = /^([^{]+)\{(.*)\}$/.exec(key) ?? [];
      const labels = Object.fromEntries(
        [...body.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
      );
      return { name, labels: labels as Labels, value: Number(value) };
    });
  }
}

/** The counters fsx keeps, with their help text; /metrics exports exactly these. */
export const METRICS = {
  fsx_fullstory_calls_total: 'FullStory API calls by stage (the endpoint it calls) and outcome',
  fsx_fullstory_rate_limited_total: 'FullStory calls answered 429 despite the shared limiter',
  fsx_limiter_waits_total: 'Jobs delayed because the shared limiter had no token',
  fsx_stage_job_seconds_sum: 'Seconds spent in stage jobs',
  fsx_stage_job_seconds_count: 'Stage jobs run',
  fsx_rows_ingested_total: 'Rows loaded, by sink',
  fsx_rows_rejected_total: 'Rows quarantined, by sink',
  fsx_exports_finished_total: 'Exports that ended, by state',
  fsx_send_items_total: "Items sent to FullStory's server API, by kind and outcome",
  fsx_sends_finished_total:
    'Sends (intake requests of users or events) whose every item has an outcome',
} as const;
export type MetricName = keyof typeof METRICS;
