// Acts on FullStory webhooks the intake verified and queued: notes, trend alerts, the rest kept.
import { runWebhookWorkerApp } from '@fsx/webhooks';

await runWebhookWorkerApp();
