// A file the DAX benches map: `bytes` of a pattern, written whole and committed, nodatacow
// (set before the first write) or not. Shared by bench/dax.bench.mjs and the probes that load
// another build's dist/ (the file system comes in as `fs`, so this imports none).

/** A nodatacow or datacow file of `bytes`, written whole, committed. */
export function writtenFile(fs, path, bytes, { nocow }) {
  fs.create(path);
  if (nocow) fs.setNoDataCow(path);
  const fd = fs.open(path);
  const fill = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) fill[i] = (i * 31 + 7) & 255;
  fs.pwrite(fd, fill, 0);
  fs.close(fd);
  fs.commit();
}
