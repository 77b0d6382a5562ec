/**
 * Key files of an encrypted format-2 repository (docs/decisions/0013-repository-encryption.md).
 *
 * The master key (blob-crypto.ts) never changes; each `keys/<keyId>.json` holds it sealed under a
 * wrapping key derived from one password (scrypt) or one key file (HKDF-SHA-256). Adding or removing a
 * password is adding or deleting one small file: the data is never re-encrypted.
 *
 * ```json
 * {"format":"acx-data-key","version":1,"id":"<32 hex>","createdAt":"<ISO 8601>",
 *  "kdf":{"name":"scrypt","N":32768,"r":8,"p":1,"salt":"<base64, 16 bytes>"},
 *  "data":"<base64 of nonce || AES-256-GCM(JSON {encKey, idKey, chunkerSeed as base64}) || tag>"}
 * ```
 * `kdf` is `{"name":"hkdf-sha256","salt":"<base64>"}` for key files (HKDF info 'acx-data key file').
 * The AAD of `data` is UTF-8 `acx-data-key:<keyId>`, so a key file renamed to another id does not open.
 *
 * Secrets come only from the environment (secretFromEnv), never from flags, and appear in no message.
 */
import { hkdf, randomBytes, scrypt } from 'node:crypto';
import { z } from 'zod';
import { AcxError } from '../../errors.ts';
import type { Storage } from '../../storage/storage.ts';
import { StorageError } from '../../storage/storage-error.ts';
import { putJson, readJson } from '../../storage/storage-helpers.ts';
import { KEY_BYTES, openWithKey, sealWithKey, type MasterKey } from './blob-crypto.ts';

export const KEYS_PREFIX = 'keys/';
export const KEY_FILE_FORMAT = 'acx-data-key';
/** scrypt cost for new passwords: 32 MiB of memory (128 · N · r) and about 0.1 s per try. */
export const DEFAULT_SCRYPT_N = 32768;
const SCRYPT_R = 8;
const SCRYPT_P = 1;
const SCRYPT_MAXMEM = 64 * 1024 * 1024;
const HKDF_INFO = 'acx-data key file';
/** Key files are a few hundred bytes; anything far larger is not one (and is not read whole). */
const KEY_FILE_MAX_BYTES = 64 * 1024;
const MIN_KEY_FILE_BYTES = 32;

export type RepositorySecret =
  { kind: 'password'; value: Buffer } | { kind: 'key-file'; value: Buffer; path: string };

/** Reads a file named by an environment variable (the CLI passes node:fs readFileSync). */
export type ReadSecretFile = (path: string) => Buffer | Uint8Array;

export const SECRET_VARIABLES = [
  'REPOSITORY_PASSWORD',
  'REPOSITORY_PASSWORD_FILE',
  'REPOSITORY_KEY_FILE',
] as const;

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'is not base64');
const salt = base64.refine((s) => Buffer.from(s, 'base64').length >= 16, 'is shorter than 16 bytes');
const powerOfTwo = (n: number) => Number.isInteger(Math.log2(n));
const kdfSchema = z.discriminatedUnion('name', [
  z
    .object({
      name: z.literal('scrypt'),
      N: z.number().int().min(2).refine(powerOfTwo, 'is not a power of two'),
      r: z.number().int().min(1).max(32),
      p: z.number().int().min(1).max(16),
      salt,
    })
    // scrypt needs 128 · N · r bytes: a key file must not make a reader allocate more than maxmem.
    .refine((k) => 128 * k.N * k.r < SCRYPT_MAXMEM, {
      message: 'needs more memory than 64 MiB',
      path: ['N'],
    }),
  z.object({ name: z.literal('hkdf-sha256'), salt }),
]);
const keyFileSchema = z.object({
  format: z.literal(KEY_FILE_FORMAT),
  version: z.literal(1),
  id: z.string().regex(/^[0-9a-f]{32}$/),
  createdAt: z.iso.datetime(),
  kdf: kdfSchema,
  data: base64,
});
const key32 = base64.refine((s) => Buffer.from(s, 'base64').length === KEY_BYTES, 'is not 32 bytes');
const masterSchema = z.strictObject({ encKey: key32, idKey: key32, chunkerSeed: key32 });

type Kdf = z.infer<typeof kdfSchema>;
type KeyFile = z.infer<typeof keyFileSchema>;

/**
 * The repository secret given in the environment: `<prefix>REPOSITORY_PASSWORD`, `…_PASSWORD_FILE`
 * (the file's content, one trailing newline stripped) or `…_KEY_FILE` (>= 32 random bytes, raw or as
 * hex or base64). `undefined` when none is set (an empty value counts as unset); more than one, an
 * empty password, a short or unreadable file: CONFIG naming the variables, never their values.
 * `prefix` 'ACX_NEW_' names the secret of a key being added.
 */
