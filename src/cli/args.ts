// Command-line parsing shared by every pmcow command: node's util.parseArgs (strict), a
// help check that runs before anything else, typed number options, and input files read
// with one-line errors. Errors a user can fix are UsageError (exit 2); see main.ts.
import { parseArgs } from 'node:util';
import { readFileSync, statSync } from 'node:fs';

export const EXIT_CLEAN = 0;
export const EXIT_VIOLATIONS = 1;
export const EXIT_USAGE = 2;
/** The checker itself failed (findings of kind internal-error) and found no violation. */
export const EXIT_INTERNAL = 3;

/** A mistake in the command line or in an input file: one line on stderr, exit 2. */
export class UsageError extends Error {}

/**
 * The exit code and the one stderr line for an error that ended a command. A UsageError
 * or an FsError (the library refused this input: a bad path inside a script, an option out
 * of bounds) is the user's to fix: 2. Anything else is the tool's own failure: 3, and
 * still one line, never a stack trace.
 */
export function describeFailure(
  error: unknown, isFsError: (e: unknown) => boolean,
): { code: number; line: string } {
  const oneLine = (text: string): string => text.replace(/\s*\n\s*/g, ' ').trim();
  if (error instanceof UsageError || isFsError(error)) {
    return { code: EXIT_USAGE, line: `pmcow: ${oneLine((error as Error).message)}` };
  }
  const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return { code: EXIT_INTERNAL, line: `pmcow: internal error: ${oneLine(what)}` };
}

type OptionSpec = { type: 'string' | 'boolean'; short?: string; multiple?: boolean };
export type Options = Record<string, OptionSpec>;
export type Values = Record<string, string | boolean | string[] | undefined>;

/** True when -h or --help comes before a `--`: the command prints its usage and nothing runs. */
export function wantsHelp(args: readonly string[]): boolean {
  for (const a of args) {
    if (a === '--') return false;
    if (a === '-h' || a === '--help') return true;
  }
  return false;
}

/**
 * Parse a command's arguments; any unknown option, missing value or extra positional is a
 * UsageError.
 */
export function parseCommand(
  command: string, args: string[], options: Options,
  positionals: { min: number; max: number; names: string },
): { positionals: string[]; values: Values } {
  let parsed: { positionals: string[]; values: Values };
  try {
    parsed = parseArgs({
      args, options, allowPositionals: true, strict: true,
    }) as { positionals: string[]; values: Values };
  } catch (e) {
    // parseArgs' messages name the option; drop its advice about '--' and positionals.
    const message = (e as Error).message.split('. To specify')[0]!.replace(/^Option '/, "option '");
    throw new UsageError(`${command}: ${message} (pmcow ${command} --help)`);
  }
  const n = parsed.positionals.length;
  if (n < positionals.min || n > positionals.max) {
    const wanted = positionals.min === positionals.max ? `${positionals.min}`
      : `${positionals.min} to ${positionals.max}`;
    throw new UsageError(
      `${command}: takes ${wanted} argument${positionals.max === 1 ? '' : 's'} `
        + `(${positionals.names || 'none'}), got ${n} (pmcow ${command} --help)`,
    );
  }
  return parsed;
}

/** An integer option in [min, max]; `--seed=abc`, `--time 1.5` or out of range is a UsageError. */
export function intOption(
  values: Values, name: string, range: { min: number; max: number }, fallback: number,
): number;
export function intOption(
  values: Values, name: string, range: { min: number; max: number },
): number | undefined;
export function intOption(
  values: Values, name: string, range: { min: number; max: number }, fallback?: number,
): number | undefined {
  const v = values[name];
  if (v === undefined) return fallback;
  const text = String(v);
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < range.min || n > range.max) {
    throw new UsageError(
      `--${name} must be an integer from ${range.min} to ${range.max}, got '${text}'`,
    );
  }
  return n;
}

/** A string option restricted to `choices`. */
export function choiceOption<T extends string>(
  values: Values, name: string, choices: readonly T[], fallback: T,
): T {
  const v = values[name];
  if (v === undefined) return fallback;
  if (!(choices as readonly string[]).includes(String(v))) {
    throw new UsageError(`--${name} must be ${choices.join(', ')}; got '${String(v)}'`);
  }
  return v as T;
}

const READ_ERRORS: Record<string, string> = {
  ENOENT: 'no such file',
  EISDIR: 'is a directory',
  EACCES: 'permission denied',
  ENOTDIR: 'a path component is not a directory',
};

/** Largest input file the commands read (scripts, reproducers, summaries, logs). */
const MAX_INPUT_BYTES = 64 << 20;

/** Read a text input; a missing file, a directory or an unreadable one is a one-line UsageError. */
export function readInput(path: string, what: string): string {
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw Object.assign(new Error('directory'), { code: 'EISDIR' });
    if (st.size > MAX_INPUT_BYTES) {
      throw new UsageError(
        `${what} '${path}' is ${st.size} bytes; the limit is ${MAX_INPUT_BYTES}`,
      );
    }
    return readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const code = (e as NodeJS.ErrnoException).code ?? '';
    throw new UsageError(
      `cannot read ${what} '${path}': `
        + `${READ_ERRORS[code] ?? (e as Error).message}${code ? ` (${code})` : ''}`,
    );
  }
}

/** Largest device image the commands read (a device fits in 4 GiB of WebAssembly memory). */
const MAX_IMAGE_BYTES = 2 ** 31;

/** Read a binary input (a device image); errors as readInput's. */
export function readBinaryInput(
  path: string, what: string, maxBytes = MAX_IMAGE_BYTES,
): Uint8Array {
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw Object.assign(new Error('directory'), { code: 'EISDIR' });
    if (st.size > maxBytes) {
      throw new UsageError(`${what} '${path}' is ${st.size} bytes; the limit is ${maxBytes}`);
    }
    const bytes = readFileSync(path);
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const code = (e as NodeJS.ErrnoException).code ?? '';
    throw new UsageError(
      `cannot read ${what} '${path}': `
        + `${READ_ERRORS[code] ?? (e as Error).message}${code ? ` (${code})` : ''}`,
    );
  }
}

/** Parse JSON from an input file, or a one-line UsageError naming the file. */
export function parseJsonInput(text: string, path: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${what} '${path}' is not JSON: ${(e as Error).message.split('\n')[0]}`);
  }
}
