/**
 * Encrypted repositories end to end (issue #12 point 4, design §11.6), through the real CLI and the
 * real stores: `backup --all --encrypt` → list, verify, empty, restore → identical content; no seeded
 * row value and no secret in any byte under the backup directory (while the decrypted snapshot holds
 * every one of those values); a wrong or missing key is CONFIG and writes nothing; `--encrypt` on an
 * unencrypted repository is USAGE; `key add` / `key remove` change which password opens it; a
 * generated key file opens it too.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffFingerprints, type Fingerprint } from '../../src/model/content-hash.ts';
import { AUTOCOGNITIX_COLLECTION } from '../../src/model/qdrant-model.ts';
import { Repository } from '../../src/repository/repository.ts';
import type { TestStores } from '../support/stores.ts';
import { emptyAll, fingerprint, openTestStores, seed } from '../support/stores.ts';
import { runCli, type CliResult } from '../support/cli.ts';

const SCALE = 0.02;
const PASSWORD = 'first-Pw-7rQx-acorn-meridian';
const NEW_PASSWORD = 'second-Pw-K2vd-copper-tundra';
const WRONG_PASSWORD = 'wrong-Pw-Yt5m-basalt-orchid';
/** A JSON data file's value: the application's files are encrypted like the stores' rows. */
const JSON_VALUE = 'Légtömegmérő-titkos-fordítás-4711';
const SECRET_NAMES = ['PASSWORD', 'PASSWORD_FILE', 'KEY_FILE'].flatMap((n) => [
  `ACX_REPOSITORY_${n}`,
  `ACX_NEW_REPOSITORY_${n}`,
]);

let stores: TestStores;
let work: string;
let backupDir: string;
let dataDir: string;
let original: Fingerprint;
let fullId: string;
/** Seeded values by where they come from: none may appear in the repository's bytes. */
let known: Record<string, string[]>;
/** Every secret given to a run: none may appear in its output or in the repository. */
const secrets = [PASSWORD, NEW_PASSWORD, WRONG_PASSWORD];

function envWith(given: Record<string, string>): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env, ACX_STATE_DIR: join(work, 'state') };
  for (const name of SECRET_NAMES) delete env[name];
  return { ...env, ...given };
}
const withPassword = (password: string) => envWith({ ACX_REPOSITORY_PASSWORD: password });

async function cli(args: string[], env: Record<string, string | undefined>): Promise<CliResult> {
  const result = await runCli(args, env);
  expect(result.stderr).not.toMatch(/INTERNAL/);
  for (const secret of secrets) expect(result.stdout + result.stderr).not.toContain(secret);
  return result;
}

const backup = (env: Record<string, string | undefined>, ...args: string[]) =>
  cli(['backup', '--backup-dir', backupDir, '--data-dir', dataDir, ...args], env);

async function backupId(env: Record<string, string | undefined>, ...args: string[]): Promise<string> {
  const result = await backup(env, '--format', 'json', ...args);
  expect(result.code, result.stderr).toBe(0);
  return (JSON.parse(result.stdout) as { id: string }).id;
}

/** Every file under `dir`, with a hash of its bytes: what "nothing was written" compares. */
async function listing(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out[relative(dir, path)] = createHash('sha256')
      .update(await readFile(path))
      .digest('hex');
  }
  return out;
}

/** The needles found in the raw bytes of any file under `dir`, as `file: needle`. */
async function foundIn(dir: string, needles: Array<string | Buffer>): Promise<string[]> {
  const found: string[] = [];
  for (const file of Object.keys(await listing(dir))) {
    const bytes = await readFile(join(dir, file));
    for (const [i, needle] of needles.entries())
      if (bytes.includes(typeof needle === 'string' ? Buffer.from(needle, 'utf8') : needle))
        found.push(`${file}: needle ${i}`);
  }
  return found;
}

