// Sequence numbers are u32 and wrap: `a` is before `b` when their signed difference is
// negative (every live number lies within 2^31 of every other).
@inline export function seqBefore(a: u32, b: u32): bool {
  return <i32>(a - b) < 0;
}
