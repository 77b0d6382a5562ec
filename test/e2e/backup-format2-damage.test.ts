/**
 * Damage to a format-2 repository (design §11.4–11.10), through the real CLI and the real stores: a
 * flipped byte in a pack, an index file, a manifest and config.json, a truncated and a deleted pack are
 * each named by `--verify ID` and `--verify --all` (exit 6), and `--restore` refuses them (exit 6)
 * without changing the stores. A blob's stored bytes replaced by another snapshot's blob of the same
 * stored length — in an encrypted and in an unencrypted repository — is INTEGRITY, never restored. A
 * restore of one store, which checks each blob as it reads it instead of verifying first (design
 * §11.10), meets a damaged blob of that store with INTEGRITY and leaves the store as it was.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diffFingerprints, type Fingerprint } from '../../src/model/content-hash.ts';
import { Repository } from '../../src/repository/repository.ts';
import { runCli, snapshotIdOf, type CliResult } from '../support/cli.ts';
import { seededRandom } from '../support/random.ts';
import { emptyAll, fingerprint, openTestStores, seed, type TestStores } from '../support/stores.ts';

let stores: TestStores;
let work: string;
let original: Fingerprint;
let hosts = 0;

/** The environment of a CLI run on `state` (index caches, journals); a new host: a fresh folder. */
function envOn(state: string, extra: Record<string, string> = {}): Record<string, string | undefined> {
  return { ...process.env, ACX_STATE_DIR: state, ...extra };
}
const newHost = (extra: Record<string, string> = {}) => envOn(join(work, `host-${++hosts}`), extra);

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true }))
    if (entry.isFile()) out.push(join(entry.parentPath, entry.name));
  return out.sort();
}

/** A digest of every file under `dir`, to prove a refused restore wrote nothing there. */
async function treeDigest(dir: string): Promise<string> {
  const hash = createHash('sha256');
  for (const file of await filesUnder(dir).catch(() => [])) hash.update(file).update(await readFile(file));
  return hash.digest('hex');
}

const output = (r: CliResult) => `${r.stdout}\n${r.stderr}`;

function expectIntegrity(result: CliResult, names: string | RegExp, what: string): void {
  expect(result.stderr, what).not.toMatch(/INTERNAL/);
  expect(result.code, `${what}: ${output(result)}`).toBe(6);
  if (typeof names === 'string') expect(output(result), what).toContain(names);
  else expect(output(result), what).toMatch(names);
}

beforeAll(async () => {
  stores = await openTestStores();
  work = await mkdtemp(join(tmpdir(), 'acx-f2-damage-'));
  await seed(stores, 0.02, 12);
  original = await fingerprint(stores);
});

