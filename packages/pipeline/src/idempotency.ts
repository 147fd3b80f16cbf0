import { createHash } from 'node:crypto';
import { stringify } from 'safe-stable-stringify';

/** What a repeated request must match to be the same request: its content, keys in any order. */
export function requestFingerprint(request: unknown): string {
  return createHash('sha256')
    .update(stringify(request) ?? '')
    .digest('hex')
    .slice(0, 32);
}

/** What an idempotency key holds: the first request's id and its fingerprint. */
export const idempotencyValue = (id: string, fingerprint: string) => `${id} ${fingerprint}`;

/** A key already used for a different request: replaying the first would answer the wrong one. */
export class IdempotencyKeyReusedError extends Error {
  readonly code = 'idempotency_key_reused';
  constructor(
    readonly key: string,
    readonly firstId: string,
  ) {
    super(
      `Idempotency-Key "${key}" was already used for a different request (${firstId}); a new request needs a new key`,
    );
  }
}

/** The first request's id under `key`, if `fingerprint` is the same request's. */
export function firstRequestId(stored: string, fingerprint: string, key: string): string {
  const [id = stored, first] = stored.split(' ');
  // A key written before fingerprints were kept holds the id alone: nothing to compare.
  if (first && first !== fingerprint) throw new IdempotencyKeyReusedError(key, id);
  return id;
}
