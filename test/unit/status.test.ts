/**
 * `acx-data status` (docs/design.md §13.4) through the real CLI, on repositories written with the
 * Repository API on local storage (format 2), with snapshot times set to make one fresh and one stale:
 * Nagios exit codes 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN and the one line.
 */
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';
import { tempDirs } from '../support/small-repository.ts';
import { writeNodesSnapshot } from '../support/snapshot.ts';
import { formatSnapshotId, Repository } from '../../src/repository/repository.ts';
import { openLocalStorage } from '../../src/storage/local/local-storage.ts';
import type { StatusSummary } from '../../src/operations/status.ts';

const tempDir = tempDirs('acx-status-');
const HOUR = 3_600_000;

/** A local repository holding one snapshot per age (hours before now); its ids, newest first. */
async function repositoryWith(
  dir: string,
  hoursAgo: number[],
  change?: (r: Repository, id: string) => Promise<void>,
) {
  const repository = Repository.onStorage(await openLocalStorage({ root: dir }));
  const ids: string[] = [];
  for (const hours of hoursAgo) {
    const time = new Date(Date.now() - hours * HOUR);
    const id = formatSnapshotId('full', time);
    await writeNodesSnapshot(repository, id, ['{"id":1}', '{"id":2}'], { time: time.toISOString() });
    ids.push(id);
    await change?.(repository, id);
  }
  await repository.close();
  return ids.reverse();
}

const status = (args: string[]) => runCli(['status', ...args]);

describe('acx-data status', () => {
  it('OK (0) when the newest backup is younger than --max-age, whatever older ones are', async () => {
    const dir = await tempDir();
    const [fresh] = await repositoryWith(dir, [40, 2]);
    const result = await status(['--backup-dir', dir, '--max-age', '26h']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(
      new RegExp(
        `^ACX-DATA OK - latest backup ${fresh} is 2(\\.0)?h old \\(max 26h\\) \\| age=\\d+s;;93600;0 snapshots=2;;;0\\n$`,
      ),
    );
  });

  it('CRITICAL (2) when it is older, or when there is none', async () => {
    const dir = await tempDir();
    const [stale] = await repositoryWith(dir, [30]);
    const old = await status(['--backup-dir', dir, '--max-age', '26h']);
    expect(old.code).toBe(2);
    expect(old.stdout.split(' | ')[0]).toBe(
      `ACX-DATA CRITICAL - latest backup ${stale} is 30h old (max 26h)`,
    );
    const fine = await status(['--backup-dir', dir, '--max-age', '2d']);
    expect(fine.code).toBe(0);

    const empty = join(await tempDir(), 'none');
    const none = await status(['--backup-dir', empty, '--max-age', '26h']);
    expect(none.code).toBe(2);
    expect(none.stdout).toMatch(/^ACX-DATA CRITICAL - no complete backup in /);
  });

  it('CRITICAL when the newest snapshot failed verification or its restore drill', async () => {
    const verifiedBad = await tempDir();
    const [id] = await repositoryWith(verifiedBad, [1], async (repository, snapshot) => {
      await repository.writeVerification(await repository.open(snapshot), {
        at: new Date().toISOString(),
        ok: false,
        tool: 'test',
        problems: ['neo4j/nodes.jsonl: hash differs'],
      });
    });
    const bad = await status(['--backup-dir', verifiedBad, '--max-age', '26h']);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toMatch(
      new RegExp(`^ACX-DATA CRITICAL - ${id} failed verification at \\S+ \\(1 problems\\)`),
    );

    const drillBad = await tempDir();
    await repositoryWith(drillBad, [1], async (repository, snapshot) => {
      await repository.writeVerification(await repository.open(snapshot), {
        at: new Date().toISOString(),
        ok: true,
        tool: 'test',
        problems: [],
        restoreTest: {
          at: new Date().toISOString(),
          ok: false,
          durationMs: 10,
          targets: {},
          datasets: 2,
          mismatches: ['neo4j/nodes'],
        },
      });
    });
    const drill = await status(['--backup-dir', drillBad, '--max-age', '26h', '--format', 'json']);
    expect(drill.code).toBe(2);
    const doc = JSON.parse(drill.stdout) as StatusSummary;
    expect(doc.state).toBe('CRITICAL');
    expect(doc.latest).toMatchObject({ verified: true, restoreTest: false });
    expect(doc.line).toMatch(/the restore drill of full_\d{8}_\d{6} failed at \S+ \(1 datasets differ\)/);
  });

  it('WARNING (1) when the repository is over --max-size', async () => {
    const dir = await tempDir();
    await repositoryWith(dir, [1]);
    const over = await status(['--backup-dir', dir, '--max-age', '26h', '--max-size', '1KB']);
    expect(over.code).toBe(1);
    expect(over.stdout).toMatch(
      /^ACX-DATA WARNING - repository holds \d+\.\d\d KiB \(max 1000 B\) \| .*size=\d+B;1000;;0/,
    );
    const under = await status(['--backup-dir', dir, '--max-age', '26h', '--max-size', '500GiB']);
    expect(under.code).toBe(0);
    const wrong = await status(['--backup-dir', dir, '--max-age', '26h', '--max-size', '5 parsecs']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('is not a size');
  });

  it('WARNING when the newest sync report in --sync-report DIR is inconsistent or too old', async () => {
    const dir = await tempDir();
    await repositoryWith(dir, [1]);
    const reports = join(await tempDir(), 'reports');
    await mkdir(reports);
    const report = (consistent: boolean, hoursAgo: number) =>
      JSON.stringify({
        timestamp: new Date(Date.now() - hoursAgo * HOUR).toISOString(),
        is_consistent: consistent,
        counts: {},
        issues: {},
        issue_counts: { missing_in_neo4j: consistent ? 0 : 3 },
      });
    await writeFile(join(reports, 'verify-old.json'), report(true, 50));
    await utimes(
      join(reports, 'verify-old.json'),
      new Date(Date.now() - 50 * HOUR),
      new Date(Date.now() - 50 * HOUR),
    );
    await writeFile(join(reports, 'verify-new.json'), report(false, 1));
    const inconsistent = await status(['--backup-dir', dir, '--max-age', '26h', '--sync-report', reports]);
    expect(inconsistent.code).toBe(1);
    expect(inconsistent.stdout).toMatch(/^ACX-DATA WARNING - sync report \S+: inconsistent \(3 issues\) \|/);

    const old = await status([
      '--backup-dir',
      dir,
      '--max-age',
      '26h',
      '--sync-report',
      join(reports, 'verify-old.json'),
    ]);
    expect(old.code).toBe(1);
    expect(old.stdout).toMatch(/^ACX-DATA WARNING - sync report \S+verify-old\.json is 50h old \(max 26h\)/);
  });

  it('UNKNOWN (3) when the repository cannot be read', async () => {
    const file = join(await tempDir(), 'a-file');
    await writeFile(file, '');
    const result = await status(['--backup-dir', file, '--max-age', '26h']);
    expect(result.code).toBe(3);
    expect(result.stdout).toMatch(new RegExp(`^ACX-DATA UNKNOWN - cannot read the repository ${file}: `));
  });

  it('documents its own exit codes in --help', async () => {
    const help = await runCli(['status', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/0\s+OK\n\s+1\s+WARNING\n\s+2\s+CRITICAL\n\s+3\s+UNKNOWN/);
  });
});
