export { envelopeSchema, eventId, type Note, type WebhookEnvelope } from './envelope.js';
export {
  segmentIdFromUrl,
  type WebhookDeps,
  type WebhookRules,
  webhookProcessor,
} from './handler.js';
export { createWebhookQueue, enqueueWebhook, WEBHOOK_QUEUE, type WebhookJob } from './queue.js';
export {
  type SignatureCheck,
  signFullStoryWebhook,
  verifyFullStorySignature,
} from './signature.js';
export { runWebhookWorkerApp } from './worker-app.js';
