import { FAULT_KINDS, type FaultKind } from './options.js';

export type FaultScope = 'api' | 'server' | 'storage';

import { Prng } from './prng.js';
import type { SimStats } from './stats.js';

/**
 * Decides when to misbehave. Three sources, first match wins: a request's own `x-sim-fault`
 * header, faults queued with `inject()` (the next N eligible requests), and per-kind rates.
 */
export class FaultPlan {
  private readonly queued = new Map<string, number>();
  private readonly rng: Prng;

  constructor(
    private readonly rates: Record<FaultKind, number>,
    private readonly stats: SimStats,
    seed: string,
  ) {
    this.rng = new Prng(seed, 'faults');
  }

  /** Queues `times` faults of `kind`, optionally only for requests of one scope ('api' or 'storage'). */
  inject(kind: FaultKind, times = 1, scope?: FaultScope): void {
    const key = scope ? `${kind}@${scope}` : kind;
    this.queued.set(key, (this.queued.get(key) ?? 0) + times);
  }

  setRate(kind: FaultKind, rate: number): void {
    this.rates[kind] = rate;
  }

  /** Whether this request gets `kind`; counts every fault it hands out. */
  decide(kind: FaultKind, requested?: string | string[], scope?: FaultScope): boolean {
    const fault =
      this.fromHeader(kind, requested) ||
      (scope !== undefined && this.fromQueue(`${kind}@${scope}`)) ||
      this.fromQueue(kind) ||
      this.fromRate(kind);
    if (fault) this.stats.countFault(kind);
    return fault;
  }

  private fromHeader(kind: FaultKind, requested?: string | string[]): boolean {
    if (!requested) return false;
    const kinds = (Array.isArray(requested) ? requested.join(',') : requested).split(',');
    return kinds.map((k) => k.trim()).includes(kind);
  }

  private fromQueue(key: string): boolean {
    const left = this.queued.get(key) ?? 0;
    if (left <= 0) return false;
    this.queued.set(key, left - 1);
    return true;
  }

  private fromRate(kind: FaultKind): boolean {
    const rate = this.rates[kind];
    return rate > 0 && this.rng.next() < rate;
  }
}

export function isFaultKind(value: unknown): value is FaultKind {
  return typeof value === 'string' && (FAULT_KINDS as readonly string[]).includes(value);
}

export function isFaultScope(value: unknown): value is FaultScope {
  return value === 'api' || value === 'server' || value === 'storage';
}
