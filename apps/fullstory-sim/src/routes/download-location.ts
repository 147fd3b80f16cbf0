import type { FastifyRequest } from 'fastify';
import type { SimContext } from '../context.js';
import { faultHeader } from '../guard.js';
import type { SimOperation } from '../state.js';

export const BUCKET = 'fullstoryapp-search-export';

export function exportFileName(operation: SimOperation): string {
  const slug =
    operation.request.segmentName.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'segment';
  const day = new Date(operation.createdAtMs).toISOString().slice(0, 10).replaceAll('-', '');
  return `${slug}.${day}.${operation.request.format}.gz`;
}

/**
 * A signed, expiring storage URL, shaped like a GCS signed URL (several `&`-joined parameters, so
 * the `\u0026` escaping shows). With an `early_expiry` fault the signature expires now, while
 * `expires` still promises the usual lifetime — as a clock-skewed or revoked URL would behave.
 */
export function downloadLocation(
  ctx: SimContext,
  operation: SimOperation,
  request: FastifyRequest,
) {
  const now = Date.now();
  const advertised = now + ctx.options.urlTtlMs;
  const early = ctx.faults.decide('early_expiry', faultHeader(request));
  const signedUntil = early ? now : advertised;
  const resource = `/storage/${BUCKET}/${operation.searchExportId}/${exportFileName(operation)}`;
  const query = new URLSearchParams({
    'X-Goog-Algorithm': 'GOOG4-HMAC-SHA256',
    'X-Goog-Date': new Date(now).toISOString().replace(/[-:]|\.\d+/g, ''),
    'X-Goog-Expires': String(Math.ceil(ctx.options.urlTtlMs / 1000)),
    'X-Fsx-Until': String(signedUntil),
    'X-Goog-Signature': ctx.state.sign(resource, signedUntil),
  });
  return {
    location: `${ctx.publicUrl()}${resource}?${query.toString()}`,
    expires: new Date(advertised).toISOString(),
  };
}

/** FullStory writes `&` as `\u0026` inside the location; JSON.stringify would not. */
export function escapeAmpersands(json: string): string {
  return json.replaceAll('&', '\\u0026');
}
