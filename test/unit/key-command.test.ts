/**
 * `acx-data key list|add|remove|generate` through the real CLI on a local encrypted repository (made
 * with the Repository API: no database is needed): listing with and without a key, adding a password
 * and a generated key file, the refusals (wrong or missing key, a duplicate, the key in use, the last
 * key, an unknown id, a held lock, an unencrypted repository, an existing file), JSON output, and no
 * secret in any output.
 */
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Repository } from '../../src/repository/repository.ts';
import { runCli, type CliResult } from '../support/cli.ts';

const OLD_PASSWORD = 'old-pw-Kx81-quartz-lantern';
const NEW_PASSWORD = 'new-pw-Zq42-velvet-harbour';
const SECRET_NAMES = ['PASSWORD', 'PASSWORD_FILE', 'KEY_FILE'].flatMap((n) => [
  `ACX_REPOSITORY_${n}`,
  `ACX_NEW_REPOSITORY_${n}`,
]);

let work: string;
/** Every secret a run was given, to check that no output shows one. */
const secretsSeen = new Set<string>([OLD_PASSWORD, NEW_PASSWORD]);

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'acx-key-cli-'));
});
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

/** The environment of a CLI run: no secret but the ones given, and a state directory of its own. */
function envWith(secrets: Record<string, string>): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env, ACX_STATE_DIR: join(work, 'state') };
  for (const name of SECRET_NAMES) delete env[name];
  return { ...env, ...secrets };
}

async function key(
  args: string[],
  secrets: Record<string, string> = {},
  options: { json?: boolean } = {},
): Promise<CliResult> {
  const result = await runCli(
    [...(options.json ? ['--format', 'json'] : []), 'key', ...args],
    envWith(secrets),
  );
  expect(result.stderr).not.toMatch(/INTERNAL/);
  for (const secret of secretsSeen) expect(result.stdout + result.stderr).not.toContain(secret);
  return result;
}

interface KeyListJson {
  keys: Array<{ id: string; kdf: string; opened: boolean; createdAt: string }>;
  openedWith?: string;
}

async function listJson(dir: string, secrets: Record<string, string> = {}): Promise<KeyListJson> {
  const result = await key(['list', '--backup-dir', dir], secrets, { json: true });
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as KeyListJson;
}

/** A new local repository (config.json, and a key for `password` when given). */
async function newRepository(name: string, password?: string): Promise<string> {
  const dir = join(work, name);
  const env = password ? { ACX_REPOSITORY_PASSWORD: password } : {};
  const repository = await Repository.open(dir, {
    create: true,
    access: { env, readSecretFile: (path) => readFileSync(path) },
  });
  await repository.blobs({ encrypt: password !== undefined });
  await repository.close();
  return dir;
}

const keyFiles = async (dir: string) => (await readdir(join(dir, 'keys'))).sort();

