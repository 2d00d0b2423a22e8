// Browser Web Worker entry of a writer thread: `new Worker(url, { type: 'module' })`.
import * as Comlink from 'comlink';
import { WriterApi } from './writer-api.js';

Comlink.expose(new WriterApi());
