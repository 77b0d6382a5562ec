/**
 * The cryptography of the format-2 repository (docs/decisions/0013-repository-encryption.md), on
 * node:crypto alone: blob ids, AES-256-GCM sealing and manifest MACs under one master key.
 *
 * Sealed layout: nonce (12 random bytes) || ciphertext || tag (16 bytes). The caller's `aad` is
 * authenticated but not stored: callers bind what a sealed object must be (its blob id and type, a key
 * file's id), so bytes moved to another place fail to open instead of decoding as something else.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { AcxError } from '../../errors.ts';

/** The repository's secrets; stored only wrapped (keys.ts). Each field is 32 random bytes. */
export interface MasterKey {
  /** AES-256-GCM key of every sealed blob and file. */
  encKey: Buffer;
  /** HMAC-SHA-256 key of blob ids and manifest MACs. */
  idKey: Buffer;
  /** Seeds the content-defined chunker, so chunk boundaries do not reveal known content either. */
  chunkerSeed: Buffer;
}

export const KEY_BYTES = 32;
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
/** Bytes a sealed object adds to its plaintext. */
export const SEAL_OVERHEAD = NONCE_BYTES + TAG_BYTES;

const CIPHER = 'aes-256-gcm';

export function newMasterKey(): MasterKey {
  return {
    encKey: randomBytes(KEY_BYTES),
    idKey: randomBytes(KEY_BYTES),
    chunkerSeed: randomBytes(KEY_BYTES),
  };
}

/**
 * Blob id, 64 lowercase hex: SHA-256(plaintext) without a key; HMAC-SHA-256(idKey, plaintext) with one,
 * so the ids of an encrypted repository do not confirm that it holds some known content.
 */
export function blobId(plaintext: Buffer, key?: MasterKey): string {
  if (key === undefined) return createHash('sha256').update(plaintext).digest('hex');
  return createHmac('sha256', key.idKey).update(plaintext).digest('hex');
}

/** AES-256-GCM with a 12-byte random nonce: returns nonce || ciphertext || 16-byte tag. */
export function seal(key: MasterKey, plaintext: Buffer, aad: Buffer): Buffer {
  return sealWithKey(key.encKey, plaintext, aad);
}

/**
 * Inverse of seal. A wrong key, any altered byte or a different `aad` is AcxError INTEGRITY naming
 * `what` (a blob id, a file key): nothing is ever returned unauthenticated.
 */
export function open(key: MasterKey, sealed: Buffer, aad: Buffer, what: string): Buffer {
  return openWithKey(key.encKey, sealed, aad, what);
}

/** HMAC-SHA-256(idKey, data) as 64 lowercase hex, used to authenticate manifests. */
export function mac(key: MasterKey, data: Buffer | string): string {
  return createHmac('sha256', key.idKey).update(data).digest('hex');
}

/** seal() with a raw 32-byte key: for the wrapping keys of key files (keys.ts). */
export function sealWithKey(rawKey: Buffer, plaintext: Buffer, aad: Buffer): Buffer {
  assertKeyLength(rawKey);
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv(CIPHER, rawKey, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([nonce, body, cipher.getAuthTag()]);
}

/** open() with a raw 32-byte key: for the wrapping keys of key files (keys.ts). */
export function openWithKey(rawKey: Buffer, sealed: Buffer, aad: Buffer, what: string): Buffer {
  assertKeyLength(rawKey);
  if (sealed.length < SEAL_OVERHEAD) {
    throw integrityError(what, `it is ${sealed.length} bytes, shorter than nonce and tag`);
  }
  const nonce = sealed.subarray(0, NONCE_BYTES);
  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  const decipher = createDecipheriv(CIPHER, rawKey, nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  const body = decipher.update(sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES));
  try {
    // final() checks the tag; until it passes, `body` is unauthenticated and must not escape.
    return Buffer.concat([body, decipher.final()]);
  } catch (error) {
    body.fill(0);
    throw integrityError(what, undefined, error);
  }
}

function integrityError(what: string, detail?: string, cause?: unknown): AcxError {
  const suffix = detail === undefined ? '' : ` (${detail})`;
  return new AcxError(
    'INTEGRITY',
    `${what} failed authentication: it was tampered with or belongs elsewhere${suffix}`,
    {
      subject: what,
      hint:
        'nothing of it was decoded; if it was not copied from another repository or snapshot, the ' +
        'storage altered it: run `acx-data backup --verify --all` and restore from another snapshot',
      cause,
    },
  );
}

function assertKeyLength(rawKey: Buffer): void {
  if (rawKey.length !== KEY_BYTES) {
    // A programming error, never user input: the key is ours. The length alone is safe to print.
    throw new AcxError('INTERNAL', `an encryption key must be ${KEY_BYTES} bytes, not ${rawKey.length}`);
  }
}
