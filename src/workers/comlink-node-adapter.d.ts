// Types for comlink's own Node adapter. comlink 4.4.x ships it as
// dist/esm/node-adapter.mjs with a node-adapter.d.ts beside it, which TypeScript's
// NodeNext resolution does not pair with an .mjs file (it looks for .d.mts). These are the
// declarations of that .d.ts, unchanged. pool.ts and node-entry.ts pull it in with a
// reference directive (so that web/tsconfig.json, which only includes what web/src
// imports, sees it too); TypeScript 5.5+ does not copy such directives into dist/*.d.ts,
// and no exported type mentions the adapter.
declare module 'comlink/dist/esm/node-adapter.mjs' {
  import type { Endpoint } from 'comlink';
  export interface NodeEndpoint {
    postMessage(message: any, transfer?: any[]): void;
    on(type: string, listener: EventListenerOrEventListenerObject, options?: {}): void;
    off(type: string, listener: EventListenerOrEventListenerObject, options?: {}): void;
    start?: () => void;
  }
  export default function nodeEndpoint(nep: NodeEndpoint): Endpoint;
}
