/** File-system helpers shared by the repository and the operations. */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { AcxError, type ErrorCode } from './errors.ts';

/**
 * `mkdir -p` one level at a time: Node's recursive mkdir never returns on file systems that answer
 * ENOENT for a directory that cannot be created (e.g. under /proc).
 */
export async function makeDirectories(path: string): Promise<void> {
  let current: string = sep;
  for (const part of resolve(path).split(sep).filter(Boolean)) {
    current = join(current, part);
    try {
      await mkdir(current);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}

/** What an operator reads about a file-system error code, and what they can do about it. */
export interface FileProblem {
  /** Lower-case, no path: "no space left on device". */
  text: string;
  /** The hint, given the directory or file involved. */
  hint?: (path: string) => string;
}

const ANOTHER = 'or choose another directory';

/**
 * The one table of file-system errors an operator can cause or meet (a full disk, a read-only mount, a
 * file where a directory belongs…). The local Storage driver and every reader and writer of local files
 * word their errors from it, so the same condition reads the same everywhere and is never INTERNAL.
 */
export const FILE_PROBLEMS: Readonly<Record<string, FileProblem>> = {
  ENOSPC: {
    text: 'no space left on device',
    hint: (path) => `free space on the file system holding ${path}, ${ANOTHER}`,
  },
  EDQUOT: {
    text: 'disk quota exceeded',
    hint: (path) => `free space or raise your quota on the file system holding ${path}, ${ANOTHER}`,
  },
  EFBIG: {
    text: 'file too large for the file system',
    hint: (path) => `the file system holding ${path} limits file sizes: ${ANOTHER}`,
  },
  EROFS: {
    text: 'read-only file system',
    hint: (path) => `the file system holding ${path} is mounted read-only: ${ANOTHER}`,
  },
  EACCES: {
    text: 'permission denied',
    hint: (path) => `check the permissions of ${path} and its parent directories, ${ANOTHER}`,
  },
  EPERM: {
    text: 'operation not permitted',
    hint: (path) => `check the permissions and attributes of ${path}, ${ANOTHER}`,
  },
  ENOTDIR: {
    text: 'a part of the path is a file, not a directory',
    hint: (path) => `${path} must name a directory (or a path whose parents are directories)`,
  },
  EISDIR: {
    text: 'is a directory, not a file',
    hint: (path) => `${path} must name a file`,
  },
  ENOENT: { text: 'no such file or directory' },
  EEXIST: { text: 'already exists' },
  ENAMETOOLONG: { text: 'the path is too long', hint: () => 'choose a shorter path' },
  ELOOP: { text: 'too many levels of symbolic links', hint: (path) => `check the symbolic links in ${path}` },
  EMFILE: { text: 'too many open files', hint: () => 'raise the open-file limit (ulimit -n) and try again' },
  ENFILE: { text: 'too many open files in the system', hint: () => 'try again when fewer files are open' },
  EIO: {
    text: 'input/output error',
    hint: (path) => `the device holding ${path} may be failing: check the system log, ${ANOTHER}`,
  },
  EBUSY: { text: 'device or resource busy', hint: () => 'try again later' },
  ETXTBSY: { text: 'file busy', hint: () => 'try again later' },
  EXDEV: { text: 'cannot move a file across file systems' },
  ENXIO: { text: 'no such device', hint: (path) => `${path} is not a regular file or directory` },
  ENODEV: { text: 'no such device', hint: (path) => `${path} is not a regular file or directory` },
  ESTALE: { text: 'stale network file handle', hint: () => 'remount the network file system and try again' },
};

/**
 * The condition of a device rather than a choice of path: the disk is full, a quota is reached, a file
 * outgrew the file system, the device fails. Reported as the storage's error (STORAGE), never as USAGE.
 */
const DEVICE_CONDITIONS = new Set(['ENOSPC', 'EDQUOT', 'EFBIG', 'EIO']);

export function isDeviceCondition(error: unknown): boolean {
  const code = errnoOf(error);
  return code !== undefined && DEVICE_CONDITIONS.has(code);
}

/** The error code of a file-system error (`ENOSPC`…), or undefined for anything else. */
export function errnoOf(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) ? code : undefined;
}

/** The operator's wording of a file-system error ("no space left on device"), and its hint for `path`. */
export function fileProblemOf(error: unknown): {
  code?: string;
  text: string;
  hint(path: string): string | undefined;
} {
  const code = errnoOf(error);
  const known = code === undefined ? undefined : FILE_PROBLEMS[code];
  // Node's message reads "ENOSPC: no space left on device, write '/x'": keep its middle when unknown.
  const text =
    known?.text ??
    String((error as Error | undefined)?.message ?? error).replace(/^E[A-Z0-9]+: |, \w+ '.*$/g, '');
  return { code, text, hint: (path) => known?.hint?.(path) };
}

/**
 * A file-system error of local files outside a Storage (export outputs, import inputs) as the catalog's
 * error naming the path: NOT_FOUND for a missing one, otherwise `code` (STORAGE for writes,
 * INVALID_INPUT for inputs). Errors that are not file-system errors pass through unchanged.
 */
export function fileError(
  error: unknown,
  options: { path: string; doing: string; code: ErrorCode },
): unknown {
  if (error instanceof AcxError) return error;
  const problem = fileProblemOf(error);
  if (problem.code === undefined) return error;
  return new AcxError(
    problem.code === 'ENOENT' ? 'NOT_FOUND' : options.code,
    `cannot ${options.doing} ${options.path}: ${problem.text}`,
    { subject: options.path, hint: problem.hint(options.path), cause: error },
  );
}

/**
 * Appends `text` to the file at `path` and returns only once it is on disk (fdatasync), and with it the
 * file's directory entry when this append created the file (its folder fsync'd): for undo records,
 * which must be durable before the change they undo is made — a power loss after that change must
 * not leave a change the undo does not know. One call per batch, not per record.
 */
export async function appendDurably(path: string, text: string): Promise<void> {
  let created = true;
  const handle = await open(path, 'ax').catch(async (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
    created = false;
    return open(path, 'a');
  });
  try {
    await handle.writeFile(text);
    await handle.datasync();
  } finally {
    await handle.close();
  }
  if (created) {
    const folder = await open(dirname(path), 'r');
    try {
      await folder.sync();
    } finally {
      await folder.close();
    }
  }
}

/** `appendDurably` for an import's undo file; a file-system failure is the storage's error (STORAGE), worded by the table. */
export async function appendUndoRecords(path: string, text: string): Promise<void> {
  try {
    await appendDurably(path, text);
  } catch (error) {
    throw fileError(error, { path, doing: 'write the import’s undo file', code: 'STORAGE' });
  }
}

/**
 * Writes `text` to `path` whole or not at all: to a temporary file beside it, flushed to disk, then
 * renamed over `path`, so a reader (a web server, node_exporter, systemd) never sees half a file. A
 * failed write leaves the previous file and no temporary one, and throws STORAGE naming `path`.
 * `createFolder`: create the missing folders first (else a missing folder is the error). Returns the
 * bytes written.
 */
export async function writeFileAtomically(
  path: string,
  text: string,
  options: { doing: string; createFolder: boolean },
): Promise<number> {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const bytes = Buffer.from(text, 'utf8');
  try {
    if (options.createFolder) await makeDirectories(dirname(path));
    const file = await open(temp, 'wx', 0o644);
    try {
      await file.writeFile(bytes);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw fileError(error, { path, doing: options.doing, code: 'STORAGE' });
  }
  return bytes.length;
}
