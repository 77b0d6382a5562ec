/**
 * `npm run demo` — the main job, end to end on the local stack:
 * start the stack if needed → seed demo data → `backup --all` → `--verify` → empty the three demo
 * databases → `--restore` → compare the content with what was there before. Prints each command as it
 * runs it. The demo stack is the project's own (`.stack/`), so it is overwritten without asking.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stackEnv, stackUp } from './stack/stack.ts';
import { AcxError, redactSecrets } from '../src/errors.ts';
import { openAllStores } from '../src/operations/open-stores.ts';
import { fingerprintStores } from '../src/operations/fingerprint.ts';
import { diffFingerprints } from '../src/model/content-hash.ts';
import { labelMap } from '../src/model/labels.ts';

const bin = fileURLToPath(new URL('../bin/acx-data.js', import.meta.url));
const scale = process.env.ACX_DEMO_SCALE ?? '1';
const backupDir = process.env.ACX_DEMO_BACKUP_DIR ?? mkdtempSync(join(tmpdir(), 'acx-demo-backups-'));
/** The step under way, named when it fails. */
let step = 'starting';
const say = (text: string) => {
  step = text;
  console.error(`\n== ${text}`);
};

/** A step that failed: the CLI already printed its own one-line message; the demo ends with its code. */
class StepFailed extends Error {
  readonly exitCode: number;

  constructor(message: string, exitCode: number) {
    super(message);
    this.exitCode = exitCode;
  }
}

/**
 * Runs one CLI step as a child process and waits for it without blocking the event loop, so the
 * demo's own connections (kept open between steps) keep answering their servers.
 */
function acx(args: string[], env: NodeJS.ProcessEnv, capture = false): Promise<string> {
  console.error(`$ acx-data ${args.join(' ')}`);
  const child = spawn(process.execPath, [bin, ...args], {
    stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'],
    env,
  });
  let stdout = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  return new Promise((resolve, reject) => {
    child.once('error', (error) =>
      reject(new StepFailed(`"acx-data ${args.join(' ')}" could not start: ${error.message}`, 1)),
    );
    child.once('close', (code, signal) => {
      if (code === 0) resolve(stdout);
      else
        reject(
          new StepFailed(
            `"acx-data ${args.join(' ')}" failed with ${code === null ? `signal ${signal}` : `exit code ${code}`}`,
            code ?? 1,
          ),
        );
    });
  });
}

async function demo(): Promise<number> {
  say('starting the local stack (npm run stack:up)');
  await stackUp();
  const env = { ...process.env, ...stackEnv(), ...demoOverrides() };
  Object.assign(process.env, env);

  say(`seeding demo data at scale ${scale}`);
  await acx(['seed', '--scale', scale, '--seed', '1', '--force'], env);

  const stores = await openAllStores(env);
  try {
    step = 'reading the content before the backup';
    const labels = labelMap('production');
    const before = await fingerprintStores(stores, labels);

    say(`backing up all three databases into ${backupDir}`);
    const summary = JSON.parse(
      await acx(
        ['backup', '--postgres', '--neo4j', '--qdrant', '--backup-dir', backupDir, '--format', 'json'],
        env,
        true,
      ),
    ) as { id: string; bytes: number };
    console.error(`snapshot ${summary.id}: ${(summary.bytes / 1024 / 1024).toFixed(1)} MiB`);

    say('verifying the snapshot (every file re-hashed and decoded)');
    await acx(['backup', '--verify', summary.id, '--backup-dir', backupDir], env);

    say('emptying the three demo databases');
    await Promise.all([stores.postgres.empty(), stores.neo4j.empty(), stores.qdrant.empty()]);
    await acx(['backup', '--list', '--backup-dir', backupDir], env);

    say(`restoring ${summary.id}`);
    await acx(['backup', '--restore', summary.id, '--backup-dir', backupDir], env);

    say('comparing the restored content with the content before the backup');
    const after = await fingerprintStores(stores, labels);
    const differing = diffFingerprints(before, after);
    const datasets = Object.keys(before).length;
    if (differing.length > 0) {
      console.error(
        `demo: ${differing.length} of ${datasets} datasets differ after the restore: ${differing.join(', ')}`,
      );
      return 1;
    }
    const records = Object.values(before).reduce((sum, d) => sum + d.records, 0);
    console.error(
      `identical: ${datasets} datasets (tables, labels, relationship types, collections, schema), ${records} records, by content hash`,
    );

    say('checking that PostgreSQL, Neo4j and Qdrant agree on every DTC code (sync --verify)');
    await acx(['sync', '--verify'], env);
    console.error(
      `\nThe stack holds the demo data again. Try it yourself in a shell prepared with: eval "$(npm run -s stack:env)"`,
    );
    return 0;
  } finally {
    await stores.close();
  }
}

/**
 * `ACX_DEMO_QDRANT_URL` routes the demo's Qdrant traffic through another address of the same stack
 * Qdrant (a proxy, as in test/e2e/demo-robust.test.ts); the stack's own settings win otherwise, so a
 * QDRANT_URL of the user's shell is never emptied by the demo.
 */
function demoOverrides(): Record<string, string> {
  const url = process.env.ACX_DEMO_QDRANT_URL;
  return url ? { QDRANT_URL: url } : {};
}

/** One line for a failure, never a stack trace: the CLI's own message was printed by the step. */
function report(error: unknown): number {
  if (error instanceof StepFailed) {
    console.error(`demo: ${error.message}`);
    return error.exitCode;
  }
  if (error instanceof AcxError) {
    const subject = error.subject ? ` [${error.subject}]` : '';
    console.error(`demo: ${step} failed: ${error.code}${subject}: ${redactSecrets(error.message)}`);
    if (error.hint) console.error(`  hint: ${error.hint}`);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  console.error(`demo: ${step} failed: ${redactSecrets(message)}`);
  return 1;
}

process.exitCode = await demo().catch(report);
