// The file system's uuids (btrfs's fsid and chunk tree uuid): 16 bytes each, written into
// the superblock and into every tree block's header. mkfs derives them from its
// arguments unless given one, so the same mkfs on the same device size gives the same
// image byte for byte (crash images and fuzz reproducers stay reproducible); btrfs's mkfs
// takes random ones, and `mkfs.btrfs -U` a given one, as `uuid` does here.
import { FsError } from '../errors.js';

export const UUID_BYTES = 16;

const UUID_TEXT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The 16 bytes of a uuid written as text (8-4-4-4-12 hex digits); EINVAL otherwise. */
export function parseUuid(text: string): Uint8Array {
  if (typeof text !== 'string' || !UUID_TEXT.test(text)) {
    throw new FsError('EINVAL', `uuid must be 8-4-4-4-12 hex digits, got ${JSON.stringify(text)}`);
  }
  const hex = text.replace(/-/g, '');
  const bytes = new Uint8Array(UUID_BYTES);
  for (let i = 0; i < UUID_BYTES; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  if (bytes.every((b) => b === 0)) throw new FsError('EINVAL', 'uuid must not be all zeros');
  return bytes;
}

export function uuidText(bytes: Uint8Array): string {
  if (bytes.length !== UUID_BYTES) throw new RangeError('a uuid is 16 bytes');
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}`
    + `-${hex.slice(20)}`;
}

/**
 * A version-4-shaped uuid derived from `seed` (four FNV-1a words of it): deterministic,
 * never zero.
 */
export function derivedUuid(seed: string): Uint8Array {
  const bytes = new Uint8Array(UUID_BYTES);
  const dv = new DataView(bytes.buffer);
  const text = new TextEncoder().encode(seed);
  for (let i = 0; i < 4; i++) {
    let hash = 0x811c9dc5 ^ i;
    for (const byte of text) hash = Math.imul(hash ^ byte, 0x01000193);
    dv.setUint32(4 * i, hash >>> 0, true);
  }
  bytes[6] = (bytes[6]! & 0x0f) | 0x40; // version 4
  bytes[8] = (bytes[8]! & 0x3f) | 0x80; // RFC 4122 variant
  return bytes;
}
