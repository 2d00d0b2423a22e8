// Linux errno numbers. Core functions return a negative errno on failure so that no
// bad argument ever becomes a WebAssembly trap; src/errors.ts maps them to FsError names.
export const EPERM: i32 = 1;
export const ENOENT: i32 = 2;
export const EIO: i32 = 5;
export const E2BIG: i32 = 7;
export const EAGAIN: i32 = 11;
export const ENOMEM: i32 = 12;
export const EFAULT: i32 = 14;
export const EBUSY: i32 = 16;
export const EINVAL: i32 = 22;
export const ENOSPC: i32 = 28;
