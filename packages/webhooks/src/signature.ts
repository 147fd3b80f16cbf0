import { createHmac, timingSafeEqual } from 'node:crypto';

export type SignatureCheck =
  | { ok: true; org: string; timestamp: number }
  | { ok: false; reason: 'missing' | 'malformed' | 'mismatch' | 'stale' };

/**
 * Checks `Fullstory-Signature: o:<org>,t:<ts>,v:<base64 HMAC-SHA256(secret, "<body>:<o>:<t>")>`
 * over the raw body bytes (a re-serialised body would not match), in constant time, and refuses
 * timestamps outside the replay window.
 */
export function verifyFullStorySignature(
  rawBody: Buffer,
  header: string | undefined,
  secret: string,
  options: { nowMs?: number; replayWindowSeconds: number },
): SignatureCheck {
  if (!header) return { ok: false, reason: 'missing' };
  const parts = Object.fromEntries(
    header.split(',').map((part) => {
      const at = part.indexOf(':');
      return [part.slice(0, at).trim(), part.slice(at + 1).trim()];
    }),
  );
  const { o: org, t, v } = parts as Record<string, string | undefined>;
  const timestamp = Number(t);
  if (!org || !t || !v || !Number.isFinite(timestamp)) return { ok: false, reason: 'malformed' };
  const expected = createHmac('sha256', secret)
    .update(Buffer.concat([rawBody, Buffer.from(`:${org}:${t}`)]))
    .digest();
  const given = Buffer.from(v, 'base64');
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return { ok: false, reason: 'mismatch' };
  // FullStory's t is in seconds; accept milliseconds too rather than reject every delivery.
  const timestampMs = timestamp > 1e12 ? timestamp : timestamp * 1000;
  const nowMs = options.nowMs ?? Date.now();
  if (Math.abs(nowMs - timestampMs) > options.replayWindowSeconds * 1000)
    return { ok: false, reason: 'stale' };
  return { ok: true, org, timestamp };
}

/** The header FullStory would send; for tests and the simulator's contract checks. */
export function signFullStoryWebhook(
  rawBody: Buffer | string,
  secret: string,
  org: string,
  timestampSeconds: number,
): string {
  const v = createHmac('sha256', secret)
    .update(`${rawBody}:${org}:${timestampSeconds}`)
    .digest('base64');
  return `o:${org},t:${timestampSeconds},v:${v}`;
}
