import { createHash } from 'node:crypto';
import { BatchJobs, type BatchOptions } from './batches.js';
import { type ApiResult, fail } from './results.js';
import { ServerData, userView } from './users.js';

interface Org {
  data: ServerData;
  batches: BatchJobs;
  /** Idempotency-Key → the request's fingerprint and the answer it got. */
  answered: Map<string, { fingerprint: string; result: ApiResult }>;
}

/** The v2 server API's state: each API key's organisation, with its users, events and batches. */
export class ServerApi {
  private readonly orgs = new Map<string, Org>();

  constructor(private readonly batchOptions: BatchOptions) {}

  org(apiKey: string): Org {
    let org = this.orgs.get(apiKey);
    if (!org) {
      const data = new ServerData(1_000_000_000 * (this.orgs.size + 1));
      org = { data, batches: new BatchJobs(data, this.batchOptions), answered: new Map() };
      this.orgs.set(apiKey, org);
    }
    return org;
  }

  /**
   * Runs a write once per Idempotency-Key: a repeat gets the first answer without acting again;
   * the same key with a different request is refused. Server errors are not remembered.
   */
  once(
    org: Org,
    key: string | undefined,
    request: { method: string; url: string; body: unknown },
    act: () => ApiResult,
  ): ApiResult {
    if (!key) return act();
    const fingerprint = createHash('sha256')
      .update(`${request.method} ${request.url}\n${JSON.stringify(request.body)}`)
      .digest('hex');
    const seen = org.answered.get(key);
    if (seen)
      return seen.fingerprint === fingerprint
        ? seen.result
        : fail(400, 'invalid_argument', 'Idempotency-Key was used with a different request');
    const result = act();
    if (result.status < 500 && result.status !== 429)
      org.answered.set(key, { fingerprint, result });
    return result;
  }

  /** Everything stored, for tests (`GET /__sim/server`). */
  dump(nowMs: number) {
    return Object.fromEntries(
      [...this.orgs.entries()].map(([key, org]) => {
        org.batches.settle(nowMs);
        return [
          key,
          {
            users: [...org.data.users.values()].map((u) => ({ ...userView(u), writes: u.writes })),
            events: org.data.events,
          },
        ];
      }),
    );
  }
}
