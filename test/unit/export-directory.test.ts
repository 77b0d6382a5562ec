/**
 * The export folder on a Storage: formats write real files (in place on local storage, staged and put
 * elsewhere), a failed format's files are removed, the manifest comes last and the claim never stays.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ExportDirectory } from '../../src/operations/export-directory.ts';
import { MemoryStorage } from '../../src/storage/memory/memory-storage.ts';
import { listAll, readText } from '../../src/storage/storage-helpers.ts';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'acx-export-dir-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const TIME = new Date('2026-02-01T12:00:00.700Z');
const keysOf = async (folder: ExportDirectory) =>
  (await listAll(folder.storage, folder.prefix)).map((info) => info.key);

describe.each([
  ['a local directory (formats write in place)', () => join(root, 'exports')],
  ['memory:// (formats write to a staging folder, then put)', () => new MemoryStorage('exports')],
])('an export folder on %s', (_name, location) => {
  it('publishes what formats write, drops a failed format, writes the manifest last', async () => {
    const folder = await ExportDirectory.create(location(), TIME);
    expect(folder.id).toBe('20260201_120000');
    expect(await keysOf(folder)).toEqual(['20260201_120000/.acx-writing']);

    await writeFile(await folder.localFile('csv/pg_users.csv'), 'id\r\n1\r\n');
    await writeFile(await folder.localFile('translations.json'), '{}');
    await folder.publish();
    const kept = new Set((await folder.files()).map((file) => file.path));
    expect([...kept]).toEqual(['csv/pg_users.csv', 'translations.json']);

    // A format that failed half-way: its finished and partial files go, the others stay.
    await writeFile(await folder.localFile('autocognitix_export.db'), 'sqlite');
    await writeFile(await folder.localFile('autocognitix_export.xlsx.partial'), 'half');
    await folder.removeAllBut(kept);
    await folder.publish();
    expect(await folder.files()).toEqual([
      { path: 'csv/pg_users.csv', bytes: 7 },
      { path: 'translations.json', bytes: 2 },
    ]);
    expect(await folder.sha256('translations.json')).toBe(
      '44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
    );

    await folder.writeManifest({ files: ['csv/pg_users.csv', 'translations.json'] });
    expect(await keysOf(folder)).toEqual([
      '20260201_120000/csv/pg_users.csv',
      '20260201_120000/manifest.json',
      '20260201_120000/translations.json',
    ]);
    expect(await readText(folder.storage, '20260201_120000/manifest.json')).toBe(
      '{\n  "files": [\n    "csv/pg_users.csv",\n    "translations.json"\n  ]\n}\n',
    );
  });

  it('takes the next second when the folder of this one exists, and discards a failed run whole', async () => {
    const first = await ExportDirectory.create(location(), TIME);
    await writeFile(await first.localFile('csv/a.csv'), 'x');
    await first.publish();
    const second = await ExportDirectory.create(first.storage, TIME);
    expect(second.id).toBe('20260201_120001');
    await first.discard();
    expect(await keysOf(first)).toEqual([]);
    await second.discard();
  });
});

describe('an export folder on a local directory', () => {
  it('is the folder the formats write, and a discarded run leaves no folder', async () => {
    const folder = await ExportDirectory.create(root, TIME);
    expect(folder.dir).toBe(join(root, '20260201_120000'));
    expect(await folder.localFile('csv/x.csv')).toBe(join(root, '20260201_120000', 'csv', 'x.csv'));
    await writeFile(await folder.localFile('neo4j_graph.graphml.partial'), '<graphml');
    await folder.localFile('csv/empty-dir-only.csv');
    await folder.discard();
    expect(await readdir(root)).toEqual([]);
  });

  it('names an output folder it cannot write', async () => {
    await expect(ExportDirectory.create('/proc/acx-cannot-write-here', TIME)).rejects.toMatchObject({
      code: 'USAGE',
      message: expect.stringMatching(/output directory/) as string,
    });
    await writeFile(join(root, 'file'), 'x');
    await expect(ExportDirectory.create(join(root, 'file'), TIME)).rejects.toMatchObject({ code: 'USAGE' });
    expect(await readFile(join(root, 'file'), 'utf8')).toBe('x');
  });
});
