// A pmcow writer whose thread ends in the middle of its first run (test/writer-pool-manners.test.ts).
import { parentPort } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { WriterApi } from '../../dist/workers/writer-api.js';

class DiesOnRun extends WriterApi {
  async run() {
    process.exit(3); // in a worker thread: ends the thread, not the process
  }
}

Comlink.expose(new DiesOnRun(), nodeEndpoint(parentPort));
