/**
 * The one place that lists the Storage drivers (restic's location registry): a location string picks
 * its driver by URL scheme; anything without a scheme is a local path. Cloud drivers are registered
 * with a lazy import, so their SDK loads only when such a location is used (design §12.1).
 */
import { fileURLToPath } from 'node:url';
import { AcxError } from '../errors.ts';
import type { Storage } from './storage.ts';
import type { CloudSettings } from './cloud-settings.ts';
import { openLocalStorage } from './local/local-storage.ts';
import { MemoryStorage } from './memory/memory-storage.ts';

export interface StorageDriver {
  /** The URL scheme without ':' (lower case). */
  readonly scheme: string;
  /** Shown in help and errors. */
  readonly example: string;
  /** Whether the location is a cloud service (its SDK, credentials and network apply). */
  readonly cloud?: boolean;
  open(location: string, settings: CloudSettings): Promise<Storage>;
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
    scheme: 's3',
    example: 's3://bucket/prefix (AWS S3 or S3-compatible: --s3-endpoint, --s3-region)',
    cloud: true,
    open: async (location, settings) =>
      (await import('./s3/s3-storage.ts')).openS3Storage(location, settings),
  },
  {
    scheme: 'gs',
    example: 'gs://bucket/prefix (Google Cloud Storage)',
    cloud: true,
    open: async (location, settings) =>
      (await import('./gcs/gcs-storage.ts')).openGcsStorage(location, settings),
  },
  {
    scheme: 'azure',
    example: 'azure://container/prefix (Azure Blob Storage)',
    cloud: true,
    open: async (location, settings) =>
      (await import('./azure/azure-storage.ts')).openAzureStorage(location, settings),
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

/** The location's scheme in lower case ('s3', 'memory'…), or undefined for a local path. */
export function schemeOf(location: string): string | undefined {
  return SCHEME.exec(location)?.[1]?.toLowerCase();
}

/** Whether the location names a cloud storage (s3://, gs://, azure://). */
export function isCloudLocation(location: string): boolean {
  const scheme = schemeOf(location);
  return STORAGE_DRIVERS.some((driver) => driver.scheme === scheme && driver.cloud === true);
}

/**
 * The location as it may be printed: a URL without its user information, query or fragment (where a
 * credential could ride: `s3://key:secret@…`, `?X-Amz-Signature=…`); a local path as it is.
 */
export function printableLocation(location: string): string {
  if (!isUrlLocation(location)) return location;
  return location.replace(/[?#].*$/s, '').replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/]*@/i, '$1');
}

/** Whether the location has a scheme at all (a URL rather than a local path). */
export function isUrlLocation(location: string): boolean {
  return schemeOf(location) !== undefined;
}

/**
 * Opens the storage a location names; it need not exist yet (the first put creates a directory).
 * `settings` reach the cloud drivers (credentials stay in their environment).
 */
export async function openStorage(location: string, settings: CloudSettings = {}): Promise<Storage> {
  if (location.trim() === '') {
    throw new AcxError('USAGE', 'empty storage location', { hint: supportedForms() });
  }
  const scheme = schemeOf(location);
  if (scheme === undefined) return openLocalStorage({ root: location });
  const driver = STORAGE_DRIVERS.find((candidate) => candidate.scheme === scheme);
  if (!driver) {
    // Only the scheme is named: the rest of the location may carry credentials.
    throw new AcxError('USAGE', `unsupported storage location scheme "${scheme}://"`, {
      subject: `${scheme}://`,
      hint: supportedForms(),
    });
  }
  return driver.open(location, settings);
}

function supportedForms(): string {
  return `supported locations: ${describeStorageLocations().join('; ')}`;
}
