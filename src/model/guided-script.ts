// Whole workload scripts from the model-guided generator (guided-ops.ts): each statement is
// applied to a model of the namespace as it is drawn, so that the next is drawn from the
// tree the script has made so far, and a statement the model refuses carries the errno it
// must fail with (`expect`). The model tests draw the same statements one at a time
// (test/helpers/model-harness.ts); the crash fuzzer runs whole scripts of them
// (`fuzz --generator guided`): one generator for both.
import type { Script, Stmt } from '../workload/ast.js';
import { FsModel } from './namespace.js';
import { ModelError, Unspecified } from './model-errors.js';
import { applyToModel } from './apply-op.js';
import { OpGenerator, opRng, type GeneratorOptions } from './guided-ops.js';

export interface GuidedScriptOptions {
  seed: number;
  /** Statements drawn (default 30; a draw may add a few that finish it). */
  ops?: number;
  /** Largest file offset written (default 64 KiB). */
  maxFileBytes?: number;
}

/** A script of `ops` statements the model guides; the same for the same options. */
export function guidedScript(options: GuidedScriptOptions): Script {
  const model = new FsModel();
  // Crash-consistency checks: no nodatacow (in-place data is not atomic), no descriptors
  // kept open across statements, commits left to the fuzzer's persistence points.
  const generatorOptions: GeneratorOptions = {
    noDataCow: false, fds: false, commits: true, maxFileBytes: options.maxFileBytes ?? 64 << 10,
    softLimitBytes: 4 << 20,
  };
  const generator = new OpGenerator(opRng(options.seed), model, generatorOptions);
  const fds = new Map<string, number>();
  const stmts: Stmt[] = [{ op: 'comment', text: `guided workload seed ${options.seed}` }];
  const count = options.ops ?? 30;
  for (let drawn = 0; drawn < count; drawn++) {
    const op = generator.next(fds);
    try {
      applyToModel(model, op, fds);
      stmts.push(op);
    } catch (e) {
      if (e instanceof Unspecified) { stmts.push(op); continue; }
      if (!(e instanceof ModelError)) throw e;
      stmts.push({ ...op, expect: e.codes[0]! });
    }
  }
  return { stmts };
}
