// btrfs's feature flags (the superblock's compat, compat_ro and incompat words), which of
// them pmcow runs, and the names of those it refuses (EOPNOTSUPP, by name), for images made
// elsewhere (mkfs.btrfs, Linux). pmcow's own images carry PMCOW_INCOMPAT; an image it
// adopted keeps its own accepted bits (EXTENDED_IREF, BIG_METADATA: they only allow
// structures, and pmcow writes none that need them).
import {
  INCOMPAT_MIXED_BACKREF, INCOMPAT_EXTENDED_IREF, INCOMPAT_SKINNY_METADATA,
  INCOMPAT_NO_HOLES, PMCOW_INCOMPAT,
} from './format.js';

const INCOMPAT_DEFAULT_SUBVOL = 1 << 1;
const INCOMPAT_BIG_METADATA = 1 << 5;
/** Incompat bits pmcow mounts with. */
const ACCEPTED_INCOMPAT =
  INCOMPAT_MIXED_BACKREF | INCOMPAT_DEFAULT_SUBVOL | INCOMPAT_BIG_METADATA
  | INCOMPAT_EXTENDED_IREF | INCOMPAT_SKINNY_METADATA | INCOMPAT_NO_HOLES;

const COMPAT_RO_FREE_SPACE_TREE = 1;
const COMPAT_RO_FREE_SPACE_TREE_VALID = 2;

const INCOMPAT_NAMES: Array<[number, string]> = [
  [1 << 3, 'lzo compression'], [1 << 4, 'zstd compression'], [1 << 7, 'RAID5/6'],
  [1 << 10, 'a metadata uuid'],
  [1 << 11, 'RAID1C3/4'], [1 << 12, 'zoned mode'], [1 << 13, 'extent tree v2'],
  [1 << 14, 'the raid stripe tree'],
  [1 << 16, 'simple quotas'],
];
const COMPAT_RO_NAMES: Array<[number, string]> =
  [[1 << 2, 'fs-verity'], [1 << 3, 'the block group tree']];

/** Why pmcow cannot run an image with these feature words, or null (values below 2^53). */
export function featureProblem(compat: number, compatRo: number, incompat: number): string | null {
  // (Bit operations below read 32 bits: no feature btrfs has defined is higher.)
  if (compatRo >= 2 ** 32 || incompat >= 2 ** 32) {
    return `feature bits above bit 31 (compat_ro ${compatRo.toString(16)}, incompat`
      + ` ${incompat.toString(16)})`;
  }
  if (compat !== 0) return `compat features ${compat.toString(16)}`;
  const roLeft = compatRo & ~(COMPAT_RO_FREE_SPACE_TREE | COMPAT_RO_FREE_SPACE_TREE_VALID);
  if (roLeft !== 0) return named(COMPAT_RO_NAMES, roLeft, 'compat_ro');
  const left = incompat & ~ACCEPTED_INCOMPAT;
  if (left !== 0) return named(INCOMPAT_NAMES, left, 'incompat');
  if (!(incompat & INCOMPAT_SKINNY_METADATA)) {
    return 'tree block extent items without skinny metadata (pmcow reads SKINNY_METADATA images)';
  }
  if (!(incompat & INCOMPAT_MIXED_BACKREF)) {
    return 'the old back reference format (no MIXED_BACKREF)';
  }
  return null;
}

function named(names: Array<[number, string]>, bits: number, word: string): string {
  const known = names.filter(([bit]) => (bits & bit) !== 0).map(([, name]) => name);
  const unknown = names.reduce((left, [bit]) => left & ~bit, bits);
  if (unknown) known.push(`${word} feature bits ${unknown.toString(16)}`);
  return known.join(', ');
}

/**
 * The incompat word pmcow writes for an image that had `incompat`: its accepted bits and
 * pmcow's own.
 */
export function incompatAfterAdoption(incompat: number): number {
  return (incompat & ACCEPTED_INCOMPAT) | PMCOW_INCOMPAT;
}
