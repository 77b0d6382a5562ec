/**
 * `acx-data report --html FILE`: one self-contained HTML page of a repository's state (docs/design.md
 * §13.5) — snapshot history, stored size per store, verification and restore drills, the latest sync
 * report, cloud copies. Declares and checks the flags; the work is src/cli/handlers/report-handler.ts,
 * loaded only when it runs.
 */
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { AcxError } from '../../errors.ts';
import type { CloudSettings } from '../../storage/cloud-settings.ts';
import { isUrlLocation } from '../../storage/registry.ts';
import { isCheckOnly } from '../check-only.ts';
import { globalOptions, type GlobalOptions } from '../output/global-options.ts';

export const DEFAULT_REPORT_TITLE = 'acx-data backups';

/** One run of `acx-data report`. */
export interface ReportRun {
  global: GlobalOptions;
  /** `--html`, absolute. */
  html: string;
  /** `--backup-dir`: a local folder (absolute) or a storage URL as written. */
  repository: string;
  /** `--sync-report FILE|DIR`, absolute. */
  syncReport?: string;
  title: string;
  cloud: CloudSettings;
}

interface ReportFlags {
  html: string;
  backupDir: string;
  syncReport?: string;
  title: string;
  s3Region?: string;
  s3Endpoint?: string;
}

const EXAMPLES = `
The page needs no network: inline CSS and SVG, and a Content-Security-Policy that allows no request.

Examples:
  acx-data report --html /var/www/acx/report.html
  acx-data report --html report.html --backup-dir /backups --sync-report /var/log/acx-data/sync
  acx-data report --html report.html --backup-dir s3://my-bucket/backups --title "Production backups"`;

function checkFlags(flags: ReportFlags, global: GlobalOptions): ReportRun {
  if (flags.html.trim() === '')
    throw new AcxError('USAGE', '--html needs a file name', { hint: 'acx-data report --html report.html' });
  if (flags.html.endsWith('/'))
    throw new AcxError('USAGE', `--html ${flags.html} names a folder, not a file`, {
      subject: flags.html,
      hint: `acx-data report --html ${join(flags.html, 'report.html')}`,
    });
  return {
    global,
    html: resolve(flags.html),
    repository: isUrlLocation(flags.backupDir) ? flags.backupDir : resolve(flags.backupDir),
    ...(flags.syncReport !== undefined && { syncReport: resolve(flags.syncReport) }),
    title: flags.title,
    cloud: { s3: { region: flags.s3Region, endpoint: flags.s3Endpoint } },
  };
}

export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description(
      'write an HTML report of the repository: history, sizes, verifications, drills, sync, copies',
    )
    .requiredOption('--html <file>', 'the page to write (replaced atomically)')
    .option(
      '--backup-dir <dir>',
      'the repository: a folder or a storage URL (s3://bucket/prefix…)',
      join('data', 'backups'),
    )
    .option(
      '--sync-report <path>',
      'the latest sync --verify report: a file, or the newest *.json of a folder',
    )
    .option('--title <title>', 'the page title', DEFAULT_REPORT_TITLE)
    .option('--s3-region <region>', 'S3 region (default: AWS_REGION or AWS_DEFAULT_REGION)')
    .option('--s3-endpoint <url>', 'S3-compatible endpoint (MinIO, DigitalOcean Spaces)')
    .addHelpText('after', EXAMPLES)
    .action(async (flags: ReportFlags, command: Command) => {
      const run = checkFlags(flags, globalOptions(command));
      if (isCheckOnly(command)) return;
      const { handleReport } = await import('../handlers/report-handler.ts');
      await handleReport(run);
    });
}
