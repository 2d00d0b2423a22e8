// The range operations in the workload language (copy, exchange, dedupe, collapse,
// insert): the runner's results, the reference model's verdict for every errno case (the
// file system must agree: checkScript judges each result by the model), and crash images
// of scripts that use each of them on datacow and nodatacow files, with in-place writes
// and stores through mappings before the extents move.
import { beforeAll, describe, expect, it } from 'vitest';
import { checkScript, fuzzDevices } from '../src/crash/fuzz.js';
import { loadCoreModule } from '../src/core/module.js';
import { CrashModel } from '../src/model/crash-model.js';
import { parse, print, runScript } from '../src/workload/index.js';

beforeAll(async () => { await loadCoreModule(); });

const MAX = 2 ** 50;

describe('range operations in the runner', () => {
  it('reports the bytes copied, the dedupe status and the bytes deduped; sizes follow collapse and insert', async () => {
    const r = await runScript(`create /a
write /a 0 10000 seed 1
create /b
copy /a 4096 /b 0 65536
copy /a 20000 /b 0 4096
dedupe /a 4096 /b 0 5904
write /b 0 4096 seed 7
dedupe /a 0 /b 0 4096
insert /a 4096 8192
stat /a
collapse /a 0 4096
stat /a
exchange /a 0 /b 0 4096
read /a 0 4096
read /b 0 4096
`);
    expect(r.failure).toBeUndefined();
    const at = (line: number) => r.results.find((x) => x.line === line)!;
    expect(at(4)).toMatchObject({ bytes: 5904, value: 'copied=5904' }); // cut at the source's EOF
    expect(at(5)).toMatchObject({ bytes: 0, value: 'copied=0' }); // from past EOF
    expect(at(6)).toMatchObject({ bytes: 5904, value: 'same deduped=5904' }); // both ranges end at EOF: compared whole
    expect(at(8)).toMatchObject({ bytes: 0, value: 'differs deduped=0' });
    expect(at(10).value).toBe('file size=18192 nlink=1');
    expect(at(12).value).toBe('file size=14096 nlink=1');
    // /a's first page after the collapse is the hole the insert left: exchanged, /b reads zeros there.
    const zeros = (await runScript('create /z\ntruncate /z 4096\nread /z 0 4096\n')).results[2]!.checksum;
    expect(at(15).checksum).toBe(zeros);
    expect(at(14).checksum).not.toBe(zeros);
  });

  it('exchange keeps the checksums of pages stored through a mapping (a read after it failed with EIO)', async () => {
    for (const second of ['/f', '/g']) {
      const r = await runScript(`create /f
create /g
write /f 0 16384 seed 1
write /g 0 16384 seed 3
commit
mmap m /f 0 16384 rw
mstore m 8192 100 seed 2
exchange /f 8192 ${second} 0 4096
read /f
read /g
crash
mount
read /f
check
`);
      expect(r.failure, second).toBeUndefined();
    }
  });
});

// Every errno case of each operation, and the model's verdict: `ok`, errnos, or both where
// the model leaves the answer open; with the result a copy or a dedupe must report.
const ERRNO_SCRIPT = `mkdir /d
create /a
write /a 0 10000 seed 1
create /b
write /b 0 16384 seed 2
create /n
setflag /n nodatacow
write /n 0 8192 seed 3
create /i
setflag /i nodatacow
write /i 0 8192 seed 4
snapshot / /s ro
setflag /i dax-immutable
copy /nope 0 /a 0 10
copy /a 0 /d 0 10
copy /a 0 /a 4096 8192
copy /a 8192 /a 4096 8192
copy /a 20000 /b 0 100
copy /a 0 /i 0 4096
copy /a 0 /s/b 0 4096
copy /a 20000 /s/b 0 4096
copy /a 0 /b ${MAX - 4} 4096
copy /a 4096 /b 0 8192
copy /a 0 /n 4096 4096
copy /b 0 /a 12288 8192
exchange /a 1 /b 0 4096
exchange /a 0 /b 16384 4096
exchange /a 0 /a 4096 8192
exchange /a 0 /n 0 4096
exchange /n 0 /i 0 4096
exchange /s/a 0 /s/b 0 4096
exchange /a 0 /d 0 4096
exchange /a 0 /b 0 0
exchange /a 16384 /b 0 4096
dedupe /a 16384 /b 0 8192
dedupe /a 0 /d 0 4096
dedupe /a 100 /b 0 4096
dedupe /a 0 /n 0 4096
dedupe /n 0 /i 0 4096
dedupe /a 0 /s/b 0 4096
dedupe /a 0 /a 4096 8192
dedupe /a 0 /b 0 0
dedupe /a 0 /b 4096 4096
write /a 0 8192 seed 9
write /b 8192 8192 seed 9
dedupe /a 0 /b 8192 8192
dedupe /a 0 /b 8192 6000
collapse /a 0 0
collapse /a 4096 16384
collapse /a 100 4096
collapse /d 0 4096
collapse /nope 0 4096
collapse /i 0 4096
collapse /s/a 0 4096
collapse /a ${MAX} 4096
collapse /a 4096 4096
insert /a 16384 4096
insert /a 0 ${MAX}
insert /n 4096 4096
freeze
collapse /a 0 4096
copy /a 100000 /b 0 10
dedupe /a 0 /b 4096 4096
exchange /a 0 /b 0 0
thaw
`;

