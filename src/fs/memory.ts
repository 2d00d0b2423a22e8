// Typed access to the shared memory for the file-system layer. JS reads fields; the
// byte work (search, checksums, copies to the device) is the core's.
import { compareObjectids, type Key } from './format.js';
import { KEY_OBJECTID, KEY_OFFSET, KEY_TYPE, NEGATIVE_OBJECTIDS } from '../core/abi.js';

export class FsMemory {
  readonly u8: Uint8Array;
  readonly dv: DataView;
  constructor(buffer: ArrayBufferLike) {
    this.u8 = new Uint8Array(buffer);
    this.dv = new DataView(buffer);
  }
  u64(at: number): number {
    const lo = this.dv.getUint32(at, true);
    const hi = this.dv.getUint32(at + 4, true);
    return hi * 4294967296 + lo;
  }
  setU64(at: number, value: number): void {
    this.dv.setUint32(at, value >>> 0, true);
    this.dv.setUint32(at + 4, Math.floor(value / 4294967296) >>> 0, true);
  }
  u32(at: number): number { return this.dv.getUint32(at, true); }
  setU32(at: number, value: number): void { this.dv.setUint32(at, value >>> 0, true); }
  u16(at: number): number { return this.dv.getUint16(at, true); }
  setU16(at: number, value: number): void { this.dv.setUint16(at, value, true); }
  u8At(at: number): number { return this.u8[at]!; }
  setU8(at: number, value: number): void { this.u8[at] = value; }
  /**
   * A key's objectid: btrfs's special objectids at the top of the u64 range ((u64)-n for n
   * up to NEGATIVE_OBJECTIDS, e.g. the csum tree's -10) read as -n; others as numbers.
   */
  objectid(at: number): number {
    const lo = this.dv.getUint32(at, true), hi = this.dv.getUint32(at + 4, true);
    if (hi === 0xffffffff && lo >= 0x100000000 - NEGATIVE_OBJECTIDS) return lo - 0x100000000;
    return hi * 4294967296 + lo;
  }
  setObjectid(at: number, value: number): void {
    if (value < 0) {
      this.dv.setUint32(at, value >>> 0, true);
      this.dv.setUint32(at + 4, 0xffffffff, true);
    } else {
      this.setU64(at, value);
    }
  }
  key(at: number): Key {
    return { objectid: this.objectid(at + KEY_OBJECTID), type: this.u8[at + KEY_TYPE]!,
      offset: this.u64(at + KEY_OFFSET) };
  }
  /** compareKeys of the keys at `a` and `b`, without decoding them. */
  compareKeysAt(a: number, b: number): number {
    const ao = this.objectid(a + KEY_OBJECTID), bo = this.objectid(b + KEY_OBJECTID);
    if (ao !== bo) return compareObjectids(ao, bo);
    const at = this.u8[a + KEY_TYPE]!, bt = this.u8[b + KEY_TYPE]!;
    if (at !== bt) return at < bt ? -1 : 1;
    const af = this.u64(a + KEY_OFFSET), bf = this.u64(b + KEY_OFFSET);
    return af === bf ? 0 : af < bf ? -1 : 1;
  }
  /** compareKeys of the key at `a` with `k`, without decoding it. */
  compareKeyAt(a: number, k: Key): number {
    const ao = this.objectid(a + KEY_OBJECTID);
    if (ao !== k.objectid) return compareObjectids(ao, k.objectid);
    const at = this.u8[a + KEY_TYPE]!;
    if (at !== k.type) return at < k.type ? -1 : 1;
    const af = this.u64(a + KEY_OFFSET);
    return af === k.offset ? 0 : af < k.offset ? -1 : 1;
  }
  setKey(at: number, k: Key): void {
    this.setObjectid(at + KEY_OBJECTID, k.objectid);
    this.u8[at + KEY_TYPE] = k.type;
    this.setU64(at + KEY_OFFSET, k.offset);
  }
  copyWithin(dst: number, src: number, length: number): void {
    if (length > 0 && dst !== src) this.u8.copyWithin(dst, src, src + length);
  }
}