export function secretFromEnv(
  env: NodeJS.ProcessEnv,
  prefix: 'ACX_' | 'ACX_NEW_',
  readFile: ReadSecretFile,
): RepositorySecret | undefined {
  const set = SECRET_VARIABLES.map((name) => `${prefix}${name}`).filter((name) => env[name]);
  if (set.length > 1) {
    throw new AcxError(
      'CONFIG',
      `${set.join(' and ')} are set together: give the repository key one way only`,
      {
        subject: set.join(', '),
        hint: `unset all but one of ${set.join(', ')}`,
      },
    );
  }
  const name = set[0];
  const value = name === undefined ? undefined : env[name];
  if (name === undefined || value === undefined) return undefined;
  if (name.endsWith('_PASSWORD')) return { kind: 'password', value: Buffer.from(value, 'utf8') };
  const content = readNamedFile(name, value, readFile);
  if (name.endsWith('_PASSWORD_FILE')) {
    const password = stripOneNewline(content);
    if (password.length === 0) {
      throw new AcxError('CONFIG', `the password file ${value} (${name}) is empty`, {
        subject: value,
        hint: `put the repository password in ${value}, or unset ${name}`,
      });
    }
    return { kind: 'password', value: password };
  }
  return { kind: 'key-file', value: keyMaterialOf(content, name, value), path: value };
}

/** Content for a fresh key file: `bytes` random bytes as hex and a newline (for `key generate`). */
export function newKeyFile(bytes = KEY_BYTES): string {
  if (!Number.isInteger(bytes) || bytes < MIN_KEY_FILE_BYTES) {
    throw new AcxError('USAGE', `a key file needs at least ${MIN_KEY_FILE_BYTES} random bytes, not ${bytes}`);
  }
  return `${randomBytes(bytes).toString('hex')}\n`;
}

/**
 * Stores a new key file that opens `master` with `secret`; returns its id. Never overwrites a key file
 * (created with ifNotExists). `scryptN` (default 32768, a power of two) is for tests and slow machines.
 */
export async function addKey(
  storage: Storage,
  master: MasterKey,
  secret: RepositorySecret,
  options: { scryptN?: number } = {},
): Promise<string> {
  const id = randomBytes(16).toString('hex');
  const saltText = randomBytes(16).toString('base64');
  const parsed = kdfSchema.safeParse(
    secret.kind === 'password'
      ? { name: 'scrypt', N: options.scryptN ?? DEFAULT_SCRYPT_N, r: SCRYPT_R, p: SCRYPT_P, salt: saltText }
      : { name: 'hkdf-sha256', salt: saltText },
  );
  if (!parsed.success) {
    throw new AcxError(
      'USAGE',
      `scrypt N must be a power of two from 2 to ${DEFAULT_SCRYPT_N}, not ${options.scryptN}`,
    );
  }
  const wrapKey = await deriveWrapKey(parsed.data, secret);
  const plaintext = Buffer.from(
    JSON.stringify({
      encKey: master.encKey.toString('base64'),
      idKey: master.idKey.toString('base64'),
      chunkerSeed: master.chunkerSeed.toString('base64'),
    }),
  );
  const data = sealWithKey(wrapKey, plaintext, aadOf(id));
  plaintext.fill(0);
  wrapKey.fill(0);
  const file: KeyFile = {
    format: KEY_FILE_FORMAT,
    version: 1,
    id,
    createdAt: new Date().toISOString(),
    kdf: parsed.data,
    data: data.toString('base64'),
  };
  await putJson(storage, keyFileKey(id), file, { ifNotExists: true });
  return id;
}

/**
 * The master key, from the first key file that `secret` opens. Only key files of the secret's kind
 * are tried (a password never runs HKDF, a key file never scrypt). A damaged key file is skipped; it is
 * reported (INTEGRITY) only when no key file opens. No secret, or none opens: CONFIG.
 */
