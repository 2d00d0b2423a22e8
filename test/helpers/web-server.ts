// Build the playground (web/) into a temporary directory and serve it with Vite's preview
// server on a free port, with the COOP/COEP headers of web/vite.config.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, preview, type PreviewServer } from 'vite';

const webRoot = fileURLToPath(new URL('../../web', import.meta.url));
const configFile = join(webRoot, 'vite.config.ts');

export interface WebServer { url: string; close(): Promise<void> }

export async function serveBuiltPlayground(): Promise<WebServer> {
  const outDir = mkdtempSync(join(tmpdir(), 'pmcow-web-'));
  let server: PreviewServer;
  try {
    await build({ configFile, root: webRoot, logLevel: 'error', build: { outDir, emptyOutDir: true } });
    server = await preview({ configFile, root: webRoot, logLevel: 'error', build: { outDir }, preview: { host: '127.0.0.1', port: 0, strictPort: false, open: false } });
  } catch (e) {
    rmSync(outDir, { recursive: true, force: true });
    throw e;
  }
  const address = server.httpServer.address();
  if (!address || typeof address === 'string') throw new Error('preview server has no TCP address');
  return {
    url: `http://127.0.0.1:${address.port}/`,
    async close() {
      await server.close();
      rmSync(outDir, { recursive: true, force: true });
    },
  };
}
