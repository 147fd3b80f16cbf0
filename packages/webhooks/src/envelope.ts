import { z } from 'zod';

export const envelopeSchema = z.object({
  eventName: z.string().min(1).max(200),
  version: z.union([z.number(), z.string()]).optional(),
  data: z.record(z.string(), z.unknown()).default({}),
});
export type WebhookEnvelope = z.infer<typeof envelopeSchema>;

export const noteSchema = z.object({
  id: z.string().min(1),
  created: z.string().optional(),
  author: z.string().optional(),
  text: z.string().optional(),
  sessionUrl: z.string().optional(),
  userUrl: z.string().optional(),
  shareLink: z.string().optional(),
  notedTime: z.string().optional(),
  pageInfo: z.record(z.string(), z.unknown()).optional(),
});
export type Note = z.infer<typeof noteSchema>;

export const trendAlertSchema = z.object({
  id: z.string().min(1),
  timestamp: z.string(),
  value: z.unknown().optional(),
  alertConfig: z.object({
    duration: z.enum(['DAILY', 'WEEKLY', 'MONTHLY']),
    segmentUrl: z.string(),
    segmentName: z.string().optional(),
    direction: z.string().optional(),
    threshold: z.unknown().optional(),
  }),
});

/** An event's id for de-duplication: FullStory retries a delivery with the same data.id. */
export function eventId(envelope: WebhookEnvelope, rawBodyHash: string): string {
  const id = envelope.data.id;
  return typeof id === 'string' || typeof id === 'number'
    ? `${envelope.eventName}:${id}`
    : `body:${rawBodyHash}`;
}
