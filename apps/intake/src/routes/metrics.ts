import { METRICS, type MetricName, PipelineMetrics } from '@fsx/pipeline';
import { STAGES } from '@fsx/queues';
import type { FastifyPluginAsync } from 'fastify';
import { Counter, collectDefaultMetrics, Registry } from 'prom-client';
import type { IntakeDeps } from '../deps.js';

/**
 * BullMQ writes each queue's metrics with their own HELP and TYPE lines; Prometheus wants one
 * family declared once with all its samples together.
 */
export function mergeFamilies(texts: string[]): string {
  const families = new Map<string, { meta: string[]; samples: string[] }>();
  for (const line of texts.flatMap((t) => t.split('\n')).filter(Boolean)) {
    const meta = /^# (HELP|TYPE) (\S+)/.exec(line);
    const name = meta ? (meta[2] as string) : (/^([^{\s]+)/.exec(line)?.[1] ?? line);
    const family = families.get(name) ?? { meta: [], samples: [] };
    families.set(name, family);
    if (meta && !family.meta.some((m) => m.startsWith(`# ${meta[1]} `))) family.meta.push(line);
    else if (!meta) family.samples.push(line);
  }
  return [...families.values()].flatMap((f) => [...f.meta, ...f.samples]).join('\n');
}

/**
 * Prometheus metrics for the whole system: BullMQ's own job counts per queue and state, the
 * counters every worker process adds to in Redis, and this process's runtime metrics.
 */
export const metricsRoutes =
  (deps: IntakeDeps): FastifyPluginAsync =>
  async (app) => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry, prefix: 'fsx_intake_' });
    const shared = new PipelineMetrics(deps.redis, deps.prefix);
    let snapshot: Awaited<ReturnType<PipelineMetrics['read']>> = [];
    for (const [name, help] of Object.entries(METRICS) as [MetricName, string][]) {
      new Counter({
        name,
        help,
        labelNames: ['stage', 'outcome', 'sink', 'state', 'kind'],
        registers: [registry],
        // The truth is in Redis: each scrape shows its totals as they are.
        collect() {
          this.reset();
          for (const entry of snapshot.filter((e) => e.name === name))
            this.inc(entry.labels, entry.value);
        },
      });
    }

    app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
      snapshot = await shared.read();
      const queues = await Promise.all(
        [
          ...STAGES.map((stage) => deps.queues[stage]),
          ...(deps.sends ? [deps.sends.queue] : []),
        ].map((queue) => queue.exportPrometheusMetrics()),
      );
      const text = `${await registry.metrics()}\n${mergeFamilies(queues)}\n`;
      return reply.type(registry.contentType).send(text);
    });
  };
