/**
 * `--verify ID`: every file of the snapshot re-hashed and decoded to its end, record counts checked
 * against the manifest (docs/design.md §7.5 rule 2). The outcome is recorded next to the manifest.
 * `--verify --all` (§11.10): every snapshot so, then the format-2 repository itself
 * (repository-check.ts).
 */
import { AcxError } from '../errors.ts';
import type { ProgressReporter } from '../progress.ts';
import { snapshotPathProblem } from '../repository/layout.ts';
import { MANIFEST_FILE } from '../repository/manifest.ts';
import { VERIFICATION_FILE, type Repository, type Verification } from '../repository/repository.ts';
import { checkFile } from '../repository/snapshot-files.ts';
import { BlobSnapshotReader, checkBlobFile } from '../repository/blob-snapshot-reader.ts';
import type { SnapshotReader } from '../repository/snapshot-reader.ts';
import { checkRepository, type RepositoryCheck } from '../repository/repository-check.ts';
import type { Manifest } from '../repository/manifest.ts';
import { TOOL } from './tool.ts';

export interface VerifyProblem {
  file: string;
  problem: string;
}

export interface VerifySummary {
  id: string;
  ok: boolean;
  files: number;
  bytes: number;
  records: number;
  problems: VerifyProblem[];
  /** Files in the directory that the manifest does not list (ignored by restore). */
  unlisted: string[];
  seconds: number;
}

/** Every file of the snapshot's directory, by its path inside it. */
async function listFiles(reader: SnapshotReader): Promise<string[]> {
  const paths: string[] = [];
  for await (const info of reader.storage.list(reader.prefix))
    paths.push(info.key.slice(reader.prefix.length));
  return paths;
}

export async function verifySnapshot(
  reader: SnapshotReader,
  reporter: ProgressReporter,
): Promise<VerifySummary> {
  const started = performance.now();
  const problems: VerifyProblem[] = [];
  const entries = Object.entries(reader.manifest.files);
  reporter.emit({
    type: 'dataset-start',
    store: 'repository',
    dataset: `verify ${reader.id}`,
    total: entries.length,
  });
  let done = 0;
  let bytes = 0;
  let records = 0;
  for (const [path, entry] of entries) {
    // A path leaving the snapshot is never read (readManifest refuses it too: one rule for every reader).
    const unsafe = snapshotPathProblem(path);
    const problem = unsafe
      ? `unsafe path: ${unsafe}`
      : reader instanceof BlobSnapshotReader
        ? await checkBlobFile(reader, path, entry)
        : await checkFile(reader.storage, reader.keyOf(path), entry);
    if (problem) problems.push({ file: path, problem });
    bytes += entry.bytes;
    records += entry.records ?? 0;
    reporter.emit({
      type: 'dataset-progress',
      store: 'repository',
      dataset: `verify ${reader.id}`,
      done: ++done,
      total: entries.length,
    });
  }
  // Each dataset's count must be what its files hold.
  const sections = [...Object.values(reader.manifest.stores), reader.manifest.jsonFiles];
  for (const dataset of sections.flatMap((s) => s?.datasets ?? [])) {
    for (const file of dataset.files)
      if (!reader.manifest.files[file])
        problems.push({ file, problem: `listed by dataset ${dataset.name} but not in the manifest's files` });
    const counted = dataset.files.map((f) => reader.manifest.files[f]?.records);
    if (dataset.kind !== 'json-files' && counted.every((n) => n !== undefined)) {
      const sum = counted.reduce((a = 0, b = 0) => a + b, 0) ?? 0;
      if (sum !== dataset.records)
        problems.push({
          file: dataset.files.join(', '),
          problem: `dataset ${dataset.name} lists ${dataset.records} records, its files hold ${sum}`,
        });
    }
  }
  const known = new Set([MANIFEST_FILE, VERIFICATION_FILE, ...Object.keys(reader.manifest.files)]);
  const unlisted = (await listFiles(reader)).filter((f) => !known.has(f));
  for (const file of unlisted)
    reporter.emit({
      type: 'warning',
      store: 'repository',
      message: `${file} is not listed in the manifest (ignored)`,
    });
  reporter.emit({
    type: 'dataset-done',
    store: 'repository',
    dataset: `verify ${reader.id}`,
    records: entries.length,
    seconds: (performance.now() - started) / 1000,
  });
  return {
    id: reader.id,
    ok: problems.length === 0,
    files: entries.length,
    bytes,
    records,
    problems,
    unlisted,
    seconds: (performance.now() - started) / 1000,
  };
}

