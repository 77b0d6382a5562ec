/**
 * Key files of an encrypted repository (src/repository/blobs/keys.ts) on memory:// storages: secrets
 * from the environment only, add/unlock round trips for a password, a password file and a key file,
 * wrong and missing secrets, several keys for one master key, removal rules, damaged key files, and no
 * trace of the master key in any encoding in what is stored. scrypt runs with a small N for speed,
 * except in the one test that checks the default.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AcxError } from '../../src/errors.ts';
import { newMasterKey, type MasterKey } from '../../src/repository/blobs/blob-crypto.ts';
import {
  addKey,
  listKeys,
  newKeyFile,
  removeKey,
  secretFromEnv,
  unlock,
  type RepositorySecret,
} from '../../src/repository/blobs/keys.ts';
import { MemoryStorage } from '../../src/storage/memory/memory-storage.ts';
import {
  listAll,
  putJson,
  putText,
  readBytes,
  readJson,
  readText,
} from '../../src/storage/storage-helpers.ts';
import { acxErrorOf } from '../support/acx-error.ts';

const FAST = { scryptN: 1024 };
const PASSWORD = 'correct horse battery staple';
const OTHER_PASSWORD = 'Tr0ub4dor&3';
const folder = mkdtempSync(join(tmpdir(), 'acx-keys-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

function file(name: string, content: string | Buffer): string {
  const path = join(folder, name);
  writeFileSync(path, content);
  return path;
}

const fromEnv = (env: NodeJS.ProcessEnv, prefix: 'ACX_' | 'ACX_NEW_' = 'ACX_') =>
  secretFromEnv(env, prefix, readFileSync);
const password = (text: string): RepositorySecret => ({ kind: 'password', value: Buffer.from(text) });
const expectSameMaster = (a: MasterKey, b: MasterKey) =>
  expect([a.encKey, a.idKey, a.chunkerSeed].map((k) => k.toString('hex'))).toEqual(
    [b.encKey, b.idKey, b.chunkerSeed].map((k) => k.toString('hex')),
  );

describe('secretFromEnv', () => {
  it('is undefined when no variable is set (an empty value counts as unset)', () => {
    expect(fromEnv({})).toBeUndefined();
    expect(fromEnv({ ACX_REPOSITORY_PASSWORD: '' })).toBeUndefined();
    expect(fromEnv({ ACX_NEW_REPOSITORY_PASSWORD: PASSWORD })).toBeUndefined();
  });

  it('reads a password, and a password file with one trailing newline stripped', () => {
    expect(fromEnv({ ACX_REPOSITORY_PASSWORD: 'ő pass\n' })).toEqual(password('ő pass\n'));
    const path = file('password.txt', `${PASSWORD}\n\n`);
    expect(fromEnv({ ACX_REPOSITORY_PASSWORD_FILE: path })).toEqual(password(`${PASSWORD}\n`));
    const crlf = file('password-crlf.txt', `${PASSWORD}\r\n`);
    expect(fromEnv({ ACX_REPOSITORY_PASSWORD_FILE: crlf })).toEqual(password(PASSWORD));
  });

  it('reads a key file as raw bytes, hex or base64: the same 32 bytes each way', () => {
    const bytes = randomBytes(32);
    const raw = file('raw.key', bytes);
    const hex = file('hex.key', `${bytes.toString('hex')}\n`);
    const b64 = file('b64.key', bytes.toString('base64'));
    for (const path of [raw, hex, b64]) {
      expect(fromEnv({ ACX_REPOSITORY_KEY_FILE: path })).toEqual({ kind: 'key-file', value: bytes, path });
    }
  });

  it('reads the ACX_NEW_ variables for a key being added', () => {
    const path = file('new-password.txt', OTHER_PASSWORD);
    const env = { ACX_REPOSITORY_PASSWORD: PASSWORD, ACX_NEW_REPOSITORY_PASSWORD_FILE: path };
    expect(fromEnv(env, 'ACX_NEW_')).toEqual(password(OTHER_PASSWORD));
    expect(fromEnv(env)).toEqual(password(PASSWORD));
  });

  it('refuses two variables at once with CONFIG naming both and neither value', async () => {
    const path = file('two.txt', OTHER_PASSWORD);
    const error = await acxErrorOf(
      Promise.resolve().then(() =>
        fromEnv({ ACX_REPOSITORY_PASSWORD: PASSWORD, ACX_REPOSITORY_PASSWORD_FILE: path }),
      ),
    );
    expect(error.code).toBe('CONFIG');
    expect(error.message).toContain('ACX_REPOSITORY_PASSWORD and ACX_REPOSITORY_PASSWORD_FILE');
    expect(`${error.message} ${error.hint}`).not.toContain(PASSWORD);
  });

  it.each([
    ['a key file shorter than 32 bytes', { ACX_REPOSITORY_KEY_FILE: 'short.key' }, 'fewer than 32'],
    ['a key file of 31 bytes in hex', { ACX_REPOSITORY_KEY_FILE: 'short-hex.key' }, 'holds 31 bytes'],
    ['an empty password file', { ACX_REPOSITORY_PASSWORD_FILE: 'empty.txt' }, 'is empty'],
    ['a missing file', { ACX_REPOSITORY_KEY_FILE: 'missing.key' }, 'cannot be read (ENOENT)'],
  ])('refuses %s with CONFIG', async (_, env, words) => {
    file('short.key', randomBytes(31));
    file('short-hex.key', randomBytes(31).toString('hex'));
    file('empty.txt', '\n');
    const inFolder = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, join(folder, v)]));
    const error = await acxErrorOf(Promise.resolve().then(() => fromEnv(inFolder)));
    expect(error.code).toBe('CONFIG');
    expect(error.message).toContain(words);
    expect(error.hint).toBeTruthy();
  });

  it('newKeyFile makes 64 hex characters and a newline that read back as a 32-byte key', () => {
    const content = newKeyFile();
    expect(content).toMatch(/^[0-9a-f]{64}\n$/);
    expect(newKeyFile()).not.toBe(content);
    const path = file('generated.key', content);
    expect(fromEnv({ ACX_REPOSITORY_KEY_FILE: path })?.value).toEqual(Buffer.from(content.trim(), 'hex'));
    expect(() => newKeyFile(16)).toThrow(AcxError);
  });
});

describe('addKey and unlock', () => {
  it.each([
    ['a password', () => ({ ACX_REPOSITORY_PASSWORD: PASSWORD })],
    ['a password file', () => ({ ACX_REPOSITORY_PASSWORD_FILE: file('pw-file.txt', `${PASSWORD}\n`) })],
    ['a key file', () => ({ ACX_REPOSITORY_KEY_FILE: file('round-trip.key', newKeyFile()) })],
  ])('round trip with %s', async (_, env) => {
    const storage = new MemoryStorage('keys');
    const master = newMasterKey();
    const variables = env();
    const secret = fromEnv(variables)!;
    const keyId = await addKey(storage, master, secret, FAST);
    expect(keyId).toMatch(/^[0-9a-f]{32}$/);
    const opened = await unlock(storage, fromEnv(variables));
    expect(opened.keyId).toBe(keyId);
    expectSameMaster(opened.master, master);
    const stored = (await readJson(storage, `keys/${keyId}.json`)) as Record<string, unknown>;
    expect(stored).toMatchObject({ format: 'acx-data-key', version: 1, id: keyId });
    expect((stored.kdf as { name: string }).name).toBe(secret.kind === 'password' ? 'scrypt' : 'hkdf-sha256');
  });

  it('a password and a password file holding it open the same key', async () => {
    const storage = new MemoryStorage('same-password');
    const master = newMasterKey();
    await addKey(storage, master, password(PASSWORD), FAST);
    const path = file('same.txt', `${PASSWORD}\n`);
    expectSameMaster((await unlock(storage, fromEnv({ ACX_REPOSITORY_PASSWORD_FILE: path }))).master, master);
  });

  it('uses scrypt N=32768, r=8, p=1 and a 16-byte salt by default', async () => {
    const storage = new MemoryStorage('default-n');
    const keyId = await addKey(storage, newMasterKey(), password(PASSWORD));
    const { kdf } = (await readJson(storage, `keys/${keyId}.json`)) as { kdf: Record<string, unknown> };
    expect({ ...kdf, salt: Buffer.from(kdf.salt as string, 'base64').length }).toEqual({
      name: 'scrypt',
      N: 32768,
      r: 8,
      p: 1,
      salt: 16,
    });
  });

  it.each([1000, 65536, 0])(
    'refuses scrypt N=%i (not a power of two, or over 64 MiB) with USAGE',
    async (N) => {
      const storage = new MemoryStorage('bad-n');
      const error = await acxErrorOf(addKey(storage, newMasterKey(), password(PASSWORD), { scryptN: N }));
      expect(error.code).toBe('USAGE');
      expect(await listAll(storage, '')).toEqual([]);
    },
  );

  it('a wrong password is CONFIG, and no message holds either password', async () => {
    const storage = new MemoryStorage('wrong');
    await addKey(storage, newMasterKey(), password(PASSWORD), FAST);
    const before = await listAll(storage, '');
    const error = await acxErrorOf(unlock(storage, password(OTHER_PASSWORD)));
    expect(error.code).toBe('CONFIG');
    expect(error.message).toBe('no key of the repository memory://wrong opens with the given password');
    expect(await listAll(storage, '')).toEqual(before); // a failed unlock writes nothing
    const shown = `${error.message} ${error.hint} ${error.subject} ${String(error.cause)} ${error.stack}`;
    for (const secret of [PASSWORD, OTHER_PASSWORD]) expect(shown).not.toContain(secret);
  });

  it('a key file whose sealed data was altered does not open', async () => {
    const storage = new MemoryStorage('altered');
    const keyId = await addKey(storage, newMasterKey(), password(PASSWORD), FAST);
    const stored = (await readJson(storage, `keys/${keyId}.json`)) as { data: string };
    const data = Buffer.from(stored.data, 'base64');
    data[20]! ^= 0x80;
    await putJson(storage, `keys/${keyId}.json`, { ...stored, data: data.toString('base64') });
    // AES-GCM cannot tell a wrong password from altered bytes: either way, nothing opens.
    expect((await acxErrorOf(unlock(storage, password(PASSWORD)))).code).toBe('CONFIG');
  });

  it('a key file never opens a password key, nor a password a key-file key', async () => {
    const storage = new MemoryStorage('kinds');
    const keyFile = fromEnv({ ACX_REPOSITORY_KEY_FILE: file('kinds.key', newKeyFile()) })!;
    await addKey(storage, newMasterKey(), password(PASSWORD), FAST);
    const error = await acxErrorOf(unlock(storage, keyFile));
    expect([error.code, error.message]).toEqual([
      'CONFIG',
      'no key of the repository memory://kinds opens with the given key file',
    ]);
    const other = new MemoryStorage('kinds-2');
    await addKey(other, newMasterKey(), keyFile);
    expect((await acxErrorOf(unlock(other, password(PASSWORD)))).code).toBe('CONFIG');
  });

  it('no secret is CONFIG naming the three variables', async () => {
    const storage = new MemoryStorage('missing');
    await addKey(storage, newMasterKey(), password(PASSWORD), FAST);
    const error = await acxErrorOf(unlock(storage, undefined));
    expect(error.code).toBe('CONFIG');
    expect(error.message).toBe('the repository memory://missing is encrypted: no key given');
    for (const name of ['ACX_REPOSITORY_PASSWORD', 'ACX_REPOSITORY_PASSWORD_FILE', 'ACX_REPOSITORY_KEY_FILE'])
      expect(error.hint).toContain(name);
  });

  it('a repository without key files is INTEGRITY', async () => {
    const error = await acxErrorOf(unlock(new MemoryStorage('keyless'), password(PASSWORD)));
    expect([error.code, error.message]).toEqual([
      'INTEGRITY',
      'the repository memory://keyless is encrypted but holds no key file',
    ]);
  });

  it('two keys open the same master key; each opens with its own secret only', async () => {
    const storage = new MemoryStorage('two');
    const master = newMasterKey();
    const first = await addKey(storage, master, password(PASSWORD), FAST);
    const keyFile = fromEnv({ ACX_REPOSITORY_KEY_FILE: file('two.key', newKeyFile()) })!;
    const second = await addKey(storage, master, keyFile);
    const third = await addKey(storage, master, password(OTHER_PASSWORD), FAST);
    expect(new Set([first, second, third]).size).toBe(3);
    const opened = [await unlock(storage, password(PASSWORD)), await unlock(storage, keyFile)];
    opened.push(await unlock(storage, password(OTHER_PASSWORD)));
    expect(opened.map((o) => o.keyId)).toEqual([first, second, third]);
    for (const { master: m } of opened) expectSameMaster(m, master);
    const listed = await listKeys(storage);
    // Listed oldest first, keys made in the same millisecond by id: the order of creation is not the rule.
    const byId = (a: string[], b: string[]) => a[0]!.localeCompare(b[0]!);
    expect(listed.map((k) => [k.id, k.kdf]).sort(byId)).toEqual(
      [
        [first, 'scrypt'],
        [second, 'hkdf-sha256'],
        [third, 'scrypt'],
      ].sort(byId),
    );
    const order = listed.map((k) => `${k.createdAt} ${k.id}`);
    expect(order).toEqual([...order].sort());
  });

  it('stores no byte of the master key in any encoding', async () => {
    const storage = new MemoryStorage('leak');
    const master = newMasterKey();
    await addKey(storage, master, password(PASSWORD), FAST);
    await addKey(storage, master, { kind: 'key-file', value: randomBytes(32), path: 'k' });
    const objects = await listAll(storage, '');
    expect(objects).toHaveLength(2);
    for (const { key } of objects) {
      const text = await readText(storage, key);
      const binary = await readBytes(storage, key);
      for (const part of [master.encKey, master.idKey, master.chunkerSeed]) {
        // Any 8-byte window of the key, so a key split or re-encoded in pieces is caught as well.
        for (const encoded of [
          part.toString('hex'),
          part.toString('hex').toUpperCase(),
          part.toString('base64'),
          part.toString('base64url'),
          part.subarray(0, 12).toString('base64'),
          part.subarray(12, 24).toString('hex'),
        ]) {
          expect(text).not.toContain(encoded);
        }
        expect(binary.includes(part.subarray(0, 8))).toBe(false);
      }
      expect(text).not.toContain(PASSWORD);
    }
  });
});

describe('damaged key files', () => {
  async function repositoryWithDamage(name: string) {
    const storage = new MemoryStorage(name);
    const master = newMasterKey();
    const good = await addKey(storage, master, password(PASSWORD), FAST);
    const other = await addKey(storage, master, password(OTHER_PASSWORD), FAST);
    const copy = (await readJson(storage, `keys/${good}.json`)) as Record<string, unknown>;
    await putText(storage, 'keys/00000000000000000000000000000001.json', '{"format":"acx-data-key", cut');
    await putJson(storage, 'keys/00000000000000000000000000000002.json', { ...copy, kdf: { name: 'rot13' } });
    // A key file asking every reader for 1 GiB of scrypt memory is damaged, not obeyed.
    const kdf = { ...(copy.kdf as object), N: 2 ** 20 };
    await putJson(storage, 'keys/00000000000000000000000000000005.json', {
      ...copy,
      kdf,
      id: '00000000000000000000000000000005',
    });
    // The good key file copied under another name, its id left as it was: refused as damaged.
    await putJson(storage, 'keys/00000000000000000000000000000003.json', copy);
    // ... and with the id changed to match: its AAD names the old id, so it does not open (it looks
    // like a key of another password: not damaged, just not ours).
    await putJson(storage, 'keys/00000000000000000000000000000004.json', {
      ...copy,
      id: '00000000000000000000000000000004',
    });
    return { storage, master, good, other };
  }

  it('are skipped when another key opens', async () => {
    const { storage, master, good } = await repositoryWithDamage('skip');
    const opened = await unlock(storage, password(PASSWORD));
    expect(opened.keyId).toBe(good);
    expectSameMaster(opened.master, master);
  });

  it('are reported as INTEGRITY, each named, when no key opens', async () => {
    const { storage, good, other } = await repositoryWithDamage('none-opens');
    expect((await unlock(storage, password(PASSWORD))).keyId).toBe(good);
    await storage.delete(`keys/${good}.json`);
    await storage.delete(`keys/${other}.json`);
    const error = await acxErrorOf(unlock(storage, password(PASSWORD)));
    expect(error.code).toBe('INTEGRITY');
    expect(error.message).toMatch(
      /^no key of the repository memory:\/\/none-opens opens with the given password/,
    );
    expect(error.message).toContain('keys/00000000000000000000000000000001.json (not valid JSON)');
    expect(error.message).toContain('keys/00000000000000000000000000000002.json (not a key file: kdf');
    expect(error.message).toContain(`keys/00000000000000000000000000000003.json (its id ${good} does not`);
    expect(error.message).toContain(
      'keys/00000000000000000000000000000005.json (not a key file: kdf.N needs more memory',
    );
    expect(error.message).toContain('and 4 key file(s) are damaged');
    expect(error.message).not.toContain('00000000000000000000000000000004');
    expect(error.message).not.toContain(PASSWORD);
  });

  it('are listed as damaged, and can be removed', async () => {
    const { storage, good } = await repositoryWithDamage('list');
    const listed = await listKeys(storage);
    expect(listed.filter((k) => k.damaged !== undefined).map((k) => k.id)).toEqual([
      '00000000000000000000000000000001',
      '00000000000000000000000000000002',
      '00000000000000000000000000000003',
      '00000000000000000000000000000005',
    ]);
    await removeKey(storage, '00000000000000000000000000000001', good);
    expect((await listKeys(storage)).map((k) => k.id)).not.toContain('00000000000000000000000000000001');
  });
});

describe('removeKey', () => {
  it('removes another key: its secret no longer opens, the rest still do', async () => {
    const storage = new MemoryStorage('remove');
    const master = newMasterKey();
    const first = await addKey(storage, master, password(PASSWORD), FAST);
    const second = await addKey(storage, master, password(OTHER_PASSWORD), FAST);
    await removeKey(storage, second, first);
    expect((await listKeys(storage)).map((k) => k.id)).toEqual([first]);
    expect((await acxErrorOf(unlock(storage, password(OTHER_PASSWORD)))).code).toBe('CONFIG');
    expectSameMaster((await unlock(storage, password(PASSWORD))).master, master);
  });

  it('refuses the key used to open the repository, the last key, and an unknown id', async () => {
    const storage = new MemoryStorage('refuse');
    const master = newMasterKey();
    const first = await addKey(storage, master, password(PASSWORD), FAST);

    const last = await acxErrorOf(removeKey(storage, first, first));
    expect([last.code, last.message]).toEqual([
      'USAGE',
      `key ${first} is the last key of the repository memory://refuse`,
    ]);

    const second = await addKey(storage, master, password(OTHER_PASSWORD), FAST);
    const used = await acxErrorOf(removeKey(storage, second, second));
    expect([used.code, used.message]).toEqual([
      'USAGE',
      `key ${second} is the key this run opened the repository with`,
    ]);
    expect(used.hint).toContain('open the repository with another key');

    const unknown = await acxErrorOf(removeKey(storage, 'ffffffffffffffffffffffffffffffff', first));
    expect([unknown.code, unknown.subject]).toEqual(['NOT_FOUND', 'ffffffffffffffffffffffffffffffff']);
    expect((await listKeys(storage)).map((k) => k.id).sort()).toEqual([first, second].sort());
  });

  it('refuses to leave only damaged key files', async () => {
    const storage = new MemoryStorage('only-damaged');
    const first = await addKey(storage, newMasterKey(), password(PASSWORD), FAST);
    await putText(storage, 'keys/00000000000000000000000000000001.json', 'not json');
    const error = await acxErrorOf(removeKey(storage, first, '00000000000000000000000000000001'));
    expect(error.code).toBe('USAGE');
    expect(error.message).toContain('is the last key');
  });
});
