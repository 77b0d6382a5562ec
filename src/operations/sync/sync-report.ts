/**
 * The `--verify --report FILE` document: the original's keys (`timestamp`, `is_consistent`, `counts`,
 * `issues`, `issue_counts`) with every list complete and sorted by code, streamed from the issue log
 * into a partial file that is renamed into place: a reader never sees half a report.
 */
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { fileError, makeDirectories } from '../../files.ts';
import { ISSUE_KINDS, type IssueLog } from './sync-issues.ts';
import type { VerifyResult } from './sync-verify.ts';

/** Appends to the report through a buffer of about 64 KiB (one write per buffer). */
class ReportWriter {
  private buffered: string[] = [];
  private size = 0;
  private readonly file: FileHandle;

  constructor(file: FileHandle) {
    this.file = file;
  }
  async put(text: string): Promise<void> {
    this.buffered.push(text);
    this.size += text.length;
    if (this.size >= 65_536) await this.flush();
  }
  async flush(): Promise<void> {
    if (this.buffered.length > 0) await this.file.write(this.buffered.join(''));
    this.buffered = [];
    this.size = 0;
  }
}

async function writeIssues(out: ReportWriter, log: IssueLog): Promise<void> {
  await out.put('  "issues": {');
  for (const [k, kind] of ISSUE_KINDS.entries()) {
    await out.put(`${k === 0 ? '' : ','}\n    ${JSON.stringify(kind)}: [`);
    let first = true;
    for (const entry of log.entries(kind)) {
      await out.put(`${first ? '' : ','}\n      ${entry}`);
      first = false;
    }
    await out.put(first ? ']' : '\n    ]');
  }
  await out.put('\n  },\n');
}

async function writeBody(file: FileHandle, result: VerifyResult, log: IssueLog): Promise<void> {
  const out = new ReportWriter(file);
  const head = { timestamp: result.timestamp, is_consistent: result.is_consistent, counts: result.counts };
  await out.put(JSON.stringify(head, null, 2).slice(0, -2) + ',\n');
  await writeIssues(out, log);
  const tail = {
    issue_counts: result.issue_counts,
    checked: result.checked,
    label_scheme: result.label_scheme,
  };
  await out.put(JSON.stringify(tail, null, 2).slice(2) + '\n');
  await out.flush();
  await file.sync();
}

/** Writes the complete report to `path` (its folder created if missing). */
export async function writeVerifyReport(path: string, result: VerifyResult, log: IssueLog): Promise<void> {
  const partial = join(dirname(path), `.${basename(path)}.partial`);
  try {
    await makeDirectories(dirname(path));
    const file = await open(partial, 'w');
    try {
      await writeBody(file, result, log);
    } finally {
      await file.close();
    }
    await rename(partial, path);
  } catch (error) {
    await rm(partial, { force: true });
    throw fileError(error, { path, doing: 'write the verify report', code: 'STORAGE' });
  }
}