function verdicts(script: string): string[] {
  const model = new CrashModel({ deviceBytes: 4 << 20 });
  const out: string[] = [];
  for (const stmt of parse(script).stmts) {
    if (stmt.op === 'comment') continue;
    const e = model.begin(stmt);
    const answers = [...(e.ok ? ['ok'] : []), ...[...e.errnos].sort()].join('|');
    out.push(`${print([stmt]).trim()} -> ${answers}${e.value !== undefined && e.ok ? ` ${e.value}` : ''}`);
    const errno = e.ok ? null : [...e.errnos][0]!;
    expect(model.end(errno ? { ok: false, errno, message: '' } : { ok: true, ...(e.value !== undefined ? { value: e.value } : {}) }, () => '')).toEqual([]);
  }
  return out;
}

describe('range operations in the reference model', () => {
  it('gives the errno Linux and docs/fs.md give for each bad argument, and the file system agrees', () => {
    const got = verdicts(ERRNO_SCRIPT).slice(13);
    expect(got).toEqual([
      'copy /nope 0 /a 0 10 -> ENOENT',
      'copy /a 0 /d 0 10 -> EISDIR',
      'copy /a 0 /a 4096 8192 -> EINVAL', // the ranges overlap, cut at EOF or not
      'copy /a 8192 /a 4096 8192 -> ok|EINVAL copied=1808', // only the asked length overlaps: Linux copies, pmcow refuses
      'copy /a 20000 /b 0 100 -> ok copied=0',
      'copy /a 0 /i 0 4096 -> EPERM',
      'copy /a 0 /s/b 0 4096 -> EROFS',
      'copy /a 20000 /s/b 0 4096 -> ok|EROFS copied=0',
      `copy /a 0 /b ${MAX - 4} 4096 -> EFBIG`,
      'copy /a 4096 /b 0 8192 -> ok copied=5904', // unaligned end inside /b: copied, not shared
      'copy /a 0 /n 4096 4096 -> ok copied=4096', // datacow to nodatacow: copied
      'copy /b 0 /a 12288 8192 -> ok copied=8192', // aligned, one kind: a reflink
      'exchange /a 1 /b 0 4096 -> EINVAL',
      'exchange /a 0 /b 16384 4096 -> EINVAL',
      'exchange /a 0 /a 4096 8192 -> EINVAL',
      'exchange /a 0 /n 0 4096 -> EINVAL',
      'exchange /n 0 /i 0 4096 -> EPERM',
      'exchange /s/a 0 /s/b 0 4096 -> EROFS',
      'exchange /a 0 /d 0 4096 -> EISDIR',
      'exchange /a 0 /b 0 0 -> ok',
      'exchange /a 16384 /b 0 4096 -> ok',
      'dedupe /a 16384 /b 0 8192 -> EINVAL', // the source range past EOF fails the call
      'dedupe /a 0 /d 0 4096 -> EISDIR',
      'dedupe /a 100 /b 0 4096 -> EINVAL',
      'dedupe /a 0 /n 0 4096 -> EINVAL',
      'dedupe /n 0 /i 0 4096 -> EPERM',
      'dedupe /a 0 /s/b 0 4096 -> EROFS',
      'dedupe /a 0 /a 4096 8192 -> EINVAL',
      'dedupe /a 0 /b 0 0 -> ok same deduped=0',
      'dedupe /a 0 /b 4096 4096 -> ok differs deduped=0',
      'write /a 0 8192 seed 9 -> ok',
      'write /b 8192 8192 seed 9 -> ok',
      'dedupe /a 0 /b 8192 8192 -> ok same deduped=8192',
      'dedupe /a 0 /b 8192 6000 -> ok same deduped=4096', // not at both EOFs: cut to whole blocks
      'collapse /a 0 0 -> EINVAL',
      'collapse /a 4096 16384 -> EINVAL', // reaches EOF
      'collapse /a 100 4096 -> EINVAL',
      'collapse /d 0 4096 -> EISDIR',
      'collapse /nope 0 4096 -> ENOENT',
      'collapse /i 0 4096 -> EPERM',
      'collapse /s/a 0 4096 -> EROFS',
      `collapse /a ${MAX} 4096 -> EFBIG|EINVAL`,
      'collapse /a 4096 4096 -> ok',
      'insert /a 16384 4096 -> EINVAL', // at EOF
      `insert /a 0 ${MAX} -> EFBIG`,
      'insert /n 4096 4096 -> ok',
      'freeze -> ok',
      'collapse /a 0 4096 -> EBUSY',
      'copy /a 100000 /b 0 10 -> ok|EBUSY copied=0', // nothing to do: returns before the freeze could refuse it
      'dedupe /a 0 /b 4096 4096 -> EBUSY',
      'exchange /a 0 /b 0 0 -> ok|EBUSY',
      'thaw -> ok',
    ]);
    const r = checkScript(parse(ERRNO_SCRIPT), {}, fuzzDevices());
    expect(r.violations.map((v) => `${v.kind}: ${v.point}: ${v.problems.join('; ')}`)).toEqual([]);
    expect(r.unjudged).toBeNull();
  });

  it('refuses a wrong dedupe status, a wrong byte count and a wrong success', () => {
    const modelAfter = (setup: string): CrashModel => {
      const model = new CrashModel({ deviceBytes: 4 << 20 });
      for (const stmt of parse(setup).stmts) {
        if (stmt.op === 'comment') continue;
        model.begin(stmt);
        expect(model.end({ ok: true }, () => '')).toEqual([]);
      }
      return model;
    };
    const SETUP = 'create /a\nwrite /a 0 8192 seed 1\ncreate /b\nwrite /b 0 8192 seed 1\n';
    const [dedupe, copy, collapse] = parse('dedupe /a 0 /b 0 8192\ncopy /a 0 /b 100 9000\ncollapse /a 0 8192\n').stmts;
    let model = modelAfter(SETUP);
    model.begin(dedupe!);
    expect(model.end({ ok: true, value: 'differs deduped=0' }, () => '')).toEqual(['reported "differs deduped=0", expected "same deduped=8192"']);
    model = modelAfter(SETUP);
    model.begin(copy!);
    expect(model.end({ ok: true, value: 'copied=9000' }, () => '')).toEqual(['reported "copied=9000", expected "copied=8192"']);
    model = modelAfter(SETUP);
    model.begin(collapse!);
    expect(model.end({ ok: true }, () => '')).toEqual(['succeeded, expected EINVAL']);
  });
});

