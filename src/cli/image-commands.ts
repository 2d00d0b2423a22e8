// pmcow export: a device's media bytes, or one crash image, written to a file; and the
// device images `pmcow run --image FILE` boots from (PmemDevice.fromImage).
import { writeFileSync } from 'node:fs';
import { FsError } from '../errors.js';
import { PmemDevice } from '../pmem/device.js';
import { Runner, DEFAULT_DEVICE_BYTES, type RunResult } from '../workload/run.js';
import { parse, ParseError } from '../workload/parse.js';
import { checkScriptSizes } from '../workload/limits.js';
import type { Script } from '../workload/ast.js';
import {
  EXIT_CLEAN, EXIT_VIOLATIONS, UsageError, parseCommand, intOption, readInput, readBinaryInput,
} from './args.js';

export const EXPORT_USAGE = `pmcow export SCRIPT --out FILE [--image FILE] [--crash-seed S]
  Run an op script (docs/workload.md), then write the device's media bytes to FILE: what
  survives a crash at the end of the script when no pending store reaches media (the
  strict crash image). With --crash-seed S, one random legal crash image of the pending
  state instead (the same seed on the same script gives the same image).
  --image FILE  run on a device loaded from FILE (written by pmcow export; the script's
                first operation mounts it) instead of a new one (formatted first)
  Exit 0 when the image was written, 1 when an operation had an unexpected outcome
  (nothing written), 2 on a usage error. The image loads with PmemDevice.fromImage.`;

/** The device of --image FILE, or undefined. */
export async function deviceFromImageOption(
  file: string | undefined,
): Promise<PmemDevice | undefined> {
  if (file === undefined) return undefined;
  const bytes = readBinaryInput(file, 'image');
  try {
    return await PmemDevice.fromImage(bytes);
  } catch (e) {
    if (e instanceof FsError) throw new UsageError(`image '${file}': ${e.message}`);
    throw e;
  }
}

function readScriptFile(path: string): Script {
  try {
    return parse(readInput(path, 'script'));
  } catch (e) {
    if (e instanceof ParseError) throw new UsageError(`${path}: ${e.message}`);
    throw e;
  }
}

/** Run `script` on the device of --image (mounted first) or on a new one (formatted first). */
export async function runOnImage(
  script: Script, image: PmemDevice | undefined,
): Promise<{ runner: Runner; result: RunResult }> {
  checkScriptSizes(script, image?.sizeBytes ?? DEFAULT_DEVICE_BYTES);
  const runner = await Runner.create(image ? { device: image, implicitMount: 'mount' } : {});
  return { runner, result: runner.run(script) };
}

export async function cmdExport(args: string[]): Promise<number> {
  const { positionals, values } = parseCommand('export', args, {
    out: { type: 'string' }, image: { type: 'string' }, 'crash-seed': { type: 'string' },
  }, { min: 1, max: 1, names: 'SCRIPT' });
  const outFile = values.out;
  if (typeof outFile !== 'string') throw new UsageError('export: --out FILE is required');
  const seed = intOption(values, 'crash-seed', { min: 0, max: 2 ** 32 - 1 });
  const script = readScriptFile(positionals[0]!);
  const image = await deviceFromImageOption(values.image as string | undefined);
  const { runner, result } = await runOnImage(script, image);
  try {
    if (result.failure) {
      process.stdout.write(
        `line ${result.failure.line}: ${result.failure.kind}: ${result.failure.message}\n`,
      );
      return EXIT_VIOLATIONS;
    }
    const dev = runner.device;
    let bytes: Uint8Array;
    if (seed === undefined) {
      bytes = dev.exportMedia();
    } else {
      const crashed = dev.crash({ mode: 'random', seed });
      try { bytes = crashed.exportMedia(); } finally { crashed.close(); }
    }
    writeFileSync(outFile, bytes);
    const what = seed === undefined ? 'the media after the script' : `crash image of seed ${seed}`;
    process.stdout.write(`${outFile}: ${bytes.length} bytes (${what})\n`);
    return EXIT_CLEAN;
  } finally {
    runner.close();
    image?.close();
  }
}
