/** Text summaries of the backup command's modes. */
import type { BackupSummary } from '../../operations/backup.ts';
import type { RestoreSummary } from '../../operations/restore.ts';
import type { VerifyAllSummary, VerifySummary } from '../../operations/verify.ts';
import type { RestoreTest, SnapshotListing } from '../../repository/repository.ts';
import type { RunFailure } from '../../operations/outcome.ts';
import type { CopySummary } from '../../repository/copy-snapshot.ts';
import type { ArchiveSummary } from '../../repository/snapshot-archive.ts';
import type { UploadSummary } from '../../operations/upload.ts';
import { formatBytes, formatTable } from './format.ts';

export function formatBackup(s: BackupSummary): string {
  const rows: Array<Array<string | number>> = [['store', 'records', 'size', 'seconds']];
  for (const [store, v] of Object.entries(s.stores))
    rows.push([store, v.records, formatBytes(v.bytes), v.seconds.toFixed(1)]);
  const lines = [
    `Snapshot ${s.id} written to ${s.dir}`,
    '',
    formatTable(rows, [1, 2, 3]),
    '',
    `Total ${formatBytes(s.bytes)} in ${s.seconds.toFixed(1)} s.`,
  ];
  if (s.stored)
    lines.push(
      `Stored ${formatBytes(s.stored.addedBytes)} new in the repository; ${formatBytes(s.stored.reusedBytes)} of content was already there${s.parent ? ` (incremental on ${s.parent})` : ''}.`,
    );
  for (const w of s.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n');
}

/** One line per copy: what was sent and what the target already held. */
export function formatCopy(s: CopySummary): string {
  const seconds = (s.durationMs / 1000).toFixed(1);
  if (s.alreadyPresent) return `Snapshot ${s.id} is already complete in ${s.to}: nothing sent.`;
  const parts =
    s.formatVersion === 2
      ? `${s.packsSent} pack${s.packsSent === 1 ? '' : 's'} sent, ${s.packsPresent} already there`
      : `${s.filesSent} file${s.filesSent === 1 ? '' : 's'} sent, ${s.filesPresent} already there`;
  return `Snapshot ${s.id} copied from ${s.from} to ${s.to}: ${parts}, ${formatBytes(s.bytesSent)} in ${seconds} s.`;
}

export function formatUploads(s: UploadSummary): string {
  return s.copies.map(formatCopy).join('\n');
}

export function formatArchive(s: ArchiveSummary, file: string): string {
  const what = s.formatVersion === 2 ? `${s.packs} packs` : `${s.files} files`;
  return `Snapshot ${s.id} from ${s.from} archived to ${file}: ${what}, ${formatBytes(s.bytes)} before compression, in ${(s.durationMs / 1000).toFixed(1)} s. Unpack with tar -xzf; then: acx-data backup --backup-dir ${s.id} --verify ${s.id}`;
}

export function storesOf(listing: SnapshotListing): string[] {
  return [...Object.keys(listing.manifest.stores), ...(listing.manifest.jsonFiles ? ['json'] : [])];
}

export function recordsOf(listing: SnapshotListing): number {
  const sections = [...Object.values(listing.manifest.stores), listing.manifest.jsonFiles];
  return sections
    .flatMap((s) => s?.datasets ?? [])
    .filter((d) => d.kind !== 'schema' && d.kind !== 'collection')
    .reduce((sum, d) => sum + d.records, 0);
}

export interface ListResult {
  snapshots: SnapshotListing[];
  running: string[];
  incomplete: string[];
  damaged: Array<{ id: string; problem: string }>;
}

export function formatList({ snapshots, running, incomplete, damaged }: ListResult, dir: string): string {
  const lines: string[] = [];
  if (snapshots.length === 0 && damaged.length === 0) lines.push(`No snapshots in ${dir}.`);
  else lines.push(formatTable(listRows(snapshots), [4, 5, 6]));
  for (const s of snapshots)
    for (const u of s.uploads)
      lines.push(`copy: ${s.id} in ${u.url} (${u.at.slice(0, 16).replace('T', ' ')})`);
  for (const s of snapshots) {
    const drill = s.verification?.restoreTest;
    if (drill && !drill.ok) lines.push(`drill failed: ${s.id}: ${drillProblem(drill)}`);
  }
  for (const d of damaged) lines.push(`damaged: ${d.id}: ${d.problem}`);
  for (const id of running) lines.push(`running: ${id} is being written by a backup in progress`);
  if (incomplete.length > 0)
    lines.push(
      `(${incomplete.length} incomplete director${incomplete.length === 1 ? 'y' : 'ies'} of interrupted runs, removed by the next backup or cleanup: ${incomplete.join(', ')})`,
    );
  return lines.join('\n');
}

function listRows(snapshots: SnapshotListing[]): Array<Array<string | number>> {
  const rows: Array<Array<string | number>> = [
    ['id', 'kind', 'time (UTC)', 'stores', 'records', 'size', 'added', 'format', 'verified', 'drill'],
  ];
  for (const s of snapshots) {
    const v = s.verification;
    rows.push([
      s.id,
      s.manifest.kind,
      s.manifest.startedAt.replace('T', ' ').slice(0, 19),
      storesOf(s).join(','),
      recordsOf(s),
      formatBytes(s.logicalBytes),
      formatBytes(s.addedBytes),
      `${s.manifest.formatVersion}${s.manifest.encryption ? ' enc' : ''}`,
      v ? `${v.ok ? 'ok' : 'FAILED'} ${v.at.slice(0, 16).replace('T', ' ')}` : 'never',
      v?.restoreTest
        ? `${v.restoreTest.ok ? 'ok' : 'FAILED'} ${v.restoreTest.at.slice(0, 16).replace('T', ' ')}`
        : 'never',
    ]);
  }
  return rows;
}

function drillProblem(drill: RestoreTest): string {
  return drill.error ?? drill.mismatches.join('; ');
}

/** The restore drill's result, after the verification's (`--verify ID --restore-test`). */
export function formatDrill(id: string, drill: RestoreTest, failures: RunFailure[]): string {
  const where = Object.values(drill.targets).join('; ');
  const seconds = (drill.durationMs / 1000).toFixed(1);
  const lines = [
    drill.ok
      ? `Restore drill of ${id} passed: ${drill.datasets} datasets restored into scratch targets and equal to the ${drill.compared ?? 'counts'} the snapshot recorded in ${seconds} s (${where}); scratch targets removed.`
      : `Restore drill of ${id} FAILED after ${seconds} s: ${drillProblem(drill)}`,
  ];
  for (const f of failures.filter((f) => f.item !== 'restore drill')) lines.push(`  ${f.item}: ${f.message}`);
  return lines.join('\n');
}

export function formatVerify(s: VerifySummary): string {
  const head = s.ok
    ? `Snapshot ${s.id} is intact: ${s.files} files, ${formatBytes(s.bytes)}, ${s.records} records, decoded to the end in ${s.seconds.toFixed(1)} s.`
    : `Snapshot ${s.id} FAILED verification (${s.problems.length} problem${s.problems.length === 1 ? '' : 's'}):`;
  return [
    head,
    ...s.problems.map((p) => `  ${p.file}: ${p.problem}`),
    ...s.unlisted.map((f) => `  note: ${f} is not listed in the manifest (ignored)`),
  ].join('\n');
}

/** How many problems `--verify --all` found (each printed on its own line). */
export function problemsOfVerifyAll(s: VerifyAllSummary): number {
  const r = s.repository;
  return (
    s.damaged.length +
    (s.repositoryProblem ? 1 : 0) +
    s.snapshots.reduce((n, v) => n + v.problems.length, 0) +
    (r ? r.problems.length + r.moreProblems : 0)
  );
}

/** `--verify --all`: one line per snapshot, one per problem, then the repository's figures. */
export function formatVerifyAll(s: VerifyAllSummary): string {
  const lines: string[] = [];
  for (const v of s.snapshots) {
    lines.push(
      v.ok
        ? `ok      ${v.id}: ${v.files} files, ${formatBytes(v.bytes)}, ${v.records} records`
        : `FAILED  ${v.id}:`,
    );
    for (const p of v.problems) lines.push(`  ${v.id}/${p.file}: ${p.problem}`);
  }
  for (const d of s.damaged) lines.push(`FAILED  ${d.id}: ${d.problem}`);
  if (s.repositoryProblem)
    lines.push(`FAILED  ${s.repositoryProblem.object}: ${s.repositoryProblem.problem}`);
  const r = s.repository;
  if (r) {
    lines.push(
      `${r.ok ? 'ok     ' : 'FAILED '} repository: ${r.packs} packs (${formatBytes(r.packBytes)}), ${r.indexFiles} index files, ${r.entries} index entries, ${r.usedBlobs} blobs used by snapshots; every indexed pack read whole`,
    );
    for (const p of r.problems) lines.push(`  ${p.object}: ${p.problem}`);
    if (r.moreProblems > 0) lines.push(`  … and ${r.moreProblems} more problems`);
    for (const p of r.leftoverPacks)
      lines.push(
        `  leftover: data/${p.pack.slice(0, 2)}/${p.pack} (${formatBytes(p.bytes)}) is listed by no index file: an interrupted run's, a cleanup removes it`,
      );
    for (const key of r.strays) lines.push(`  note: ${key} is not a pack (ignored)`);
    if (r.reclaimable.blobs > 0)
      lines.push(
        `  reclaimable: ${r.reclaimable.blobs} blobs (${formatBytes(r.reclaimable.bytes)}) no snapshot uses`,
      );
  }
  if (s.incomplete.length > 0)
    lines.push(
      `note: ${s.incomplete.length} incomplete directories of interrupted runs: ${s.incomplete.join(', ')}`,
    );
  const problems = problemsOfVerifyAll(s);
  lines.push(
    problems === 0
      ? `All ${s.snapshots.length} snapshots${r ? ' and the repository' : ''} are intact (${s.seconds.toFixed(1)} s).`
      : `${problems} problem${problems === 1 ? '' : 's'} found (${s.seconds.toFixed(1)} s).`,
  );
  return lines.join('\n');
}

export function formatRestore(s: RestoreSummary): string {
  const lines: string[] = [];
  if (s.dryRun) {
    lines.push(`Dry run: restoring ${s.id} would do the following (nothing was changed):`);
    for (const [target, steps] of Object.entries(s.plan)) {
      lines.push('', `${target}:`);
      for (const step of steps)
        lines.push(
          `  ${step.action.padEnd(6)} ${step.object}${step.records === undefined ? '' : ` (${step.records} records)`}${step.detail ? ` — ${step.detail}` : ''}`,
        );
    }
    return lines.join('\n');
  }
  lines.push(
    s.verification.whileReading
      ? `Restored ${s.id} (each block checked as it was read).`
      : `Restored ${s.id} (verified first: ${s.verification.files} files intact).`,
  );
  if (s.safetySnapshot) lines.push(`Safety backup of the replaced data: ${s.safetySnapshot.id}`);
  if (s.resumed) {
    const r = s.resumed;
    lines.push(
      `Finished the restore interrupted since ${r.startedAt} (pid ${r.pid})${r.interrupted ? `: ${r.interrupted} was emptied of its partial restore and restored again` : ''}${r.alreadyRestored.length > 0 ? `; restored before the interruption: ${r.alreadyRestored.join(', ')}` : ''}.`,
    );
    if (r.safetySnapshot) lines.push(`Safety backup taken by the interrupted run: ${r.safetySnapshot}`);
  }
  const rows: Array<Array<string | number>> = [['store', 'records', 'seconds']];
  for (const [target, r] of Object.entries(s.restored))
    rows.push([target, r.datasets.reduce((sum, d) => sum + d.records, 0), r.seconds.toFixed(1)]);
  lines.push('', formatTable(rows, [1, 2]));
  return lines.join('\n');
}
