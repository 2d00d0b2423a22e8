// Node worker_threads entry of a writer thread (compiled to dist/workers/node-entry.js).
/// <reference path="./comlink-node-adapter.d.ts" />
import { parentPort } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint, { type NodeEndpoint } from 'comlink/dist/esm/node-adapter.mjs';
import { WriterApi } from './writer-api.js';

if (!parentPort) throw new Error('node-entry must run in a worker thread');
Comlink.expose(new WriterApi(), nodeEndpoint(parentPort as unknown as NodeEndpoint));