/** Verifies and records the outcome in the snapshot's `verification.json`. */
export async function verifyAndRecord(
  repository: Repository,
  reader: SnapshotReader,
  reporter: ProgressReporter,
): Promise<VerifySummary> {
  const summary = await verifySnapshot(reader, reporter);
  // The last restore drill stays recorded until the next drill replaces it (status and report show it).
  const previous = await repository.readVerification(reader.id).catch(() => undefined);
  const verification: Verification = {
    at: new Date().toISOString(),
    ok: summary.ok,
    tool: TOOL.version,
    problems: summary.problems.map((p) => `${p.file}: ${p.problem}`),
    ...(previous?.restoreTest ? { restoreTest: previous.restoreTest } : {}),
  };
  await repository.writeVerification(reader, verification).catch(() => undefined); // a read-only repository can still be verified
  return summary;
}

export interface VerifyAllSummary {
  ok: boolean;
  snapshots: VerifySummary[];
  /** Directories whose manifest cannot be read (each a failure). */
  damaged: Array<{ id: string; problem: string }>;
  /** Directories of killed runs, without a manifest (not snapshots: not a failure). */
  incomplete: string[];
  /** Format 2 only: the repository's packs, index and blobs; undefined when it holds no format-2 content. */
  repository?: RepositoryCheck;
  /** Why the format-2 repository could not be opened at all (a damaged config.json, an index file, no key). */
  repositoryProblem?: { object: string; problem: string };
  seconds: number;
}

/** A snapshot that could not even be opened (manifest refused): one problem, nothing read. */
function refused(id: string, error: AcxError): VerifySummary {
  return {
    id,
    ok: false,
    files: 0,
    bytes: 0,
    records: 0,
    problems: [{ file: MANIFEST_FILE, problem: error.message }],
    unlisted: [],
    seconds: 0,
  };
}

/**
 * `--verify --all`: every complete snapshot verified and its outcome recorded, then, when the repository
 * holds format-2 content, the repository checked. Damage never throws: it is in the summary.
 */
export async function verifyAll(
  repository: Repository,
  reporter: ProgressReporter,
): Promise<VerifyAllSummary> {
  const started = performance.now();
  const { snapshots, damaged, incomplete } = await repository.list();
  const summary: VerifyAllSummary = { ok: true, snapshots: [], damaged, incomplete, seconds: 0 };
  let blobs;
  try {
    blobs = await repository.blobs();
  } catch (error) {
    if (!(error instanceof AcxError) || error.code === 'CONFIG') throw error; // no key: nothing to judge
    summary.repositoryProblem = { object: error.subject ?? repository.location, problem: error.message };
  }
  for (const listing of [...snapshots].reverse()) {
    if (listing.manifest.formatVersion === 2 && !blobs) {
      summary.snapshots.push(
        refused(listing.id, new AcxError('INTEGRITY', 'not checked: the repository could not be opened')),
      );
      continue;
    }
    try {
      summary.snapshots.push(await verifyAndRecord(repository, await repository.open(listing.id), reporter));
    } catch (error) {
      if (!(error instanceof AcxError)) throw error;
      summary.snapshots.push(refused(listing.id, error));
    }
  }
  if (blobs) {
    const manifests: Manifest[] = snapshots.map((s) => s.manifest).filter((m) => m.formatVersion === 2);
    summary.repository = await checkRepository(blobs, manifests, reporter);
  }
  summary.ok =
    damaged.length === 0 &&
    !summary.repositoryProblem &&
    summary.snapshots.every((s) => s.ok) &&
    summary.repository?.ok !== false;
  summary.seconds = (performance.now() - started) / 1000;
  return summary;
}
