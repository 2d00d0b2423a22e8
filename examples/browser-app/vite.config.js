// pmcow's device is a SharedArrayBuffer, which a browser gives only a cross-origin isolated
// page: every response needs these two headers, from the dev server and the preview server
// (and from whatever host serves dist/ later).
import { defineConfig } from 'vite';

const headers = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  server: { headers },
  preview: { headers },
});