describe('acx-data key', () => {
  let dir: string;
  let oldId: string;
  let newId: string;

  beforeAll(async () => {
    dir = await newRepository('encrypted', OLD_PASSWORD);
  });

  it('lists the key without a secret, and marks the one a secret opens', async () => {
    const bare = await listJson(dir);
    expect(bare.keys).toHaveLength(1);
    expect(bare.keys[0]).toMatchObject({ kdf: 'scrypt', opened: false });
    expect(bare.openedWith).toBeUndefined();
    oldId = bare.keys[0]!.id;
    expect(await keyFiles(dir)).toEqual([`${oldId}.json`]);

    const opened = await listJson(dir, { ACX_REPOSITORY_PASSWORD: OLD_PASSWORD });
    expect(opened.openedWith).toBe(oldId);
    expect(opened.keys[0]?.opened).toBe(true);

    const text = await key(['list', '--backup-dir', dir], { ACX_REPOSITORY_PASSWORD: OLD_PASSWORD });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`${oldId}\\s+\\S+ \\S+\\s+password\\s+scrypt\\s+yes`));
  });

  it('refuses a wrong password (CONFIG) and writes nothing', async () => {
    const before = await keyFiles(dir);
    const listed = await key(['list', '--backup-dir', dir], { ACX_REPOSITORY_PASSWORD: 'not-it-9' });
    expect(listed.code).toBe(2);
    expect(listed.stderr).toMatch(/CONFIG.*no key of the repository .* opens with the given password/);
    const added = await key(['add', '--backup-dir', dir], {
      ACX_REPOSITORY_PASSWORD: 'not-it-9',
      ACX_NEW_REPOSITORY_PASSWORD: NEW_PASSWORD,
    });
    expect(added.code).toBe(2);
    expect(added.stderr).toContain('CONFIG');
    expect(await keyFiles(dir)).toEqual(before);
    expect((await readdir(dir)).sort()).toEqual(['config.json', 'keys']);
  });

  it('refuses to change keys without a current key or without the new one (CONFIG)', async () => {
    const noKey = await key(['add', '--backup-dir', dir], { ACX_NEW_REPOSITORY_PASSWORD: NEW_PASSWORD });
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toMatch(/CONFIG.*encrypted: no key given/);
    expect(noKey.stderr).toContain('hint: set one of ACX_REPOSITORY_PASSWORD');
    const noNew = await key(['add', '--backup-dir', dir], { ACX_REPOSITORY_PASSWORD: OLD_PASSWORD });
    expect(noNew.code).toBe(2);
    expect(noNew.stderr).toMatch(/CONFIG.*key add needs the new key/);
    const noKeyRemove = await key(['remove', oldId, '--backup-dir', dir]);
    expect(noKeyRemove.stderr).toMatch(/CONFIG.*no key given/);
    expect(await keyFiles(dir)).toEqual([`${oldId}.json`]);
  });

  it('refuses the last key and the key in use', async () => {
    const last = await key(['remove', oldId, '--backup-dir', dir], { ACX_REPOSITORY_PASSWORD: OLD_PASSWORD });
    expect(last.code).toBe(2);
    expect(last.stderr).toMatch(/USAGE.*is the last key/);
    expect(await keyFiles(dir)).toEqual([`${oldId}.json`]);
  });

  it('adds a password that then opens the repository, and refuses adding it twice', async () => {
    const added = await key(
      ['add', '--backup-dir', dir],
      { ACX_REPOSITORY_PASSWORD: OLD_PASSWORD, ACX_NEW_REPOSITORY_PASSWORD: NEW_PASSWORD },
      { json: true },
    );
    expect(added.code, added.stderr).toBe(0);
    const summary = JSON.parse(added.stdout) as { id: string; kdf: string; openedWith: string };
    expect(summary).toMatchObject({ kdf: 'scrypt', openedWith: oldId });
    newId = summary.id;
    expect(await keyFiles(dir)).toEqual([`${oldId}.json`, `${newId}.json`].sort());

    const opened = await listJson(dir, { ACX_REPOSITORY_PASSWORD: NEW_PASSWORD });
    expect(opened.keys.map((k) => k.id)).toEqual([oldId, newId]);
    expect(opened.openedWith).toBe(newId);
    expect(await readdir(dir)).not.toContain('.acx-lock');

    const twice = await key(['add', '--backup-dir', dir], {
      ACX_REPOSITORY_PASSWORD: OLD_PASSWORD,
      ACX_NEW_REPOSITORY_PASSWORD: NEW_PASSWORD,
    });
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain(`USAGE [${newId}]: the new key already opens key ${newId}`);
    expect(await keyFiles(dir)).toHaveLength(2);
  });

  it('refuses the key in use and an unknown id, then removes the old key for good', async () => {
    const inUse = await key(['remove', oldId, '--backup-dir', dir], {
      ACX_REPOSITORY_PASSWORD: OLD_PASSWORD,
    });
    expect(inUse.code).toBe(2);
    expect(inUse.stderr).toMatch(/USAGE.*the key this run opened the repository with/);
    const unknown = await key(['remove', 'f'.repeat(32), '--backup-dir', dir], {
      ACX_REPOSITORY_PASSWORD: NEW_PASSWORD,
    });
    expect(unknown.code).toBe(5);
    expect(unknown.stderr).toContain('hint: list the keys');
    expect(await keyFiles(dir)).toHaveLength(2);

    const removed = await key(['remove', oldId, '--backup-dir', dir], {
      ACX_REPOSITORY_PASSWORD: NEW_PASSWORD,
    });
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toContain(`Removed key ${oldId}`);
    expect(await keyFiles(dir)).toEqual([`${newId}.json`]);
    const old = await key(['list', '--backup-dir', dir], { ACX_REPOSITORY_PASSWORD: OLD_PASSWORD });
    expect(old.code).toBe(2);
    expect(old.stderr).toContain('CONFIG');
  });

  it('generates a key file (0600, never overwritten) that works once added', async () => {
    const file = join(work, 'repository.key');
    const generated = await key(['generate', file], {}, { json: true });
    expect(generated.code, generated.stderr).toBe(0);
    expect(JSON.parse(generated.stdout)).toEqual({ file, bytes: 32 });
    const content = await readFile(file, 'utf8');
    secretsSeen.add(content.trim());
    expect(content).toMatch(/^[0-9a-f]{64}\n$/);
    expect((await stat(file)).mode & 0o777).toBe(0o600);

    const again = await key(['generate', file]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/USAGE.*already exists: key generate never overwrites/);
    expect(await readFile(file, 'utf8')).toBe(content);

    const other = join(work, 'other.key');
    expect((await key(['generate', other])).code).toBe(0);
    expect(await readFile(other, 'utf8')).not.toBe(content);

    const added = await key(['add', '--backup-dir', dir], {
      ACX_REPOSITORY_PASSWORD: NEW_PASSWORD,
      ACX_NEW_REPOSITORY_KEY_FILE: file,
    });
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toMatch(/Added key [0-9a-f]{32} \(key file\)/);
    const opened = await listJson(dir, { ACX_REPOSITORY_KEY_FILE: file });
    const byFile = opened.keys.find((k) => k.id === opened.openedWith);
    expect(byFile?.kdf).toBe('hkdf-sha256');
    // Another key file of the same size opens nothing.
    const wrong = await key(['list', '--backup-dir', dir], { ACX_REPOSITORY_KEY_FILE: other });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/CONFIG.*opens with the given key file/);
  });

  it('refuses key add while another run holds the repository lock (LOCKED)', async () => {
    const repository = await Repository.open(dir, { create: false });
    const lock = await repository.lock('backup');
    try {
      const added = await key(['add', '--backup-dir', dir], {
        ACX_REPOSITORY_PASSWORD: NEW_PASSWORD,
        ACX_NEW_REPOSITORY_PASSWORD: OLD_PASSWORD,
      });
      expect(added.code).toBe(8);
      expect(added.stderr).toContain('LOCKED');
    } finally {
      await lock.release();
      await repository.close();
    }
    expect(await keyFiles(dir)).toHaveLength(2);
  });
});

describe('acx-data key on repositories without keys', () => {
  it('refuses an unencrypted repository and an empty folder (USAGE), and a missing one (NOT_FOUND)', async () => {
    const plain = await newRepository('plain');
    const listed = await key(['list', '--backup-dir', plain]);
    expect(listed.code).toBe(2);
    expect(listed.stderr).toMatch(/USAGE.*is not encrypted: it has no keys/);
    expect(listed.stderr).toContain('hint: a repository is encrypted from its first backup');

    const format1 = join(work, 'format1');
    await mkdir(join(format1, 'full_20250101_000000'), { recursive: true });
    await writeFile(join(format1, 'full_20250101_000000', 'manifest.json'), '{}');
    const old = await key(['add', '--backup-dir', format1], {
      ACX_REPOSITORY_PASSWORD: OLD_PASSWORD,
      ACX_NEW_REPOSITORY_PASSWORD: NEW_PASSWORD,
    });
    expect(old.code).toBe(2);
    expect(old.stderr).toMatch(/USAGE.*no config\.json/);

    const missing = await key(['list', '--backup-dir', join(work, 'nowhere')]);
    expect(missing.code).toBe(5);
  });
});
