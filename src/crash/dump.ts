// A whole-tree dump of a mounted file system: every path with its kind, size and bytes.
import type { FileSystem } from '../fs/filesystem.js';

export interface DumpEntry { kind: 'file' | 'dir' | 'subvolume'; size: number; data?: Uint8Array; nodatacow?: boolean; error?: string }
export type TreeDump = Map<string, DumpEntry>;

export function dumpTree(fs: FileSystem, root = '/'): TreeDump {
  const out: TreeDump = new Map();
  const walk = (dir: string): void => {
    for (const name of fs.readdir(dir)) {
      const path = dir === '/' ? `/${name}` : `${dir}/${name}`;
      const st = fs.stat(path);
      if (st.kind === 'file') {
        try {
          out.set(path, { kind: 'file', size: st.size, data: fs.readFile(path), nodatacow: st.nodatacow });
        } catch (e) {
          if ((e as { code?: string }).code !== 'EIO') throw e;
          out.set(path, { kind: 'file', size: st.size, nodatacow: st.nodatacow, error: (e as Error).message });
        }
      }
      else { out.set(path, { kind: st.kind, size: 0 }); walk(path); }
    }
  };
  walk(root);
  return out;
}

/** Differences between two dumps, as readable problems (at most `limit`). */
export function diffDumps(actual: TreeDump, expected: TreeDump, limit = 20): string[] {
  const problems: string[] = [];
  for (const [path, e] of expected) {
    const a = actual.get(path);
    if (!a) problems.push(`${path}: missing`);
    else if (a.kind !== e.kind) problems.push(`${path}: is a ${a.kind}, expected a ${e.kind}`);
    else if (a.error || e.error) { if (a.error !== e.error) problems.push(`${path}: read failed: ${a.error ?? e.error}`); }
    else if (e.kind === 'file') {
      if (a.size !== e.size) problems.push(`${path}: size ${a.size}, expected ${e.size}`);
      else if (e.data && a.data && Buffer.compare(Buffer.from(a.data), Buffer.from(e.data)) !== 0) {
        let at = 0;
        while (a.data[at] === e.data[at]) at++;
        problems.push(`${path}: contents differ at byte ${at}`);
      }
    }
    if (problems.length >= limit) return problems;
  }
  for (const path of actual.keys()) if (!expected.has(path)) problems.push(`${path}: unexpected`);
  return problems.slice(0, limit);
}
