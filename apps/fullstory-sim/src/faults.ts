import { FAULT_KINDS, type FaultKind } from './options.js';
import { Prng } from './prng.js';
import type { SimStats } from './stats.js';

/**
 * Decides when to misbehave. Three sources, first match wins: a request's own `x-sim-fault`
 * header, faults queued with `inject()` (the next N eligible requests), and per-kind rates.
 */
export class FaultPlan {
  private readonly queued = new Map<FaultKind, number>();
  private readonly rng: Prng;

  constructor(
    private readonly rates: Record<FaultKind, number>,
    private readonly stats: SimStats,
    seed: string,
  ) {
    this.rng = new Prng(seed, 'faults');
  }

  inject(kind: FaultKind, times = 1): void {
    this.queued.set(kind, (this.queued.get(kind) ?? 0) + times);
  }

  setRate(kind: FaultKind, rate: number): void {
    this.rates[kind] = rate;
  }

  /** Whether this request gets `kind`; counts every fault it hands out. */
  decide(kind: FaultKind, requested?: string | string[]): boolean {
    const fault = this.fromHeader(kind, requested) || this.fromQueue(kind) || this.fromRate(kind);
    if (fault) this.stats.countFault(kind);
    return fault;
  }

  private fromHeader(kind: FaultKind, requested?: string | string[]): boolean {
    if (!requested) return false;
    const kinds = (Array.isArray(requested) ? requested.join(',') : requested).split(',');
    return kinds.map((k) => k.trim()).includes(kind);
  }

  private fromQueue(kind: FaultKind): boolean {
    const left = this.queued.get(kind) ?? 0;
    if (left <= 0) return false;
    this.queued.set(kind, left - 1);
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
