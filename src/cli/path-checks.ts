/**
 * Path options checked before any store is opened: a folder option naming a file (or a path under a
 * file) and an input that does not exist are the operator's mistakes, reported at once with the option,
 * the path and a hint — not after connecting and reading, and not as a file-system error deep inside a
 * run. What these checks cannot see (permissions, a full disk) is reported where it happens, worded by
 * the file-system table (src/files.ts).
 */
import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { readStateDir } from '../config/state.ts';
import { AcxError, type ErrorCode } from '../errors.ts';

// A storage location with a scheme (`memory://…`, cloud storages): its driver checks it when opened.
const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

async function kindOf(path: string): Promise<'directory' | 'file' | 'missing' | 'unknown'> {
  try {
    return (await stat(path)).isDirectory() ? 'directory' : 'file';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR' ? 'missing' : 'unknown';
  }
}

/**
 * A folder the run writes into or reads from (`--output-dir`, `--data-dir`, `ACX_STATE_DIR`): it may be
 * missing (it is created, or holds nothing), but neither it nor the nearest of its parents that exists
 * may be a file. `option` names it as the user wrote it; `code` is USAGE for flags, CONFIG for settings.
 */
export async function checkFolderOption(
  option: string,
  path: string,
  code: ErrorCode = 'USAGE',
): Promise<void> {
  if (SCHEME.test(path)) return;
  const absolute = resolve(path);
  for (let current = absolute; ; current = dirname(current)) {
    const kind = await kindOf(current);
    if (kind === 'directory' || kind === 'unknown') return;
    if (kind === 'file') {
      const what = current === absolute ? 'is a file' : `is under ${current}, which is a file`;
      throw new AcxError(code, `${option} ${path} ${what}, not a directory`, {
        subject: path,
        hint: `${option} names a folder (created when missing): choose another path, or move the file ${current} away`,
      });
    }
    if (dirname(current) === current) return;
  }
}

/** The state directory (journals of restores and imports): a file there is a setting to fix (CONFIG). */
export function checkStateDir(env: Record<string, string | undefined> = process.env): Promise<void> {
  return checkFolderOption('the state directory (ACX_STATE_DIR)', readStateDir(env), 'CONFIG');
}
