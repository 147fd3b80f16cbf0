// Sends users and events accepted by the intake to FullStory's v2 server API, in batches.
import { runSendWorkerApp } from '@fsx/sends';

await runSendWorkerApp();
