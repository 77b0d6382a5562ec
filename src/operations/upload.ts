/**
 * Uploads (design §12.4–12.5): copies one snapshot of the local repository into other repositories —
 * the buckets of `--upload-s3`, `--upload-gcs`, `--upload-azure` — one after another, in the order
 * given, and records each finished copy in the snapshot's `uploads.json`. The copy itself is
 * `copySnapshot` (only what the target lacks is sent; the manifest last). The first copy that fails
 * stops the run: the error says which copy, and the copies made before it stay recorded.
 */
import { AcxError } from '../errors.ts';
import type { ProgressReporter } from '../progress.ts';
import { copySnapshot, type CopySummary } from '../repository/copy-snapshot.ts';
import type { Repository } from '../repository/repository.ts';

export interface UploadTarget {
  /** Printable, secret-free: `s3://bucket/backups`. */
  url: string;
  /** Opens (and, where the provider allows, creates) the repository at `url`. */
  open(): Promise<Repository>;
}

export interface UploadSummary {
  id: string;
  copies: CopySummary[];
}

/** Thrown when a copy fails; carries the copies that succeeded before it. */
export class UploadError extends AcxError {
  readonly url: string;
  readonly done: CopySummary[];

  constructor(url: string, done: CopySummary[], cause: unknown) {
    const inner = cause instanceof AcxError ? cause : undefined;
    super(inner?.code ?? 'INTERNAL', `upload to ${url} failed: ${(cause as Error).message}`, {
      subject: url,
      hint: inner?.hint,
      cause,
    });
    this.name = 'UploadError';
    this.url = url;
    this.done = done;
  }
}

const PROGRESS_EVERY_MS = 2_000;

export async function uploadSnapshot(options: {
  source: Repository;
  id: string;
  targets: UploadTarget[];
  reporter: ProgressReporter;
  signal?: AbortSignal;
}): Promise<UploadSummary> {
  const { source, id, targets, reporter, signal } = options;
  // The snapshot must be complete here before anything is sent (NOT_FOUND names it otherwise).
  await source.open(id);
  const copies: CopySummary[] = [];
  for (const target of targets) {
    let repository: Repository | undefined;
    try {
      repository = await target.open();
      reporter.emit({ type: 'phase', store: 'repository', message: `uploading ${id} to ${target.url}` });
      let last = 0;
      const summary = await copySnapshot({
        source,
        target: repository,
        id,
        signal,
        onProgress: (p) => {
          const now = Date.now();
          if (now - last < PROGRESS_EVERY_MS && p.packsDone < p.packsTotal) return;
          last = now;
          reporter.emit({
            type: 'dataset-progress',
            store: 'repository',
            dataset: target.url,
            done: p.packsDone,
            total: p.packsTotal,
          });
        },
      });
      copies.push(summary);
      await source.recordUpload(id, {
        url: target.url,
        at: new Date().toISOString(),
        bytesSent: summary.bytesSent,
      });
    } catch (error) {
      if (signal?.aborted && error === signal.reason) throw error;
      throw new UploadError(target.url, copies, error);
    } finally {
      await repository?.close();
    }
  }
  return { id, copies };
}
