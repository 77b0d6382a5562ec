/**
 * The format-2 repository's cryptography (src/repository/blobs/blob-crypto.ts): sealing round trips,
 * every altered byte and every foreign AAD refused as INTEGRITY, blob ids and MACs against published
 * SHA-256 and HMAC-SHA-256 vectors (FIPS 180-2, RFC 4231).
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  SEAL_OVERHEAD,
  blobId,
  mac,
  newMasterKey,
  open,
  seal,
  type MasterKey,
} from '../../src/repository/blobs/blob-crypto.ts';
import { acxErrorOf } from '../support/acx-error.ts';

const AAD = Buffer.from('data:0f3c');

/** open() as a promise, so acxErrorOf can name the error it throws. */
const opening = (key: MasterKey, sealed: Buffer, aad: Buffer, what = 'blob 0f3c') =>
  Promise.resolve().then(() => open(key, sealed, aad, what));

describe('seal and open', () => {
  const key = newMasterKey();

  it.each([0, 1, 100, 1024 * 1024 + 3])('round trip of %i bytes', (size) => {
    const plaintext = randomBytes(size);
    const sealed = seal(key, plaintext, AAD);
    expect(sealed.length).toBe(size + SEAL_OVERHEAD);
    // Buffer.equals: vitest's deep equality walks a megabyte byte by byte.
    expect(open(key, sealed, AAD, 'blob').equals(plaintext)).toBe(true);
  });

  it('never seals the same plaintext to the same bytes (random nonces) and hides it', () => {
    const plaintext = Buffer.from('P0300 Random/Multiple Cylinder Misfire Detected '.repeat(4));
    const a = seal(key, plaintext, AAD);
    const b = seal(key, plaintext, AAD);
    expect(a.subarray(0, 12)).not.toEqual(b.subarray(0, 12));
    expect(a).not.toEqual(b);
    expect(a.includes(Buffer.from('Misfire'))).toBe(false);
  });

  it('refuses a flipped bit in every byte: nonce, ciphertext and tag', async () => {
    const plaintext = Buffer.from('a small chunk of rows');
    const sealed = seal(key, plaintext, AAD);
    for (let at = 0; at < sealed.length; at++) {
      const altered = Buffer.from(sealed);
      altered[at]! ^= 0x01;
      const error = await acxErrorOf(opening(key, altered, AAD));
      expect([at, error.code]).toEqual([at, 'INTEGRITY']);
      expect(error.message).toBe(
        'blob 0f3c failed authentication: it was tampered with or belongs elsewhere',
      );
      expect(error.subject).toBe('blob 0f3c');
      expect(error.hint).toBeTruthy();
    }
  });

  it('refuses truncated and extended objects', async () => {
    const sealed = seal(key, Buffer.from('rows'), AAD);
    for (const bad of [sealed.subarray(0, sealed.length - 1), sealed.subarray(0, 27), Buffer.alloc(0)]) {
      expect((await acxErrorOf(opening(key, bad, AAD))).code).toBe('INTEGRITY');
    }
    const longer = Buffer.concat([sealed, Buffer.from([0])]);
    expect((await acxErrorOf(opening(key, longer, AAD))).code).toBe('INTEGRITY');
  });

  it('refuses another AAD: a chunk swapped between snapshots or types does not open', async () => {
    // Callers bind blob id and type; a blob stored under another id, or read as another type, fails.
    const chunkA = seal(key, Buffer.from('rows of snapshot A'), Buffer.from('data:aaaa'));
    expect((await acxErrorOf(opening(key, chunkA, Buffer.from('data:bbbb')))).code).toBe('INTEGRITY');
    expect((await acxErrorOf(opening(key, chunkA, Buffer.from('tree:aaaa')))).code).toBe('INTEGRITY');
    expect((await acxErrorOf(opening(key, chunkA, Buffer.alloc(0)))).code).toBe('INTEGRITY');
    expect(open(key, chunkA, Buffer.from('data:aaaa'), 'blob aaaa').toString()).toBe('rows of snapshot A');
  });

  it('refuses a wrong key, even one sharing the id key', async () => {
    const sealed = seal(key, Buffer.from('rows'), AAD);
    const other = { ...newMasterKey(), idKey: key.idKey };
    expect((await acxErrorOf(opening(other, sealed, AAD))).code).toBe('INTEGRITY');
  });
});

describe('blob ids and MACs', () => {
  // RFC 4231 test case 2: key "Jefe".
  const jefe: MasterKey = { ...newMasterKey(), idKey: Buffer.from('Jefe') };
  const RFC4231 = '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843';

  it('without a key: SHA-256 of the plaintext, 64 lowercase hex', () => {
    expect(blobId(Buffer.from('abc'))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });

  it('with a key: HMAC-SHA-256 under the id key', () => {
    expect(blobId(Buffer.from('what do ya want for nothing?'), jefe)).toBe(RFC4231);
  });

  it('keyed ids are stable per key, differ between keys and from the plain hash', () => {
    const data = Buffer.from('{"code":"P0300"}');
    const a = newMasterKey();
    const b = newMasterKey();
    expect(blobId(data, a)).toBe(blobId(Buffer.from(data), a));
    expect(blobId(data, a)).not.toBe(blobId(data, b));
    expect(blobId(data, a)).not.toBe(blobId(data));
    expect(blobId(data, a)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('mac: HMAC-SHA-256 under the id key, the same for a string and its UTF-8 bytes', () => {
    expect(mac(jefe, 'what do ya want for nothing?')).toBe(RFC4231);
    expect(mac(jefe, Buffer.from('ő manifest'))).toBe(mac(jefe, 'ő manifest'));
    expect(mac(newMasterKey(), 'manifest')).not.toBe(mac(newMasterKey(), 'manifest'));
  });

  it('new master keys are three distinct 32-byte random keys', () => {
    const { encKey, idKey, chunkerSeed } = newMasterKey();
    expect([encKey.length, idKey.length, chunkerSeed.length]).toEqual([32, 32, 32]);
    expect(
      new Set([encKey, idKey, chunkerSeed, newMasterKey().encKey].map((k) => k.toString('hex'))).size,
    ).toBe(4);
  });
});
