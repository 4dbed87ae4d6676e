/**
 * Reads a file:// image. The path is resolved with realpath (following `..` and symlinks) and must lie
 * inside one of the allowed roots, themselves resolved the same way. Only regular files are read.
 */
import { closeSync, constants, fstatSync, openSync, readSync, realpathSync, type Stats } from 'node:fs';
import { realpath, open } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { PipelineError } from '../../platform/errors.ts';
import { errorCode } from './network-errors.ts';
import { readLimited, tooLarge } from './read-limited.ts';
import { forbidden, isInsideRoots } from './uri-policy.ts';

export interface FileFetchOptions {
  maxBytes: number;
  allowedRoots: readonly string[];
  /**
   * Read with synchronous calls. Each asynchronous file call costs several times its syscall in dispatch (about
   * 90 µs of CPU per small image against 20 µs), which dominates a 28×28 image's fetch; on a local disk a
   * synchronous call blocks for microseconds. Turn it off for network file systems, where one could block for long.
   */
  syncReads: boolean;
}

export async function fetchFile(uri: string, options: FileFetchOptions): Promise<Buffer> {
  if (options.allowedRoots.length === 0) {
    throw forbidden(`Refused ${uri}: file:// images are disabled; configure allowed file roots to enable them.`);
  }
  const requested = filePath(uri);
  const roots = (await Promise.all(options.allowedRoots.map(resolvedRoot))).filter((root): root is string => root !== undefined);
  if (options.syncReads) return readFileSync(requested, roots, options.maxBytes);
  const real = await realpath(requested).catch((err: unknown) => {
    throw fileError(err, requested);
  });
  checkInsideRoots(real, roots, requested);
  const handle = await open(real, OPEN_FLAGS).catch((err: unknown) => {
    throw fileError(err, requested);
  });
  try {
    const stats = await handle.stat();
    checkRegularFile(stats, requested);
    if (stats.size > options.maxBytes) throw tooLarge(`File ${requested}`, options.maxBytes, stats.size);
    // One read of the size stat reported, plus a byte to notice a file that grew meanwhile; only then the
    // stream, whose limit holds whatever the size.
    const buffer = Buffer.allocUnsafe(stats.size + 1);
    let filled = 0;
    while (filled < buffer.length) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    if (filled <= stats.size) return buffer.subarray(0, filled);
    return await readLimited(handle.createReadStream({ autoClose: false, start: 0 }), options.maxBytes, `File ${requested}`);
  } finally {
    await handle.close();
  }
}

/**
 * O_NONBLOCK: opening a FIFO for reading otherwise waits for a writer, which blocks the event loop (synchronous
 * reads) or a libuv thread for good; it changes nothing for regular files. O_NOFOLLOW: the real path was checked
 * against the roots, so a symlink swapped in since then is refused instead of followed.
 */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW;

/** Refuses what fstat says is not a regular file, before any read. */
function checkRegularFile(stats: Stats, requested: string): void {
  if (stats.isFile()) return;
  // A directory names no image, like an S3 prefix; FIFOs, sockets and devices could block or never end.
  if (stats.isDirectory()) throw new PipelineError('fetch', 'NotFound', `${requested} is a directory, not a regular file.`);
  throw forbidden(`Refused ${requested}: it is a ${specialKind(stats)}, not a regular file; only regular files are read.`);
}

function specialKind(stats: Stats): string {
  if (stats.isFIFO()) return 'FIFO';
  if (stats.isSocket()) return 'socket';
  if (stats.isCharacterDevice()) return 'character device';
  if (stats.isBlockDevice()) return 'block device';
  return 'special file';
}

function checkInsideRoots(real: string, roots: readonly string[], requested: string): void {
  if (!isInsideRoots(real, roots)) {
    throw forbidden(`Refused ${requested}: it resolves outside the allowed file roots; move the image under an allowed root.`);
  }
}

/** The same checks and limits as the asynchronous path, with synchronous calls. */
function readFileSync(requested: string, roots: readonly string[], maxBytes: number): Buffer {
  let fd: number;
  try {
    const real = realpathSync.native(requested);
    checkInsideRoots(real, roots, requested);
    fd = openSync(real, OPEN_FLAGS);
  } catch (err) {
    throw err instanceof PipelineError ? err : fileError(err, requested);
  }
  try {
    const stats = fstatSync(fd);
    checkRegularFile(stats, requested);
    if (stats.size > maxBytes) throw tooLarge(`File ${requested}`, maxBytes, stats.size);
    // Up to the limit plus one byte, whatever stat said: a file growing meanwhile is still bounded.
    let buffer = Buffer.allocUnsafe(stats.size + 1);
    let filled = 0;
    for (;;) {
      if (filled === buffer.length) {
        if (buffer.length > maxBytes) throw tooLarge(`File ${requested}`, maxBytes);
        const bigger = Buffer.allocUnsafe(Math.min(maxBytes + 1, buffer.length * 2));
        buffer.copy(bigger, 0, 0, filled);
        buffer = bigger;
      }
      const bytesRead = readSync(fd, buffer, filled, buffer.length - filled, filled);
      if (bytesRead === 0) return buffer.subarray(0, filled);
      filled += bytesRead;
    }
  } catch (err) {
    throw err instanceof PipelineError ? err : fileError(err, requested);
  } finally {
    closeSync(fd);
  }
}

/**
 * Allowed roots resolved once (a realpath per image per root was most of a small file's cost); a root that does
 * not exist yet is looked up again next time.
 */
const roots = new Map<string, Promise<string | undefined>>();

function resolvedRoot(root: string): Promise<string | undefined> {
  let resolved = roots.get(root);
  if (!resolved) {
    resolved = realpath(root).catch(() => undefined);
    roots.set(root, resolved);
    void resolved.then((path) => { if (path === undefined) roots.delete(root); });
  }
  return resolved;
}

function filePath(uri: string): string {
  try {
    return fileURLToPath(uri);
  } catch (err) {
    throw new PipelineError('fetch', 'UnsupportedUri', `Malformed file URI ${uri}: use file:///absolute/path.`, false, { cause: err });
  }
}

function fileError(err: unknown, file: string): PipelineError {
  const code = errorCode(err);
  if (code === 'ENOENT' || code === 'ENOTDIR') return new PipelineError('fetch', 'NotFound', `${file} does not exist.`, false, { cause: err });
  // ELOOP: a symlink replaced the checked path (O_NOFOLLOW); ENXIO: a Unix socket, which open() cannot read.
  if (code === 'ELOOP' || code === 'ENXIO') {
    return new PipelineError('fetch', 'ForbiddenUri', `Refused ${file}: it is not a regular file; only regular files are read.`, false, { cause: err });
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return new PipelineError('fetch', 'AccessDenied', `${file} is not readable by the service user.`, false, { cause: err });
  }
  return new PipelineError('fetch', 'InternalError', `Reading ${file} failed: ${err instanceof Error ? err.message : String(err)}`, false, {
    cause: err,
  });
}
