// Per-sector data checksums (btrfs: one crc32c per 4 KiB sector), computed and checked
// in place so that a whole extent costs one call.
import { crc32c } from "./crc32c";

export function sectorsCompute(data: usize, sectors: u32, sectorBytes: u32, out: usize): void {
  for (let i: u32 = 0; i < sectors; i++) {
    store<u32>(out + (<usize>i << 2), crc32c(data + <usize>i * sectorBytes, sectorBytes));
  }
}

// Index of the first sector whose checksum differs, or -1.
export function sectorsVerify(data: usize, sectors: u32, sectorBytes: u32, expected: usize): i32 {
  for (let i: u32 = 0; i < sectors; i++) {
    if (crc32c(data + <usize>i * sectorBytes, sectorBytes)
        != load<u32>(expected + (<usize>i << 2))) {
      return <i32>i;
    }
  }
  return -1;
}
