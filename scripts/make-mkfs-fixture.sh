#!/usr/bin/env bash
# Make test/fixtures/mkfs-btrfs-6.2-rootdir.pack.gz: a 128 MiB image made by mkfs.btrfs
# (btrfs-progs 6.2, Debian) from a sample tree, packed by scripts/pack-image.mjs.
# test/adopt.test.ts mounts it (the tree's contents are rebuilt there from the same rules).
set -euo pipefail
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/root/d1/d2"
node -e "
const fs = require('fs'), r = process.argv[1];
fs.writeFileSync(r + '/small', 'hello, btrfs');
const m = new Uint8Array(20000); for (let i = 0; i < m.length; i++) m[i] = (i * 7) & 255; fs.writeFileSync(r + '/medium', m);
const s = new Uint8Array(1 << 20); s[700000] = 120; fs.writeFileSync(r + '/sparse', s);
fs.writeFileSync(r + '/empty', '');
fs.writeFileSync(r + '/d1/d2/n', 'nested\n');
const l = new Uint8Array(70000); for (let i = 0; i < l.length; i++) l[i] = (i >> 8) & 255; fs.writeFileSync(r + '/d1/large', l);
" "$work/root"
ln "$work/root/medium" "$work/root/d1/link"
truncate -s 128M "$work/img"
mkfs.btrfs -q --rootdir "$work/root" "$work/img"
node "$(dirname "$0")/pack-image.mjs" "$work/img" "$(dirname "$0")/../test/fixtures/mkfs-btrfs-6.2-rootdir.pack.gz"

# A second image whose data outgrows mkfs.btrfs's first data chunk: its second and third
# data chunks lie elsewhere on the device (stripe != logical start), which the adoption
# empties and removes (test/adopt.test.ts).
rm -rf "$work/root" "$work/img"
mkdir -p "$work/root"
node -e "
const fs = require('fs'), r = process.argv[1];
const a = new Uint8Array(6 << 20); for (let i = 0; i < a.length; i++) a[i] = (i * 31 + (i >> 12)) & 255; fs.writeFileSync(r + '/big1', a);
const b = new Uint8Array((6 << 20) + 1234); for (let i = 0; i < b.length; i++) b[i] = ((i >> 9) ^ (i & 7)) & 255; fs.writeFileSync(r + '/big2', b);
fs.writeFileSync(r + '/small', 'still here');
" "$work/root"
truncate -s 128M "$work/img"
mkfs.btrfs -q --rootdir "$work/root" "$work/img"
node "$(dirname "$0")/pack-image.mjs" "$work/img" "$(dirname "$0")/../test/fixtures/mkfs-btrfs-6.2-rootdir-large.pack.gz"
