/**
 * The keys of an encrypted format-2 repository (docs/design.md §11.6): list them, add one, remove one.
 * Each key file wraps the same master key, so adding or removing one writes or deletes one small file
 * and never re-encrypts data. Secrets arrive here already read (keys.ts secretFromEnv); nothing here
 * prints them or puts them in a message.
 *
 * Order: the current secret is checked before anything is written (a wrong one is CONFIG and leaves
 * the repository untouched); changes are made under the repository lock, like every writer's.
 */
import { AcxError } from '../errors.ts';
import type { Repository } from '../repository/repository.ts';
import { readConfig } from '../repository/blobs/repo-config.ts';
import { addKey, listKeys, removeKey, unlock, type RepositorySecret } from '../repository/blobs/keys.ts';
import type { MasterKey } from '../repository/blobs/blob-crypto.ts';

export interface KeyListing {
  id: string;
  createdAt: string;
  /** `scrypt` (a password), `hkdf-sha256` (a key file), or `unknown` for a damaged key file. */
  kdf: string;
  /** Whether the secret this run was given opens this key (false when no secret was given). */
  opened: boolean;
  /** Why the key file cannot be read, when it is damaged. */
  damaged?: string;
}

export interface KeyList {
  location: string;
  keys: KeyListing[];
  /** The key the given secret opens; undefined when no secret was given. */
  openedWith?: string;
}

export interface KeyAdded {
  location: string;
  id: string;
  kdf: 'scrypt' | 'hkdf-sha256';
  /** The key this run opened the repository with (the existing secret's). */
  openedWith: string;
}

export interface KeyRemoved {
  location: string;
  removed: string;
  openedWith: string;
}

const NEW_SECRET_VARIABLES =
  'ACX_NEW_REPOSITORY_PASSWORD, ACX_NEW_REPOSITORY_PASSWORD_FILE or ACX_NEW_REPOSITORY_KEY_FILE';

/** Refuses (USAGE) a repository that has no keys: no format-2 content, or not encrypted. */
async function requireEncrypted(repository: Repository): Promise<void> {
  const config = await readConfig(repository.storage);
  if (config?.encryption) return;
  throw new AcxError(
    'USAGE',
    config
      ? `the repository ${repository.location} is not encrypted: it has no keys`
      : `the repository ${repository.location} holds no format-2 repository (no config.json): it has no keys`,
    {
      subject: repository.location,
      hint: 'a repository is encrypted from its first backup: acx-data backup --all --encrypt --backup-dir <new folder>',
    },
  );
}

/**
 * Every key file of the repository, oldest first. With a secret, the key it opens is marked (and a
 * secret that opens none is CONFIG, as for any command); without one, the list is still shown: key
 * files' ids, dates and KDFs are readable without a key (design §11.6).
 */
export async function listRepositoryKeys(
  repository: Repository,
  secret: RepositorySecret | undefined,
): Promise<KeyList> {
  await requireEncrypted(repository);
  let openedWith: string | undefined;
  if (secret !== undefined) {
    const { master, keyId } = await unlock(repository.storage, secret);
    forget(master);
    openedWith = keyId;
  }
  const keys = (await listKeys(repository.storage)).map((k) => ({ ...k, opened: k.id === openedWith }));
  return { location: repository.location, keys, ...(openedWith ? { openedWith } : {}) };
}

/**
 * Adds a key for `newSecret`, opening the repository with `secret`. Refused (USAGE) when `newSecret`
 * already opens a key of the repository: a second file for one secret adds nothing, and removing
 * "the old one" later would not do what its owner expects.
 */
export async function addRepositoryKey(
  repository: Repository,
  secret: RepositorySecret | undefined,
  newSecret: RepositorySecret | undefined,
): Promise<KeyAdded> {
  await requireEncrypted(repository);
  if (newSecret === undefined)
    throw new AcxError('CONFIG', `key add needs the new key: none of ${NEW_SECRET_VARIABLES} is set`, {
      subject: repository.location,
      hint: `set one of ${NEW_SECRET_VARIABLES} to the new password or key file, and ACX_REPOSITORY_PASSWORD (…) to one that opens the repository now`,
    });
  const { master, keyId } = await unlock(repository.storage, secret);
  try {
    const existing = await opensKey(repository, newSecret);
    if (existing !== undefined)
      throw new AcxError('USAGE', `the new key already opens key ${existing} of ${repository.location}`, {
        subject: existing,
        hint: 'give a different new password or key file (ACX_NEW_REPOSITORY_…)',
      });
    const lock = await repository.lock('key add');
    try {
      const id = await addKey(repository.storage, master, newSecret);
      const kdf = newSecret.kind === 'password' ? 'scrypt' : 'hkdf-sha256';
      return { location: repository.location, id, kdf, openedWith: keyId };
    } finally {
      await lock.release();
    }
  } finally {
    forget(master);
  }
}

/**
 * Removes key `id`, opening the repository with `secret`. Never the last intact key nor the one
 * `secret` opens (keys.ts removeKey: USAGE); an unknown id is NOT_FOUND.
 */
export async function removeRepositoryKey(
  repository: Repository,
  secret: RepositorySecret | undefined,
  id: string,
): Promise<KeyRemoved> {
  await requireEncrypted(repository);
  const { master, keyId } = await unlock(repository.storage, secret);
  forget(master);
  const lock = await repository.lock('key remove');
  try {
    await removeKey(repository.storage, id, keyId);
  } finally {
    await lock.release();
  }
  return { location: repository.location, removed: id, openedWith: keyId };
}

/** The id of the key `secret` opens, or undefined when it opens none (or only damaged ones match). */
async function opensKey(repository: Repository, secret: RepositorySecret): Promise<string | undefined> {
  try {
    const { master, keyId } = await unlock(repository.storage, secret);
    forget(master);
    return keyId;
  } catch (error) {
    if (error instanceof AcxError && (error.code === 'CONFIG' || error.code === 'INTEGRITY'))
      return undefined;
    throw error;
  }
}

/** Overwrites the master key's bytes once this run no longer needs them. */
function forget(master: MasterKey): void {
  master.encKey.fill(0);
  master.idKey.fill(0);
  master.chunkerSeed.fill(0);
}
