/**
 * `--json`: the application's JSON data files under the data directory (`data/dtc_codes/*.json`, the
 * translation cache, …), each file once, without the backup and export directories.
 */
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readlink, realpath, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createWriteStream } from 'node:fs';
import { AcxError } from '../errors.ts';
import type { ProgressReporter } from '../progress.ts';
import type { SnapshotSink } from '../model/snapshot.ts';
import type { Manifest } from '../repository/manifest.ts';
import type { SnapshotReader } from '../repository/snapshot-reader.ts';
import { nowIso } from '../model/snapshot.ts';

type JsonSection = NonNullable<Manifest['jsonFiles']>;

/**
 * `*.json` files under `dataDir`, relative paths with `/`, sorted; `excluded` directories are skipped.
 * Symbolic links are followed, deliberately: a data file or folder linked into the data directory is
 * backed up under the link's path with the target's content (each real folder walked once, so a link
 * loop ends); a link named `*.json` that leads nowhere is an error naming it, never skipped.
 */
export async function listJsonFiles(dataDir: string, excluded: readonly string[]): Promise<string[]> {
  const root = resolve(dataDir);
  const skip = new Set(excluded.map((d) => resolve(d)));
  const walked = new Set<string>();
  const out: string[] = [];
  async function walk(dir: string): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
      walked.add(await realpath(dir));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      const target = entry.isSymbolicLink() ? await stat(path).catch(() => undefined) : entry;
      if (!target && entry.name.endsWith('.json')) {
        const to = await readlink(path).catch(() => '?');
        throw new AcxError('NOT_FOUND', `${path}: a symbolic link to ${to}, which does not exist`, {
          subject: path,
          hint: 'fix the link or remove it from the data directory',
        });
      }
      if (target?.isDirectory()) {
        const skipped = skip.has(path) || entry.name.startsWith('.');
        if (!skipped && !walked.has(await realpath(path))) await walk(path);
      } else if (target?.isFile() && entry.name.endsWith('.json')) {
        out.push(relative(root, path).split(sep).join('/'));
      }
    }
  }
  await walk(root);
  return out.sort();
}

export async function backupJsonFiles(
  dataDir: string,
  excluded: readonly string[],
  files: SnapshotSink,
  reporter: ProgressReporter,
): Promise<JsonSection> {
  const readStartedAt = nowIso();
  const paths = await listJsonFiles(dataDir, excluded);
  reporter.emit({ type: 'dataset-start', store: 'json', dataset: 'json-files', total: paths.length });
  const stored: string[] = [];
  for (const path of paths) {
    const writer = await files.createFile(`json/${path}`, { records: false });
    try {
      await writer.writeFrom(createReadStream(join(dataDir, path)));
    } catch (error) {
      writer.abort();
      throw new AcxError('STORE', `cannot read ${join(dataDir, path)}: ${(error as Error).message}`, {
        subject: path,
        cause: error,
      });
    }
    await files.closeFile(writer);
    stored.push(writer.path);
  }
  return {
    sourceDir: dataDir,
    readStartedAt,
    readFinishedAt: nowIso(),
    datasets: [{ name: 'json-files', kind: 'json-files', records: stored.length, files: stored }],
  };
}

/** The data-directory path a stored `json/…` file restores to. */
function targetOf(dataDir: string, storedPath: string): string {
  const relativePath = storedPath.replace(/^json\//, '').replace(/\.(zst|gz)$/, '');
  const target = resolve(dataDir, relativePath);
  if (!target.startsWith(resolve(dataDir) + sep)) {
    throw new AcxError('INTEGRITY', `snapshot file ${storedPath} would be written outside ${dataDir}`, {
      subject: storedPath,
    });
  }
  return target;
}

/** Files of the snapshot that already exist in the data directory. */
export async function existingJsonFiles(dataDir: string, section: JsonSection): Promise<string[]> {
  const out: string[] = [];
  for (const path of section.datasets.flatMap((d) => d.files)) {
    const target = targetOf(dataDir, path);
    if (
      await stat(target).then(
        () => true,
        () => false,
      )
    )
      out.push(target);
  }
  return out;
}

/** Writes each file to a temporary name and renames it into place. */
export async function restoreJsonFiles(
  dataDir: string,
  reader: SnapshotReader,
  section: JsonSection,
  replace: boolean,
): Promise<number> {
  const existing = await existingJsonFiles(dataDir, section);
  if (existing.length > 0 && !replace) {
    throw new AcxError(
      'NOT_EMPTY',
      `${existing.length} JSON data files already exist in ${dataDir} (e.g. ${existing[0]})`,
      {
        subject: 'json',
        hint: 'use --force to replace them (a safety backup is taken first)',
      },
    );
  }
  let count = 0;
  for (const path of section.datasets.flatMap((d) => d.files)) {
    const target = targetOf(dataDir, path);
    await mkdir(dirname(target), { recursive: true });
    const temporary = `${target}.acx-restore`;
    await writeFile(temporary, '');
    await pipeline(reader.stream(path), createWriteStream(temporary));
    await rename(temporary, target);
    count++;
  }
  return count;
}

/** The JSON data files as one more target of a restore, beside the stores. */
export function jsonFilesRestoreTarget(dataDir: string, reader: SnapshotReader, section: JsonSection) {
  return {
    name: 'json' as const,
    holdsData: async () => (await existingJsonFiles(dataDir, section)).length > 0,
    plan: async () => {
      const existing = await existingJsonFiles(dataDir, section);
      return section.datasets
        .flatMap((d) => d.files)
        .map((f) => ({
          action: 'load' as const,
          object: f.replace(/^json\//, '').replace(/\.(zst|gz)$/, ''),
          detail: existing.length > 0 ? 'replaces the current file if present' : undefined,
        }));
    },
    restore: async (replace: boolean) => {
      const t0 = performance.now();
      const files = await restoreJsonFiles(dataDir, reader, section, replace);
      return {
        datasets: [{ name: 'json-files', records: files }],
        seconds: (performance.now() - t0) / 1000,
      };
    },
  };
}
