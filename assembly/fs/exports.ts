// Exports of the file system's engine (assembly/fs/). Like every export of the core, each
// validates its arguments and returns a negative errno instead of trapping; u64 values
// cross as f64 (integers below 2^53) and addresses that may exceed 2^31 come back as f64.
export * from "./exports/state";
export * from "./exports/space";
export * from "./exports/tree";
export * from "./exports/refs";
export * from "./exports/lock";
export * from "./exports/dax-path";