/** Plain text none of the repository's encodings (COPY text, JSON) would escape. */
const plain = (values: unknown[]): string[] =>
  [...new Set(values.filter((v): v is string => typeof v === 'string' && /^[^\\"\t\r\n]{16,}$/.test(v)))]
    .sort()
    .slice(0, 3);

/** A few seeded values of each store, read from the live stores. */
async function knownValues(): Promise<Record<string, string[]>> {
  const column = async (sql: string) =>
    (await stores.postgres.query<{ v: string }>(sql)).rows.map((r) => r.v);
  const cypher = await stores.neo4j.driver.executeQuery(
    `MATCH (n) WHERE n.id STARTS WITH 'sym_' AND n.description_hu IS NOT NULL RETURN n.description_hu AS v`,
    {},
    { database: stores.neo4j.database },
  );
  const page = (await stores.qdrant.request('POST', `/collections/${AUTOCOGNITIX_COLLECTION}/points/scroll`, {
    body: { limit: 200, with_payload: true, with_vector: false },
  })) as { points: Array<{ payload: Record<string, unknown> }> };
  const values = {
    dtcDescriptions: plain(await column('SELECT description_en AS v FROM dtc_codes')),
    userEmails: plain(await column('SELECT email AS v FROM users')),
    nodeProperties: plain(cypher.records.map((r) => r.get('v') as unknown)),
    qdrantPayloads: plain(page.points.map((p) => p.payload.summary)),
    jsonFile: [JSON_VALUE],
  };
  for (const [what, list] of Object.entries(values)) expect(list.length, what).toBeGreaterThan(0);
  return values;
}

/** The decrypted content of every file of snapshot `id` (read with `password`), concatenated. */
async function decryptedContent(id: string, password: string): Promise<Buffer> {
  const repository = await Repository.open(backupDir, {
    create: false,
    access: { env: { ACX_REPOSITORY_PASSWORD: password }, readSecretFile: (p) => readFileSync(p) },
  });
  try {
    const reader = await repository.open(id);
    const parts: Buffer[] = [];
    for (const path of Object.keys(reader.manifest.files))
      for await (const chunk of reader.stream(path)) parts.push(chunk as Buffer);
    return Buffer.concat(parts);
  } finally {
    await repository.close();
  }
}

async function keyList(env: Record<string, string | undefined>) {
  const result = await cli(['--format', 'json', 'key', 'list', '--backup-dir', backupDir], env);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as { keys: Array<{ id: string; kdf: string }>; openedWith?: string };
}

async function restoreAndCompare(env: Record<string, string | undefined>): Promise<void> {
  await emptyAll(stores);
  await rm(join(dataDir, 'dtc_codes'), { recursive: true, force: true });
  const restored = await backup(env, '--restore', fullId);
  expect(restored.code, restored.stderr).toBe(0);
  expect(diffFingerprints(original, await fingerprint(stores))).toEqual([]);
  expect(await readFile(join(dataDir, 'dtc_codes', 'translation_cache.json'), 'utf8')).toContain(JSON_VALUE);
}

beforeAll(async () => {
  stores = await openTestStores();
  work = await mkdtemp(join(tmpdir(), 'acx-encryption-e2e-'));
  backupDir = join(work, 'backups');
  dataDir = join(work, 'data');
  await mkdir(join(dataDir, 'dtc_codes'), { recursive: true });
  await writeFile(
    join(dataDir, 'dtc_codes', 'translation_cache.json'),
    JSON.stringify({ P0100: JSON_VALUE }),
  );
  await seed(stores, SCALE, 11);
  original = await fingerprint(stores);
  known = await knownValues();
});

afterAll(async () => {
  await stores?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('an encrypted repository', () => {
  it('backs up, lists, verifies and restores everything identically', async () => {
    fullId = await backupId(withPassword(PASSWORD), '--all', '--encrypt');
    const config = JSON.parse(await readFile(join(backupDir, 'config.json'), 'utf8')) as {
      encryption: unknown;
      chunker: { seed: unknown };
    };
    expect(config.encryption).toEqual({ scheme: 'aes-256-gcm' });
    expect(config.chunker.seed).toBeNull();

    const listed = await backup(withPassword(PASSWORD), '--list', '--format', 'json');
    expect(listed.code, listed.stderr).toBe(0);
    expect(
      (JSON.parse(listed.stdout) as { snapshots: Array<{ id: string }> }).snapshots.map((s) => s.id),
    ).toEqual([fullId]);
    const verified = await backup(withPassword(PASSWORD), '--verify', fullId);
    expect(verified.code, verified.stderr).toBe(0);
    await restoreAndCompare(withPassword(PASSWORD));
  });

  it('holds no seeded value and no secret in any byte, while the decrypted snapshot holds them all', async () => {
    const needles = Object.values(known).flat();
    const content = await decryptedContent(fullId, PASSWORD);
    // The control: every needle is in the backup's content, so finding none below means encryption.
    expect(needles.filter((n) => !content.includes(Buffer.from(n, 'utf8')))).toEqual([]);
    expect(await foundIn(backupDir, [...needles, ...secrets])).toEqual([]);
    // And the search reads the packs: what design §11.6 leaves readable (table names in manifests) is found.
    expect(Object.keys(await listing(backupDir)).filter((f) => f.startsWith('data/')).length).toBeGreaterThan(
      0,
    );
    expect(await foundIn(backupDir, ['public.dtc_codes'])).not.toEqual([]);
  });

  it('refuses a wrong or missing key (CONFIG) and writes nothing', async () => {
    const before = await listing(backupDir);
    for (const env of [withPassword(WRONG_PASSWORD), envWith({})]) {
      for (const args of [['--all'], ['--verify', fullId], ['--restore', fullId, '--dry-run']]) {
        const result = await backup(env, ...args);
        expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(2);
        expect(result.stderr).toMatch(/^acx-data: CONFIG /m);
      }
    }
    expect(await listing(backupDir)).toEqual(before);
  });

  it('refuses --encrypt on an existing unencrypted repository (USAGE)', async () => {
    const plainDir = join(work, 'plain');
    const first = await cli(
      ['backup', '--json', '--data-dir', dataDir, '--backup-dir', plainDir],
      envWith({}),
    );
    expect(first.code, first.stderr).toBe(0);
    const before = await listing(plainDir);
    const result = await cli(
      ['backup', '--json', '--data-dir', dataDir, '--backup-dir', plainDir, '--encrypt'],
      withPassword(PASSWORD),
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/USAGE .*is not encrypted; --encrypt applies to a new repository/);
    expect(await listing(plainDir)).toEqual(before);
  });

  it('opens with an added password, and no longer with a removed one', async () => {
    const [oldKey] = (await keyList(envWith({}))).keys;
    const added = await cli(['key', 'add', '--backup-dir', backupDir], {
      ...withPassword(PASSWORD),
      ACX_NEW_REPOSITORY_PASSWORD: NEW_PASSWORD,
    });
    expect(added.code, added.stderr).toBe(0);
    const withNew = await keyList(withPassword(NEW_PASSWORD));
    expect(withNew.keys).toHaveLength(2);
    expect(withNew.openedWith).not.toBe(oldKey?.id);

    const removed = await cli(
      ['key', 'remove', oldKey!.id, '--backup-dir', backupDir],
      withPassword(NEW_PASSWORD),
    );
    expect(removed.code, removed.stderr).toBe(0);
    expect((await keyList(envWith({}))).keys.map((k) => k.id)).toEqual([withNew.openedWith]);
    const old = await backup(withPassword(PASSWORD), '--verify', fullId);
    expect(old.code).toBe(2);
    expect(old.stderr).toMatch(/CONFIG .*no key of the repository .* opens with the given password/);
    await restoreAndCompare(withPassword(NEW_PASSWORD));
  });

  it('opens with a generated key file once it is added', async () => {
    const keyFile = join(work, 'repository.key');
    const generated = await cli(['key', 'generate', keyFile], envWith({}));
    expect(generated.code, generated.stderr).toBe(0);
    const keyText = (await readFile(keyFile, 'utf8')).trim();
    expect(keyText).toMatch(/^[0-9a-f]{64}$/);
    expect(generated.stdout + generated.stderr).not.toContain(keyText);
    secrets.push(keyText);
    const byFile = envWith({ ACX_REPOSITORY_KEY_FILE: keyFile });
    expect((await backup(byFile, '--verify', fullId)).code).toBe(2); // not a key of the repository yet

    const added = await cli(['key', 'add', '--backup-dir', backupDir], {
      ...withPassword(NEW_PASSWORD),
      ACX_NEW_REPOSITORY_KEY_FILE: keyFile,
    });
    expect(added.code, added.stderr).toBe(0);
    const verified = await backup(byFile, '--verify', fullId);
    expect(verified.code, verified.stderr).toBe(0);
    // A snapshot written with the key file reads with the password: one master key behind both.
    const second = await backupId(byFile, '--postgres');
    expect((await backup(withPassword(NEW_PASSWORD), '--verify', second)).code).toBe(0);
    expect(await foundIn(backupDir, [...Object.values(known).flat(), ...secrets])).toEqual([]);
    expect(await foundIn(backupDir, [Buffer.from(keyText, 'hex')])).toEqual([]);
  });
});