// Scripts whose crash images the explorer checks against the model: each operation on
// datacow and nodatacow files, with in-place writes (nodatacow) and stores through
// mappings before the extents move, and no persistence point between them and the crash.
const CRASH_SCRIPTS: Record<string, string> = {
  datacow: `create /a
write /a 0 40000 seed 1
create /b
write /b 0 24576 seed 2
commit
copy /a 4096 /b 8192 12288
copy /a 100 /b 30000 5000
exchange /a 0 /b 16384 8192
dedupe /a 16384 /b 0 4096
write /b 0 4096 seed 3
write /a 16384 4096 seed 3
dedupe /a 16384 /b 0 4096
collapse /a 8192 8192
insert /b 4096 12288
`,
  nodatacow: `create /n
setflag /n nodatacow
write /n 0 32768 seed 1
create /m
setflag /m nodatacow
write /m 0 20000 seed 2
commit
write /n 1000 3000 seed 3
write /m 8192 100 seed 4
collapse /n 4096 8192
write /n 100 50 seed 5
insert /m 4096 4096
exchange /n 0 /m 8192 8192
copy /n 0 /m 20480 8192
copy /n 10 /m 4096 5000
write /n 8192 4096 seed 6
write /m 0 4096 seed 6
dedupe /n 8192 /m 0 4096
`,
  mapped: `create /n
setflag /n nodatacow
write /n 0 32768 seed 1
create /f
write /f 0 32768 seed 2
commit
mmap p /n 0 32768 rw
mstore p 5000 9000 seed 3
mmap q /f 0 32768 rw
mstore q 12000 6000 seed 4
collapse /n 0 4096
insert /f 8192 4096
mstore p 100 200 seed 5
exchange /f 0 /f 16384 8192
mload q 0 4096
munmap p
munmap q
`,
};

describe('range operations under the crash checker', () => {
  for (const [name, body] of Object.entries(CRASH_SCRIPTS)) {
    for (const crash of ['crash', 'crash random 3']) {
      it(`${name}, ${crash}: every crash image is a state the model allows, and the end is judged`, () => {
        const script = parse(`${body}${crash}\nmount\ncheck\n`);
        const r = checkScript(script, { points: 'store+fence+op', samples: 16 }, fuzzDevices());
        expect(r.violations.map((v) => `${v.kind}: ${v.point}: ${v.problems.join('; ')}`)).toEqual([]);
        expect(r.unjudged).toBeNull();
        expect(r.images).toBeGreaterThan(100);
      });
    }
  }
});

describe('exchange and the bytes past EOF', () => {
  it('a range over the last, partial page is EINVAL: it would carry bytes a mapping stored past EOF into the file (found by fuzz --generator fsx --seed 7 --ops 100)', () => {
    const options = { sizeBytes: 16 << 20, samples: 8 };
    const r = checkScript(parse(`open /f0 creat
rename /f0 /f1
mmap m3 /f1 0 40960 rw
write /f1 12288 8396 seed 39
expect SIGBUS mstore m3 21155 5510 seed 59
expect EINVAL exchange /f1 0 /f1 16384 8192
exchange /f1 0 /f1 8192 8192
read /f1
`), options, fuzzDevices(options));
    expect(r.violations.map((v) => v.problems.join('; '))).toEqual([]);
    expect(r.unjudged).toBeNull();
  });
});
