/**
 * Where things are in a repository (docs/design.md §7.1), as Storage keys: `<id>/manifest.json`,
 * `<id>/<data file>`, `.acx-lock`. The one place that spells the layout.
 */
import type { Storage } from '../storage/storage.ts';
import { keyProblem } from '../storage/storage-keys.ts';

export const MANIFEST_FILE = 'manifest.json';
export const VERIFICATION_FILE = 'verification.json';
/** The copies of a snapshot made in other repositories (design §12.4): written after each upload. */
export const UPLOADS_FILE = 'uploads.json';
export const LOCK_FILE = '.acx-lock';
/** Names of snapshot directories: `full_YYYYMMDD_HHMMSS`, later `incremental_…`. */
export const SNAPSHOT_ID = /^(full|incremental)_\d{8}_\d{6}$/;

/** The key prefix of a snapshot's files ("directory"): `<id>/`. */
export const snapshotPrefix = (id: string): string => `${id}/`;

/** Printable, for messages and summaries: a local path on local storage, `<location>/<key>` elsewhere. */
export function printableKey(storage: Storage, key: string): string {
  if (storage.capabilities.localPath && storage.localPath) return storage.localPath(key);
  return `${storage.location.replace(/\/+$/, '')}/${key}`;
}

/**
 * Why `path`, a file path from a manifest, cannot be a file of the snapshot, or undefined. A path is
 * relative to the snapshot's directory and stays inside it: the storage key rules (no absolute path, no
 * `..` or `.` segment, no empty segment, no backslash, no control character such as NUL), and it is
 * not one of the files next to the data (the manifest, the verification record). One check for every
 * reader: verify, restore and the listing all read manifests through it.
 */
export function snapshotPathProblem(path: string): string | undefined {
  if (path.startsWith('/')) return 'absolute path';
  const problem = keyProblem(path);
  if (problem) return problem;
  if (path === MANIFEST_FILE || path === VERIFICATION_FILE || path === UPLOADS_FILE) return 'reserved name';
  return undefined;
}
