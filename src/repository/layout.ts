/**
 * Where things are in a repository (docs/design.md §7.1), as Storage keys: `<id>/manifest.json`,
 * `<id>/<data file>`, `.acx-lock`. The one place that spells the layout.
 */
import type { Storage } from '../storage/storage.ts';

export const MANIFEST_FILE = 'manifest.json';
export const VERIFICATION_FILE = 'verification.json';
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
