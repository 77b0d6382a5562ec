/**
 * Real format-2 repositories for the HTML report's tests, built with the Repository API on a local
 * folder and no database: `count` snapshots, a full every day at 02:00 UTC and incrementals at 10:00
 * and 18:00 on weekdays (but every eleventh day), whose stores grow and shrink over time so the size chart has shape. Fulls older than a
 * week are verified, every seventh day's full is drilled, the newest full's drill failed, and fulls are
 * copied to one bucket (every fifth also to a second one).
 */
import { createHash } from 'node:crypto';
import { Repository, formatSnapshotId, type Verification } from '../../src/repository/repository.ts';
import { MANIFEST_FORMAT, type Manifest, type SnapshotKind } from '../../src/repository/manifest.ts';
import type { SnapshotSink } from '../../src/model/snapshot.ts';
import { openLocalStorage } from '../../src/storage/local/local-storage.ts';

export const REPORT_START = Date.UTC(2025, 0, 1, 2, 0, 0);
const DAY = 86_400_000;
const RUN_HOURS = [0, 8, 16];
export const S3_COPY = 's3://acx-backups/backups';
export const GCS_COPY = 'gs://acx-offsite/backups';

export interface BuiltSnapshot {
  id: string;
  kind: SnapshotKind;
  time: Date;
  records: { postgres: number; neo4j: number; qdrant: number };
  verified?: boolean;
  drill?: boolean;
  uploads: string[];
}

/** Records per store on day `day`: PostgreSQL grows, Neo4j swings, Qdrant grows in steps. */
function recordsOn(day: number, run: number): BuiltSnapshot['records'] {
  return {
    postgres: 20 + Math.floor(day / 4) + run,
    neo4j: 30 + Math.round(20 * Math.sin(day / 20)),
    qdrant: 10 + 15 * Math.floor(day / 45),
  };
}

/** `n` records that compress little (a digest each), so stored bytes follow record counts. */
function lines(store: string, salt: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) =>
    JSON.stringify({ id: i, h: createHash('sha256').update(`${store}${salt}${i}`).digest('base64') }),
  );
}

async function writeStores(files: SnapshotSink, id: string, time: string, records: BuiltSnapshot['records']) {
  const stores: Manifest['stores'] = {};
  for (const store of ['postgres', 'neo4j', 'qdrant'] as const) {
    const writer = await files.createFile(`${store}/data.jsonl`, { records: true });
    for (const line of lines(store, id, records[store])) await writer.writeLine(line);
    await files.closeFile(writer);
    stores[store] = {
      serverVersion: 'test',
      readStartedAt: time,
      readFinishedAt: time,
      datasets: [{ name: 'data', kind: 'table', records: records[store], files: [writer.path] }],
    };
  }
  return stores;
}

function planOf(count: number): BuiltSnapshot[] {
  const plan: BuiltSnapshot[] = [];
  for (let day = 0; plan.length < count; day++) {
    // Weekends (UTC) have the full only: the timeline's weeks differ from one another when drawn by day.
    const weekend = [0, 6].includes(new Date(REPORT_START + day * DAY).getUTCDay());
    const runs = weekend || day % 11 === 3 ? [0] : RUN_HOURS.map((_, run) => run);
    for (const run of runs) {
      if (plan.length === count) break;
      const time = new Date(REPORT_START + day * DAY + RUN_HOURS[run]! * 3_600_000);
      const kind: SnapshotKind = run === 0 ? 'full' : 'incremental';
      plan.push({ id: formatSnapshotId(kind, time), kind, time, records: recordsOn(day, run), uploads: [] });
    }
  }
  const lastDay = plan.length === 0 ? 0 : Math.floor((plan.at(-1)!.time.getTime() - REPORT_START) / DAY);
  for (const s of plan) {
    if (s.kind !== 'full') continue;
    const day = Math.round((s.time.getTime() - REPORT_START) / DAY);
    if (lastDay - day >= 7) s.verified = true;
    if (day % 7 === 0) s.drill = true;
    s.uploads.push(S3_COPY);
    if (day % 5 === 0) s.uploads.push(GCS_COPY);
  }
  const newestFull = plan.filter((s) => s.kind === 'full').at(-1);
  if (newestFull) newestFull.drill = false;
  return plan;
}

/** Writes the repository into `dir` (an empty or missing folder); returns its snapshots, oldest first. */
export async function buildReportRepository(dir: string, count: number): Promise<BuiltSnapshot[]> {
  const plan = planOf(count);
  const repository = Repository.onStorage(await openLocalStorage({ root: dir, sync: false }));
  try {
    let parent: string | null = null;
    for (const s of plan) {
      const time = s.time.toISOString();
      const files = await repository.createSnapshot(s.id, { formatVersion: 2, compression: 'zstd' });
      const stores = await writeStores(files, s.id, time, s.records);
      const blobs = (await repository.blobs())!;
      if (s.kind === 'full') parent = s.id;
      const manifest: Manifest = {
        format: MANIFEST_FORMAT,
        formatVersion: 2,
        id: s.id,
        kind: s.kind,
        parent: s.kind === 'full' ? null : parent,
        tool: { name: 'acx-data', version: 'test' },
        startedAt: time,
        completedAt: new Date(s.time.getTime() + 42_000).toISOString(),
        compression: 'zstd',
        encryption: null,
        repository: blobs.config.id,
        consistency: { method: 'test' },
        stores,
        files: { ...files.entries },
      };
      await repository.finishSnapshot(manifest, files);
      await recordChecks(repository, s);
    }
  } finally {
    await repository.close();
  }
  return plan;
}

async function recordChecks(repository: Repository, s: BuiltSnapshot): Promise<void> {
  const at = new Date(s.time.getTime() + 3_600_000).toISOString();
  if (s.verified !== undefined || s.drill !== undefined) {
    const verification: Verification = { at, ok: true, tool: 'acx-data test', problems: [] };
    if (s.drill !== undefined)
      verification.restoreTest = {
        at,
        ok: s.drill,
        durationMs: 61_000,
        targets: { postgres: 'acx_drill_3f9a', qdrant: 'diagnostic_codes__drill_3f9a' },
        datasets: 3,
        mismatches: s.drill ? [] : ['postgres/dtc_codes'],
      };
    await repository.writeVerification(await repository.open(s.id), verification);
  }
  for (const url of s.uploads)
    await repository.recordUpload(s.id, { url, at, bytesSent: 1000 + s.records.postgres * 10 });
}
