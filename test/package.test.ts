// What `npm pack` ships: the built library, the CLI and the core's wasm, the README and
// the docs' text; not the sources, tests, benchmarks or the playground screenshot. An
// installed package (no bench/) does not offer `pmcow bench`.
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = new URL('..', import.meta.url).pathname;
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

describe('the npm package', () => {
  it('packs dist/ and the wasm (built by prepack), not sources, tests, bench or images', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.prepack).toMatch(/npm run build/);
    // --ignore-scripts: npm test has just built; the listing is what prepack's build ships.
    const out = execFileSync(npm, ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' });
    const [result] = JSON.parse(out) as Array<{ files: Array<{ path: string; size: number }>; unpackedSize: number }>;
    const paths = result!.files.map((f) => f.path);
    for (const need of ['package.json', 'README.md', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'build/release.wasm', 'build/debug.wasm']) {
      expect(paths, need).toContain(need);
    }
    const unwanted = paths.filter((p) => /^(src|test|bench|assembly|web|examples|\.ci)\//.test(p) || /\.(png|jpe?g|wat|map)$/.test(p) || p.startsWith('docs/img/'));
    expect(unwanted).toEqual([]);
    expect(paths.filter((p) => p.startsWith('docs/')).every((p) => p.endsWith('.md'))).toBe(true);
    expect(result!.unpackedSize).toBeLessThan(4 << 20);
  });

  it('an installed package (no bench/) neither lists nor runs pmcow bench', () => {
    // The installed layout: package.json, dist and build side by side, nothing else.
    const dir = mkdtempSync(join(tmpdir(), 'pmcow-installed-'));
    for (const part of ['package.json', 'dist', 'build/release.wasm']) cpSync(join(ROOT, part), join(dir, part), { recursive: true });
    // Its one dependency, as npm would install it.
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(join(ROOT, 'node_modules/comlink'), join(dir, 'node_modules/comlink'));
    const cli = join(dir, 'dist/cli/main.js');
    const help = spawnSync(process.execPath, [cli, '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('  fuzz ');
    expect(help.stdout).not.toMatch(/^\s+bench\b/m);
    const bench = spawnSync(process.execPath, [cli, 'bench'], { encoding: 'utf8' });
    expect(bench.status).toBe(2);
    expect(bench.stderr).toMatch(/unknown command 'bench': bench\/ is not in the npm package/);
    // The clone offers it.
    expect(spawnSync(process.execPath, [join(ROOT, 'dist/cli/main.js'), '--help'], { encoding: 'utf8' }).stdout).toMatch(/^\s+bench\b/m);
    const crc = spawnSync(process.execPath, [cli, 'crc32c', 'abc'], { encoding: 'utf8' });
    expect(crc.stdout.trim()).toBe('0x364b3fb7');
  });
});
