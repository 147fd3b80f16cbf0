export { createApp } from './app.js';
export type { IntakeDeps } from './deps.js';
export { createExportBodySchema } from './http-schemas.js';
