/**
 * A snapshot is untrusted input: a manifest pointing outside its directory, of an unknown format
 * version or naming another snapshot, a symlink among its files, a decompression bomb or a record
 * longer than any real one are refused as INTEGRITY, before anything is read outside or held in memory.
 */
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifySnapshot } from '../../src/operations/verify.ts';
import { silentReporter } from '../../src/progress.ts';
import { writeManifest } from '../../src/repository/manifest.ts';
import { Repository } from '../../src/repository/repository.ts';
import { gzipFile, writeHandMadeSnapshot } from '../support/snapshot.ts';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'acx-trust-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const ID = 'full_20260101_000000';
const { bytes: BYTES, entry: ENTRY } = gzipFile(['{"id":"a","labels":[],"properties":{}}']);

/** A one-file snapshot written by hand; `change` edits the manifest before it is written. */
async function snapshot(change?: (manifest: Record<string, unknown>) => void) {
  await writeHandMadeSnapshot(root, ID, ['{"id":"a","labels":[],"properties":{}}'], change);
  return Repository.open(root, { create: false });
}

/** Puts the one file under another path, in `files` and in its dataset. */
const movedTo = (path: string) => (manifest: Record<string, unknown>) => {
  manifest.files = { [path]: ENTRY };
  (manifest.stores as { neo4j: { datasets: Array<{ files: string[] }> } }).neo4j.datasets[0]!.files = [path];
};

describe('manifest paths', () => {
  const unsafe = [
    '../outside.json.gz',
    'neo4j/../../outside.json.gz',
    '/etc/passwd',
    'neo4j\\nodes.jsonl.gz',
    'neo4j//nodes.jsonl.gz',
    'neo4j/nodes.jsonl.gz/',
    './neo4j/nodes.jsonl.gz',
    'neo4j/\u0000nodes.jsonl.gz',
    '',
    'manifest.json',
  ];
  it.each(unsafe)('refuses %j when the snapshot is opened for verify or restore', async (path) => {
    await writeFile(join(root, 'outside.json.gz'), BYTES);
    const repository = await snapshot(movedTo(path));
    await expect(repository.open(ID)).rejects.toMatchObject({
      code: 'INTEGRITY',
      message: expect.stringContaining('unsafe file path') as string,
    });
  });

  it('verify of a reader built around such a manifest reports the path instead of reading it', async () => {
    await writeFile(join(root, 'outside.json.gz'), BYTES);
    const reader = await (await snapshot()).open(ID);
    const files = { '../outside.json.gz': ENTRY } as typeof reader.manifest.files;
    const summary = await verifySnapshot(reader.withManifest({ ...reader.manifest, files }), silentReporter);
    expect(summary.ok).toBe(false);
    expect(summary.problems).toEqual([
      { file: '../outside.json.gz', problem: expect.stringContaining('unsafe path') as string },
      expect.objectContaining({ file: 'neo4j/nodes.jsonl.gz' }),
    ]);
    expect(() => reader.stream('../outside.json.gz')).toThrow(/unsafe file path/);
  });
});

describe('manifest header', () => {
  it.each([0, -1, 1.5, '1', null, undefined, 2])('refuses format version %j', async (version) => {
    const repository = await snapshot((m) => {
      if (version === undefined) delete m.formatVersion;
      else m.formatVersion = version;
    });
    await expect(repository.open(ID)).rejects.toMatchObject({ code: 'INTEGRITY' });
  });

  it('refuses a manifest whose id is not its directory name, naming both', async () => {
    const repository = await snapshot((m) => {
      m.id = 'full_20250101_000000';
    });
    const error = await repository.open(ID).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'INTEGRITY' });
    expect((error as Error).message).toContain(ID);
    expect((error as Error).message).toContain('full_20250101_000000');
    expect((await repository.list()).damaged.map((d) => d.id)).toEqual([ID]);
  });

  it('refuses a manifest whose own checksum differs: metadata that no file hash covers', async () => {
    const repository = await snapshot();
    const manifest = (await repository.open(ID)).manifest;
    await writeManifest(repository.storage, manifest);
    const path = join(root, ID, 'manifest.json');
    const written = await readFile(path, 'utf8');
    expect(JSON.parse(written)).toHaveProperty('manifestSha256');
    expect((await repository.open(ID)).id).toBe(ID);
    // Whitespace is not content; a changed name is.
    await writeFile(path, JSON.stringify(JSON.parse(written)));
    expect((await repository.open(ID)).id).toBe(ID);
    await writeFile(path, written.replace('"name": "nodes"', '"name": "nodez"'));
    await expect(repository.open(ID)).rejects.toMatchObject({
      code: 'INTEGRITY',
      message: expect.stringContaining('manifest.json is damaged') as string,
    });
  });

  it('still opens the untouched snapshot', async () => {
    const repository = await snapshot();
    expect((await verifySnapshot(await repository.open(ID), silentReporter)).ok).toBe(true);
  });
});

describe('symlinks in a snapshot directory', () => {
  it('are not followed: a file linked from outside is refused by verify', async () => {
    const repository = await snapshot();
    await writeFile(join(root, 'outside.json.gz'), BYTES);
    await rm(join(root, ID, 'neo4j', 'nodes.jsonl.gz'));
    await symlink(join(root, 'outside.json.gz'), join(root, ID, 'neo4j', 'nodes.jsonl.gz'));
    const summary = await verifySnapshot(await repository.open(ID), silentReporter);
    expect(summary.ok).toBe(false);
    expect(summary.problems.map((p) => p.file)).toEqual(['neo4j/nodes.jsonl.gz']);
  });

  it('nor a linked directory', async () => {
    const repository = await snapshot();
    await mkdir(join(root, 'elsewhere'));
    await writeFile(join(root, 'elsewhere', 'nodes.jsonl.gz'), BYTES);
    await rm(join(root, ID, 'neo4j'), { recursive: true });
    await symlink(join(root, 'elsewhere'), join(root, ID, 'neo4j'));
    const summary = await verifySnapshot(await repository.open(ID), silentReporter);
    expect(summary.ok).toBe(false);
    expect(summary.problems.map((p) => p.file)).toEqual(['neo4j/nodes.jsonl.gz']);
  });
});