export async function unlock(
  storage: Storage,
  secret: RepositorySecret | undefined,
): Promise<{ master: MasterKey; keyId: string }> {
  if (secret === undefined) {
    throw new AcxError('CONFIG', `the repository ${storage.location} is encrypted: no key given`, {
      subject: storage.location,
      hint: `set one of ${SECRET_VARIABLES.map((name) => `ACX_${name}`).join(', ')}`,
    });
  }
  const entries = await readKeyFiles(storage);
  if (entries.length === 0) {
    throw new AcxError('INTEGRITY', `the repository ${storage.location} is encrypted but holds no key file`, {
      subject: `${storage.location}/${KEYS_PREFIX}`,
      hint: `restore ${KEYS_PREFIX} from a copy of the repository: without a key file nothing can be decrypted`,
    });
  }
  const damaged = entries.flatMap((e) => (e.problem === undefined ? [] : [`${e.key} (${e.problem})`]));
  for (const entry of entries) {
    if (entry.file === undefined || kindOf(entry.file.kdf) !== secret.kind) continue;
    const master = await tryOpen(entry.file, entry.key, secret);
    if (master instanceof Error) damaged.push(`${entry.key} (${master.message})`);
    else if (master !== undefined) return { master, keyId: entry.file.id };
  }
  const what = secret.kind === 'password' ? 'password' : 'key file';
  const message = `no key of the repository ${storage.location} opens with the given ${what}`;
  if (damaged.length > 0) {
    throw new AcxError(
      'INTEGRITY',
      `${message}, and ${damaged.length} key file(s) are damaged: ${damaged.join('; ')}`,
      {
        subject: storage.location,
        hint: `if a damaged key file held your ${what}, restore it from a copy of the repository`,
      },
    );
  }
  throw new AcxError('CONFIG', message, {
    subject: storage.location,
    hint:
      secret.kind === 'password'
        ? 'check ACX_REPOSITORY_PASSWORD or ACX_REPOSITORY_PASSWORD_FILE (only one trailing newline is stripped)'
        : `check that ACX_REPOSITORY_KEY_FILE (${secret.path}) is the key file this repository was given`,
  });
}

/** Every key file, in `createdAt` order; a damaged one is listed with `damaged` saying why. */
export async function listKeys(
  storage: Storage,
): Promise<Array<{ id: string; createdAt: string; kdf: string; damaged?: string }>> {
  const entries = await readKeyFiles(storage);
  return entries
    .map(({ id, file, problem, modified }) =>
      file === undefined
        ? { id, createdAt: modified, kdf: 'unknown', damaged: problem ?? 'unreadable' }
        : { id, createdAt: file.createdAt, kdf: file.kdf.name },
    )
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
}

/**
 * Deletes key file `keyId`. Refused (USAGE) when it is `usedKeyId`, the key this run opened the
 * repository with, or when no other intact key file would remain; NOT_FOUND for an unknown id.
 */
export async function removeKey(storage: Storage, keyId: string, usedKeyId: string): Promise<void> {
  const entries = await readKeyFiles(storage);
  if (!entries.some((e) => e.id === keyId)) {
    throw new AcxError('NOT_FOUND', `the repository ${storage.location} has no key ${keyId}`, {
      subject: keyId,
      hint: 'list the keys and their ids with `acx-data key list`',
    });
  }
  if (!entries.some((e) => e.id !== keyId && e.file !== undefined)) {
    throw new AcxError('USAGE', `key ${keyId} is the last key of the repository ${storage.location}`, {
      subject: keyId,
      hint: 'add another key first: without a key nothing in the repository can be decrypted',
    });
  }
  if (keyId === usedKeyId) {
    throw new AcxError('USAGE', `key ${keyId} is the key this run opened the repository with`, {
      subject: keyId,
      hint: 'open the repository with another key (password or key file) to remove this one',
    });
  }
  await storage.delete(keyFileKey(keyId));
}

interface KeyFileEntry {
  key: string;
  id: string;
  modified: string;
  file?: KeyFile;
  problem?: string;
}

/** Every `keys/*.json`, parsed and validated; a damaged one carries `problem` instead of `file`. */
async function readKeyFiles(storage: Storage): Promise<KeyFileEntry[]> {
  const entries: KeyFileEntry[] = [];
  for await (const info of storage.list(KEYS_PREFIX)) {
    const id = info.key.slice(KEYS_PREFIX.length, -'.json'.length);
    if (!info.key.endsWith('.json') || id.includes('/')) continue;
    const entry: KeyFileEntry = { key: info.key, id, modified: info.modified.toISOString() };
    if (info.size > KEY_FILE_MAX_BYTES) entry.problem = `${info.size} bytes, too large for a key file`;
    else {
      const read = await readKeyFile(storage, info.key, id);
      if (read === undefined) continue; // removed since the listing
      if (typeof read === 'string') entry.problem = read;
      else entry.file = read;
    }
    entries.push(entry);
  }
  return entries;
}

