/**
 * The one place that lists the Storage drivers (restic's location registry): a location string picks
 * its driver by URL scheme; anything without a scheme is a local path. A cloud driver registers here
 * with a lazy import, so its SDK loads only when such a location is used:
 *
 *   { scheme: 's3', example: 's3://bucket/prefix', open: async (location) =>
 *       (await import('./s3/s3-storage.ts')).openS3Storage(location) },
 */
import { fileURLToPath } from 'node:url';
import { AcxError } from '../errors.ts';
import type { Storage } from './storage.ts';
import { openLocalStorage } from './local/local-storage.ts';
import { MemoryStorage } from './memory/memory-storage.ts';

export interface StorageDriver {
  /** The URL scheme without ':' (lower case). */
  readonly scheme: string;
  /** Shown in help and errors. */
  readonly example: string;
  open(location: string): Promise<Storage>;
}

/** Schemes in the order help lists them; a local path needs no scheme. */
export const STORAGE_DRIVERS: readonly StorageDriver[] = [
  {
    scheme: 'file',
    example: 'file:///abs/dir',
    open: (location) => {
      let root: string;
      try {
        root = fileURLToPath(location);
      } catch (error) {
        throw new AcxError('USAGE', `invalid file URL: ${(error as Error).message}`, {
          subject: location,
          cause: error,
        });
      }
      return openLocalStorage({ root });
    },
  },
  {
    scheme: 'memory',
    example: 'memory://name (empty, lost at exit: tests and dry runs)',
    open: async (location) => new MemoryStorage(location.slice('memory://'.length) || 'default'),
  },
];

/** One line per accepted form, for --help and error hints. */
export function describeStorageLocations(): string[] {
  return ['a local directory: ./backups, /abs/dir', ...STORAGE_DRIVERS.map((driver) => driver.example)];
}

// RFC 3986 scheme followed by '://'. A Windows drive ('C:\x') has no '//' and stays a local path.
const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;

/** Opens the storage a location names; it need not exist yet (the first put creates a directory). */
export async function openStorage(location: string): Promise<Storage> {
  if (location.trim() === '') {
    throw new AcxError('USAGE', 'empty storage location', { hint: supportedForms() });
  }
  const scheme = SCHEME.exec(location)?.[1]?.toLowerCase();
  if (scheme === undefined) return openLocalStorage({ root: location });
  const driver = STORAGE_DRIVERS.find((candidate) => candidate.scheme === scheme);
  if (!driver) {
    // Only the scheme is named: the rest of the location may carry credentials.
    throw new AcxError('USAGE', `unsupported storage location scheme "${scheme}://"`, {
      subject: `${scheme}://`,
      hint: supportedForms(),
    });
  }
  return driver.open(location);
}

function supportedForms(): string {
  return `supported locations: ${describeStorageLocations().join('; ')}`;
}
