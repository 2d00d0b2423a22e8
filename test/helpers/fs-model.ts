// The tests' model of the file system API is the crash checker's own (src/model).
export * from '../../src/model/namespace.js';
