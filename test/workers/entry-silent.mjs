// Not a pmcow writer: listens to its parent but never answers (test/writer-pool-manners.test.ts).
import { parentPort } from 'node:worker_threads';

parentPort.on('message', () => {});