afterAll(async () => {
  await stores?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('a damaged format-2 repository', () => {
  it('names each damaged object (exit 6), and restore refuses without touching the stores', async () => {
    const backupDir = join(work, 'backups');
    const dataDir = join(work, 'data');
    await mkdir(join(dataDir, 'dtc_codes'), { recursive: true });
    await writeFile(join(dataDir, 'dtc_codes', 'translation_cache.json'), '{"P0100":"Légtömegmérő"}');
    const home = envOn(join(work, 'home'));
    const cli = (env: Record<string, string | undefined>, ...args: string[]) =>
      runCli(['backup', '--backup-dir', backupDir, '--data-dir', dataDir, ...args], env);
    const id = snapshotIdOf(await cli(home, '--all', '--format', 'json'));
    const clean = await cli(home, '--verify', '--all');
    expect(clean.code, output(clean)).toBe(0);
    expect(clean.stdout).toContain('are intact');

    const packs = (await filesUnder(join(backupDir, 'data'))).sort();
    const pack = packs.at(-1)!;
    const packId = pack.slice(pack.lastIndexOf('/') + 1);
    const index = (await filesUnder(join(backupDir, 'index')))[0]!;
    const indexId = index.slice(index.lastIndexOf('/') + 1);
    const manifest = join(backupDir, id, 'manifest.json');
    const config = join(backupDir, 'config.json');
    const flip = (at: (bytes: Buffer) => number) => async (file: string) => {
      const bytes = await readFile(file);
      const i = at(bytes);
      bytes[i] = bytes[i]! ^ 0x40;
      await writeFile(file, bytes);
    };
    const middle = flip((b) => b.length >> 1);
    const cases: Array<{
      name: string;
      file: string;
      damage: (file: string) => Promise<void>;
      /** What `--verify ID` and `--restore` (on a new host) say; what `--verify --all` says. */
      one: string | RegExp;
      all: string | RegExp;
    }> = [
      {
        name: 'flipped byte in a pack',
        file: pack,
        damage: middle,
        one: `pack ${packId.slice(0, 12)}`,
        all: `data/${packId.slice(0, 2)}/${packId}: `,
      },
      {
        name: 'truncated pack',
        file: pack,
        damage: (f) => truncate(f, 1000),
        one: `pack ${packId.slice(0, 12)}`,
        all: `data/${packId.slice(0, 2)}/${packId}: pack ${packId.slice(0, 12)} is damaged`,
      },
      {
        name: 'deleted pack',
        file: pack,
        damage: (f) => rm(f),
        one: `pack ${packId.slice(0, 12)} is missing`,
        all: `data/${packId.slice(0, 2)}/${packId}: is missing, listed by index/${indexId}`,
      },
      {
        name: 'flipped byte in an index file',
        file: index,
        damage: middle,
        one: `index file ${indexId.slice(0, 12)} is damaged`,
        all: `index/${indexId}: index file ${indexId.slice(0, 12)} is damaged`,
      },
      {
        name: 'flipped byte in the manifest',
        file: manifest,
        damage: middle,
        one: `snapshot ${id}: manifest.json`,
        all: new RegExp(`FAILED +${id}: snapshot ${id}: manifest.json`),
      },
      {
        name: 'flipped byte in config.json (its id)',
        file: config,
        // A digit of the repository id: no longer hex.
        damage: flip(
          (b) => b.indexOf('"id"') + b.subarray(b.indexOf('"id"')).findIndex((c) => c >= 0x30 && c <= 0x39),
        ),
        one: 'config.json in',
        all: 'config.json in',
      },
    ];

    await emptyAll(stores);
    const empty = await fingerprint(stores);
    await rm(join(dataDir, 'dtc_codes'), { recursive: true });
    for (const c of cases) {
      const good = await readFile(c.file);
      await c.damage(c.file);
      expectIntegrity(await cli(newHost(), '--verify', id), c.one, `${c.name}: --verify ${id}`);
      // The home host's cache already holds the index: --verify --all reads the index files again.
      expectIntegrity(await cli(home, '--verify', '--all'), c.all, `${c.name}: --verify --all`);
      const before = await treeDigest(dataDir);
      expectIntegrity(await cli(newHost(), '--restore', id), c.one, `${c.name}: --restore`);
      expect(diffFingerprints(empty, await fingerprint(stores)), c.name).toEqual([]);
      expect(await treeDigest(dataDir), c.name).toBe(before);
      await writeFile(c.file, good);
    }

    const repaired = await cli(home, '--verify', '--all');
    expect(repaired.code, output(repaired)).toBe(0);
    const restored = await cli(newHost(), '--restore', id);
    expect(restored.code, output(restored)).toBe(0);
    expect(diffFingerprints(original, await fingerprint(stores))).toEqual([]);
  });
});

describe('one store restored from a format-2 snapshot with a damaged blob', () => {
  it('is INTEGRITY (exit 6), found as the restore reads it, and leaves that store as it was', async () => {
    const backupDir = join(work, 'one-store');
    const dataDir = join(work, 'one-store-data');
    await mkdir(dataDir, { recursive: true });
    const cli = (env: Record<string, string | undefined>, ...args: string[]) =>
      runCli(['backup', '--backup-dir', backupDir, '--data-dir', dataDir, ...args], env);
    await seed(stores, 0.02, 12);
    const id = snapshotIdOf(await cli(newHost(), '--all', '--format', 'json'));
    const manifest = JSON.parse(await readFile(join(backupDir, id, 'manifest.json'), 'utf8')) as {
      files: Record<string, { blobs?: string[]; contentBytes: number }>;
    };
    const repository = await Repository.open(backupDir, {
      create: false,
      access: { env: {}, readSecretFile: () => Buffer.alloc(0) },
    });
    const blobs = (await repository.blobs())!;
    const packFile = (p: string) => join(backupDir, 'data', p.slice(0, 2), p);

    await emptyAll(stores);
    const empty = await fingerprint(stores);
    for (const store of ['postgres', 'neo4j', 'qdrant'] as const) {
      // The last blob of the store's largest file: the rest of that file is loaded when the damage is met.
      const [path, entry] = Object.entries(manifest.files)
        .filter(([p]) => p.startsWith(`${store}/`))
        .sort(([, a], [, b]) => b.contentBytes - a.contentBytes)[0]!;
      const blob = blobs.locate(entry.blobs!.at(-1)!)!;
      const good = await readFile(packFile(blob.pack));
      // Every stored byte of the blob flipped: one flipped byte can leave a zstd frame decoding to the same
      // plaintext (a bit the decoder never reads; about 1 position in 1 000), which is no damage at all.
      const bad = Buffer.from(good);
      for (let i = blob.offset; i < blob.offset + blob.length; i++) bad[i]! ^= 0x40;
      await writeFile(packFile(blob.pack), bad);
      const refused = await cli(newHost(), '--restore', id, '--target', store);
      expectIntegrity(refused, `pack ${blob.pack.slice(0, 12)}`, `${store} (${path}): --restore --target`);
      // Not verified whole first: the damage was found by the restore's own reading.
      expect(output(refused), store).not.toMatch(/before restoring/);
      expect(diffFingerprints(empty, await fingerprint(stores)), store).toEqual([]);
      await writeFile(packFile(blob.pack), good);
    }
    await repository.close();

    for (const store of ['postgres', 'neo4j', 'qdrant']) {
      const restored = await cli(newHost(), '--restore', id, '--target', store);
      expect(restored.code, output(restored)).toBe(0);
      expect(restored.stdout).toContain(`Restored ${id} (each block checked as it was read)`);
    }
    expect(diffFingerprints(original, await fingerprint(stores))).toEqual([]);
  });
});

/** `count` JSON files of `size` bytes of seeded random base64 (barely compressible), named `<prefix>NN.json`. */
async function writeRandomJson(dir: string, prefix: string, count: number, size: number, seedValue: number) {
  const random = seededRandom(seedValue);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  for (let i = 0; i < count; i++) {
    const bytes = Buffer.from(Array.from({ length: size }, () => Math.floor(random() * 256)));
    const text = JSON.stringify({ blob: bytes.toString('base64') });
    await writeFile(join(dir, `${prefix}${String(i).padStart(2, '0')}.json`), text);
  }
}

describe.each([
  { name: 'encrypted', encrypted: true },
  { name: 'unencrypted', encrypted: false },
])('a blob of another snapshot swapped in ($name)', ({ encrypted }) => {
  it('is INTEGRITY (tampered / does not hash), never restored', async () => {
    const dir = join(work, `swap-${encrypted ? 'enc' : 'plain'}`);
    const backupDir = join(dir, 'backups');
    const dataDir = join(dir, 'data');
    // The secret is a test value; the CLI never prints it (asserted below).
    const secret = { ACX_REPOSITORY_PASSWORD: `swap-test-${encrypted}` };
    const env = envOn(join(dir, 'state'), encrypted ? secret : {});
    const cli = (...args: string[]) =>
      runCli(['backup', '--backup-dir', backupDir, '--data-dir', dataDir, ...args], env);

    // One chunk per file (under the chunker's 2 KiB minimum), 40 files per snapshot, different content.
    await writeRandomJson(dataDir, 'a', 40, 1400, 1);
    const a = snapshotIdOf(await cli('--json', '--format', 'json', ...(encrypted ? ['--encrypt'] : [])));
    await new Promise((r) => setTimeout(r, 1100)); // a new second: a new snapshot id
    await writeRandomJson(dataDir, 'b', 40, 1400, 2);
    const b = snapshotIdOf(await cli('--json', '--format', 'json'));

    // Where each snapshot's blobs are: the library's own index (the key opens it when encrypted).
    const repository = await Repository.open(backupDir, {
      create: false,
      access: { env: encrypted ? secret : {}, readSecretFile: () => Buffer.alloc(0) },
    });
    const blobs = (await repository.blobs())!;
    expect(blobs.key !== undefined).toBe(encrypted);
    const located = async (snapshot: string) => {
      const m = JSON.parse(await readFile(join(backupDir, snapshot, 'manifest.json'), 'utf8')) as {
        files: Record<string, { blobs?: string[] }>;
      };
      return Object.values(m.files)
        .flatMap((f) => f.blobs ?? [])
        .map((blob) => blobs.locate(blob)!);
    };
    const ofA = await located(a);
    const ofB = await located(b);
    await repository.close();
    const pair = ofA.flatMap((x) =>
      ofB.filter((y) => y.length === x.length && y.id !== x.id).map((y) => [x, y] as const),
    )[0];
    expect(pair, 'a blob of A and a blob of B with the same stored length').toBeDefined();
    const [victim, donor] = pair!;
    const packFile = (p: string) => join(backupDir, 'data', p.slice(0, 2), p);
    const donorBytes = (await readFile(packFile(donor.pack))).subarray(
      donor.offset,
      donor.offset + donor.length,
    );
    const victimPack = await readFile(packFile(victim.pack));
    donorBytes.copy(victimPack, victim.offset);
    await writeFile(packFile(victim.pack), victimPack);

    const why = encrypted ? /tampered/ : /does not hash/;
    const one = await cli('--verify', a);
    expectIntegrity(one, why, `--verify ${a}`);
    expect(one.stdout).toContain(`blob ${victim.id.slice(0, 12)}`);
    const all = await cli('--verify', '--all');
    expectIntegrity(all, why, '--verify --all');
    expect(all.stdout).toContain(`blob ${victim.id.slice(0, 12)}`);
    expect(all.stdout).toContain(`needed by ${a}`);
    expect(all.stdout).toMatch(new RegExp(`ok +${b}`));

    const restoreDir = join(dir, 'restored');
    await mkdir(restoreDir);
    const restored = await runCli(
      ['backup', '--backup-dir', backupDir, '--data-dir', restoreDir, '--restore', a, '--target', 'json'],
      env,
    );
    expectIntegrity(restored, why, `--restore ${a}`);
    expect(await filesUnder(restoreDir)).toEqual([]);
    for (const r of [one, all, restored]) expect(output(r)).not.toContain(secret.ACX_REPOSITORY_PASSWORD);
  });
});
