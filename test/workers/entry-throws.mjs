// A writer entry that throws while loading (test/writer-pool-manners.test.ts).
throw new Error('this entry throws at load');
