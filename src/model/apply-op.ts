// The workload operations the model-based tests generate, applied to the POSIX model
// (fs-model.ts): what each must return. The file system runs the same statement through
// the workload Runner; model-harness.ts compares the two.
import type { Op } from '../workload/ast.js';
import { patternBytes } from '../workload/pattern.js';
import { FsModel, ModelError, type ModelStat } from './namespace.js';

/** What an operation returned on the model: bytes read, a stat, or a listing. */
export type ModelValue =
  | { kind: 'none' }
  | { kind: 'bytes'; bytes: Uint8Array }
  | { kind: 'written'; count: number }
  | { kind: 'stat'; stat: ModelStat }
  | { kind: 'names'; names: string[] };

const NONE: ModelValue = { kind: 'none' };

/** The model's open descriptors by the statements' names. */
type Fds = Map<string, number>;
type OpOf<K extends Op['op']> = Extract<Op, { op: K }>;

/**
 * Apply `op` to `model`; `fds` names the model's open descriptors (`open NAME PATH`).
 * Throws ModelError (the errnos the file system may fail with) or Unspecified.
 */
export function applyToModel(model: FsModel, op: Op, fds: Fds): ModelValue {
  switch (op.op) {
    case 'mkdir': model.mkdir(op.path); return NONE;
    case 'create': model.create(op.path); return NONE;
    case 'open': return openOnModel(model, op, fds);
    case 'close': model.close(descriptor(fds, op.fd)); fds.delete(op.fd); return NONE;
    case 'write': return writeOnModel(model, op, fds);
    case 'read': return readOnModel(model, op, fds);
    case 'truncate': model.truncate(op.path, op.size); return NONE;
    case 'fallocate':
      model.fallocate(op.path, op.offset, op.length, { keepSize: op.keepSize });
      return NONE;
    case 'punch': model.punchHole(op.path, op.offset, op.length); return NONE;
    case 'zero': return zeroOnModel(model, op);
    case 'unlink': model.unlink(op.path); return NONE;
    case 'rmdir': model.rmdir(op.path); return NONE;
    case 'rename': model.rename(op.from, op.to); return NONE;
    case 'link': model.link(op.from, op.to); return NONE;
    case 'clone': return cloneOnModel(model, op);
    case 'setflag': return setflagOnModel(model, op);
    case 'snapshot': model.snapshot(op.src, op.dst, { readonly: op.readonly }); return NONE;
    case 'mksubvol': model.createSubvolume(op.path); return NONE;
    case 'rmsubvol': model.deleteSubvolume(op.path); return NONE;
    case 'commit': return NONE;
    case 'fsync': return fsyncOnModel(model, op, fds);
    case 'readdir': return { kind: 'names', names: model.readdir(op.path) };
    case 'stat': return { kind: 'stat', stat: FsModel.statOf(model.lookup(op.path)) };
    default: throw new Error(`the model harness does not run '${op.op}'`);
  }
}

/** The model descriptor bound to `name`: EBADF when none is (as the runner says). */
function descriptor(fds: Fds, name: string): number {
  const fd = fds.get(name);
  if (fd === undefined) throw new ModelError(['EBADF'], `no open descriptor named '${name}'`);
  return fd;
}

function openOnModel(model: FsModel, op: OpOf<'open'>, fds: Fds): ModelValue {
  const fd = model.open(op.path, { create: op.create, truncate: op.truncate });
  if (op.fd === undefined) model.close(fd);
  else fds.set(op.fd, fd);
  return NONE;
}

/** Run `fn` on the descriptor `op` names, or on `op.path` opened for it and closed after
 *  (as the workload Runner does: `write PATH` opens, writes and closes). */
function withRef<T>(
  model: FsModel, op: { fd?: string; path?: string }, fds: Fds, fn: (fd: number) => T,
): T {
  if (op.fd !== undefined) return fn(descriptor(fds, op.fd));
  const fd = model.open(op.path!);
  try {
    return fn(fd);
  } finally {
    model.close(fd);
  }
}

function writeOnModel(model: FsModel, op: OpOf<'write'>, fds: Fds): ModelValue {
  const data = patternBytes(op.seed ?? 0, op.length);
  const count = withRef(model, op, fds, (fd) => model.pwrite(fd, data, op.offset));
  return { kind: 'written', count };
}

function readOnModel(model: FsModel, op: OpOf<'read'>, fds: Fds): ModelValue {
  if (op.offset === undefined) return { kind: 'bytes', bytes: model.readFile(op.path!) };
  const length = op.length ?? 0;
  const bytes = withRef(model, op, fds, (fd) => model.pread(fd, length, op.offset!));
  return { kind: 'bytes', bytes };
}

function zeroOnModel(model: FsModel, op: OpOf<'zero'>): ModelValue {
  if (op.keepSize) throw new Error("the model harness does not run 'zero ... keep'");
  model.zeroRange(op.path, op.offset, op.length);
  return NONE;
}

function cloneOnModel(model: FsModel, op: OpOf<'clone'>): ModelValue {
  const r = op.range;
  if (r) model.cloneRange(op.src, r.srcOffset, op.dst, r.dstOffset, r.length);
  else model.cloneFile(op.src, op.dst);
  return NONE;
}

function setflagOnModel(model: FsModel, op: OpOf<'setflag'>): ModelValue {
  if (op.flag !== 'nodatacow') {
    throw new Error("the model harness does not run 'setflag ... dax-immutable'");
  }
  model.setNoDataCow(op.path);
  return NONE;
}

/** fsync of a descriptor: the descriptor must be open; the commit changes nothing visible. */
function fsyncOnModel(model: FsModel, op: OpOf<'fsync'>, fds: Fds): ModelValue {
  if (op.fd === undefined) throw new Error("the model harness runs 'fsync NAME' only");
  model.fdNode(descriptor(fds, op.fd));
  return NONE;
}