/** The key file, a problem (why it is damaged), or undefined when it no longer exists. */
async function readKeyFile(storage: Storage, key: string, id: string): Promise<KeyFile | string | undefined> {
  let json: unknown;
  try {
    json = await readJson(storage, key);
  } catch (error) {
    if (error instanceof StorageError && error.reason === 'not-found') return undefined;
    if (error instanceof AcxError && error.code === 'INTEGRITY') return 'not valid JSON';
    throw error;
  }
  const parsed = keyFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return `not a key file: ${issue?.path.join('.') || 'the document'} ${issue?.message ?? ''}`.trim();
  }
  if (parsed.data.id !== id) return `its id ${parsed.data.id} does not match its name`;
  return parsed.data;
}

/** The master key; undefined when the secret is not this file's; an Error when the file is damaged. */
async function tryOpen(
  file: KeyFile,
  key: string,
  secret: RepositorySecret,
): Promise<MasterKey | Error | undefined> {
  let wrapKey: Buffer;
  try {
    wrapKey = await deriveWrapKey(file.kdf, secret);
  } catch (error) {
    return new Error(`its key derivation fails: ${(error as Error).message}`);
  }
  let plaintext: Buffer;
  try {
    plaintext = openWithKey(wrapKey, Buffer.from(file.data, 'base64'), aadOf(file.id), key);
  } catch {
    return undefined; // a wrong secret and altered bytes look alike: AES-GCM tells neither apart
  } finally {
    wrapKey.fill(0);
  }
  try {
    const parsed = masterSchema.safeParse(JSON.parse(plaintext.toString('utf8')));
    if (!parsed.success) return new Error('its content is not a master key');
    const { encKey, idKey, chunkerSeed } = parsed.data;
    const decode = (text: string) => Buffer.from(text, 'base64');
    return { encKey: decode(encKey), idKey: decode(idKey), chunkerSeed: decode(chunkerSeed) };
  } catch {
    return new Error('its content is not a master key');
  } finally {
    plaintext.fill(0);
  }
}

async function deriveWrapKey(kdf: Kdf, secret: RepositorySecret): Promise<Buffer> {
  const saltBytes = Buffer.from(kdf.salt, 'base64');
  if (kdf.name === 'hkdf-sha256') {
    return new Promise((resolve, reject) =>
      hkdf('sha256', secret.value, saltBytes, HKDF_INFO, KEY_BYTES, (error, key) =>
        error ? reject(error) : resolve(Buffer.from(key)),
      ),
    );
  }
  const options = { N: kdf.N, r: kdf.r, p: kdf.p, maxmem: SCRYPT_MAXMEM };
  return new Promise((resolve, reject) =>
    scrypt(secret.value, saltBytes, KEY_BYTES, options, (error, key) =>
      error ? reject(error) : resolve(key),
    ),
  );
}

function kindOf(kdf: Kdf): RepositorySecret['kind'] {
  return kdf.name === 'scrypt' ? 'password' : 'key-file';
}

function aadOf(keyId: string): Buffer {
  return Buffer.from(`acx-data-key:${keyId}`, 'utf8');
}

function keyFileKey(keyId: string): string {
  return `${KEYS_PREFIX}${keyId}.json`;
}

function readNamedFile(name: string, path: string, readFile: ReadSecretFile): Buffer {
  try {
    return Buffer.from(readFile(path));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new AcxError('CONFIG', `the file ${path} named by ${name} cannot be read (${code})`, {
      subject: path,
      hint: `point ${name} at a readable file`,
      cause: error,
    });
  }
}

function stripOneNewline(content: Buffer): Buffer {
  if (content.at(-1) !== 0x0a) return content;
  return content.subarray(0, content.at(-2) === 0x0d ? -2 : -1);
}

/** A key file's bytes: hex or base64 text is decoded, anything else is taken raw; >= 32 bytes. */
function keyMaterialOf(content: Buffer, name: string, path: string): Buffer {
  const text = content.toString('latin1').trim();
  let material = content;
  if (/^(?:[0-9a-fA-F]{2})+$/.test(text)) material = Buffer.from(text, 'hex');
  else if (/^[A-Za-z0-9+/]+={0,2}$/.test(text) && text.length % 4 === 0)
    material = Buffer.from(text, 'base64');
  if (material.length < MIN_KEY_FILE_BYTES) {
    throw new AcxError(
      'CONFIG',
      `the key file ${path} (${name}) holds ${material.length} bytes of key, fewer than ${MIN_KEY_FILE_BYTES}`,
      {
        subject: path,
        hint: 'make a key file of 32 random bytes, e.g. `openssl rand -hex 32 > FILE`, and add it as a key',
      },
    );
  }
  return material;
}
