/**
 * `backup --json` lists the application's JSON data files (operations/json-files.ts). A data file or
 * folder linked into the data directory is backed up like one that is there; a link that leads nowhere
 * is an error naming it, never a file skipped without a word (issue #10).
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AcxError } from '../../src/errors.ts';
import { listJsonFiles } from '../../src/operations/json-files.ts';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'acx-json-files-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('JSON data files', () => {
  it('follows links to files and folders, each real folder once (a loop ends), and skips the excluded', async () => {
    const data = join(root, 'data');
    const elsewhere = join(root, 'elsewhere');
    await mkdir(join(data, 'dtc_codes'), { recursive: true });
    await mkdir(join(elsewhere, 'more'), { recursive: true });
    await mkdir(join(data, 'backups'), { recursive: true });
    await writeFile(join(data, 'dtc_codes', 'a.json'), '{}');
    await writeFile(join(data, 'backups', 'b.json'), '{}');
    await writeFile(join(elsewhere, 'linked.json'), '{}');
    await writeFile(join(elsewhere, 'more', 'c.json'), '{}');
    await symlink(join(elsewhere, 'linked.json'), join(data, 'dtc_codes', 'linked.json'));
    await symlink(join(elsewhere, 'more'), join(data, 'more'));
    await symlink(data, join(data, 'dtc_codes', 'loop'));

    expect(await listJsonFiles(data, [join(data, 'backups')])).toEqual([
      'dtc_codes/a.json',
      'dtc_codes/linked.json',
      'more/c.json',
    ]);
  });

  it('refuses a link to a JSON file that does not exist, naming it', async () => {
    const data = join(root, 'broken');
    await mkdir(data);
    await writeFile(join(data, 'ok.json'), '{}');
    await symlink(join(root, 'nowhere.json'), join(data, 'gone.json'));
    await symlink(join(root, 'nowhere.txt'), join(data, 'notes.txt')); // not a JSON data file: not our business
    const error = await listJsonFiles(data, []).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AcxError);
    expect((error as AcxError).code).toBe('NOT_FOUND');
    expect((error as AcxError).message).toMatch(
      /gone\.json: a symbolic link to .*nowhere\.json, which does not exist/,
    );
  });
});
