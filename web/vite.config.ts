// Vite config of the browser playground (npm run web / web:build / web:preview).
// SharedArrayBuffer (the device's shared WebAssembly.Memory) exists only in a
// cross-origin isolated page: every response carries COOP same-origin + COEP require-corp,
// from the dev server and from the preview server alike.
import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

const webRoot = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = fileURLToPath(new URL('..', import.meta.url));

export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  root: webRoot,
  // Relative asset URLs: the built site works from any directory it is copied to.
  base: './',
  server: {
    headers: ISOLATION_HEADERS,
    // The page imports the core's TypeScript from ../src and its wasm from ../build.
    fs: { allow: [repoRoot] },
  },
  preview: { headers: ISOLATION_HEADERS },
  worker: { format: 'es' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // Keep the core wasm a file (fetched and compiled once per thread), never inlined.
    assetsInlineLimit: 0,
  },
});
