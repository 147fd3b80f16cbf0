// The fetch stage as its own process: scale it by running more of them.
import { runWorkerApp } from '@fsx/pipeline';

await runWorkerApp('fetch');
