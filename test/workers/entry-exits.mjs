// Not a pmcow writer: loads, listens to nothing, and its thread ends (test/writer-pool-manners.test.ts).
export const nothing = 0;
