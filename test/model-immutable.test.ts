import { describe, expect, it } from 'vitest';
import { checkScript, fuzzDevices } from '../src/crash/fuzz.js';
import { parse } from '../src/workload/parse.js';
import { loadCoreModule } from '../src/core/module.js';
import { CrashModel } from '../src/model/crash-model.js';
import { randomScript } from '../src/workload/generate.js';
import { print } from '../src/workload/print.js';

// The DAX-immutable flag in the reference model: what setting it needs, what it refuses.
// Each statement's result is judged by the model (a disagreement is a finding); the
// expectations themselves are checked too, so the model cannot agree by saying nothing.
const SCRIPT = `create /h
setflag /h nodatacow
truncate /h 8192
setflag /h dax-immutable
write /h 0 4096 seed 1
setflag /h dax-immutable
create /p
setflag /p nodatacow
write /p 0 4096 seed 2
fallocate /p 4096 4096
setflag /p dax-immutable
create /c
write /c 0 4096 seed 3
setflag /c dax-immutable
create /i
setflag /i nodatacow
write /i 0 8192 seed 4
setflag /i dax-immutable nocap
setflag /i dax-immutable
write /i 0 10 seed 5
truncate /i 0
unlink /i
link /i /i2
rename /i /i3
clone /i /c
snapshot / /s ro
mmap m /i 0 8192 rw sync
mstore m 0 64 seed 6
mflush m 0 64
fence
clearflag /i dax-immutable
munmap m
clearflag /i dax-immutable
write /i 0 10 seed 7
snapshot / /s ro
`;

describe('the DAX-immutable flag in the reference model', () => {
  it('says what each statement returns, and the file system agrees', async () => {
    const model = new CrashModel({ deviceBytes: 4 << 20 });
    const expected: string[] = [];
    for (const stmt of parse(SCRIPT).stmts) {
      if (stmt.op === 'comment') continue;
      const e = model.begin(stmt);
      expected.push(`${print({ stmts: [stmt] }).trim()} -> ${e.ok ? 'ok' : [...e.errnos].sort().join('|')}`);
      const errno = e.ok ? null : [...e.errnos][0]!;
      model.end(errno ? { ok: false, errno, message: '' } : { ok: true }, () => '');
    }
    expect(expected).toEqual([
      'create /h -> ok', 'setflag /h nodatacow -> ok', 'truncate /h 8192 -> ok',
      'setflag /h dax-immutable -> EINVAL', // holes
      'write /h 0 4096 seed 1 -> ok',
      'setflag /h dax-immutable -> EINVAL', // the second page is still a hole
      'create /p -> ok', 'setflag /p nodatacow -> ok', 'write /p 0 4096 seed 2 -> ok', 'fallocate /p 4096 4096 -> ok',
      'setflag /p dax-immutable -> EINVAL', // a preallocated page
      'create /c -> ok', 'write /c 0 4096 seed 3 -> ok',
      'setflag /c dax-immutable -> EINVAL', // datacow
      'create /i -> ok', 'setflag /i nodatacow -> ok', 'write /i 0 8192 seed 4 -> ok',
      'setflag /i dax-immutable nocap -> EPERM',
      'setflag /i dax-immutable -> ok',
      'write /i 0 10 seed 5 -> EPERM', 'truncate /i 0 -> EPERM', 'unlink /i -> EPERM', 'link /i /i2 -> EPERM',
      'rename /i /i3 -> EPERM', 'clone /i /c -> EINVAL|EPERM', 'snapshot / /s ro -> EPERM',
      'mmap m /i 0 8192 rw sync -> ok', 'mstore m 0 64 seed 6 -> ok', 'mflush m 0 64 -> ok', 'fence -> ok',
      'clearflag /i dax-immutable -> EBUSY', // mapped
      'munmap m -> ok', 'clearflag /i dax-immutable -> ok', 'write /i 0 10 seed 7 -> ok', 'snapshot / /s ro -> ok',
    ]);
    await loadCoreModule();
    const r = checkScript(parse(SCRIPT), {}, fuzzDevices());
    expect(r.violations.map((v) => `${v.kind}: ${v.point}: ${v.problems.join('; ')}`)).toEqual([]);
    expect(r.unjudged).toBeNull();
  });

  it('the fsx generator sets, uses and clears the flag, and every such script is judged clean', async () => {
    await loadCoreModule();
    let withFlag = 0;
    for (let seed = 1; withFlag < 4 && seed < 200; seed++) {
      const script = randomScript({ seed, ops: 40, maxFileBytes: 64 << 10, maxOpBytes: 16 << 10 });
      if (!script.stmts.some((s) => s.op === 'setflag' && s.flag === 'dax-immutable' && !s.nocap)) continue;
      withFlag++;
      const r = checkScript(script, {}, fuzzDevices());
      expect(r.violations.map((v) => `seed ${seed}: ${v.kind}: ${v.point}: ${v.problems.join('; ')}`)).toEqual([]);
      expect(r.unjudged).toBeNull();
    }
    expect(withFlag).toBe(4);
  });
});
