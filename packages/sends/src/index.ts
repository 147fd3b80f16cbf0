export type { SendDeps, SendSettings } from './context.js';
export {
  type EventItem,
  eventItemSchema,
  itemSchemas,
  MAX_ITEMS_PER_REQUEST,
  SEND_KINDS,
  type SendKind,
  sendBodySchema,
  type UserItem,
  userItemSchema,
} from './items.js';
export { sendProcessor } from './processor.js';
export { createSendQueue, enqueueFlush, SEND_QUEUE, type SendJob, sendJobSchema } from './queue.js';
export { importPollDelayMs } from './send-import.js';
export { SEND_STATES, SendStore, type SendSummary, type SendView } from './send-store.js';
export { serverBucket } from './server-call.js';
export { runSendWorkerApp } from './worker-app.js';
