// Not a pmcow writer: a comlink worker exposing something else (test/writer-pool-manners.test.ts).
import { parentPort } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';

Comlink.expose({ hello: () => 'hi' }, nodeEndpoint(parentPort));
