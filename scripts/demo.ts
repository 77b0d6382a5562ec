/**
 * `npm run demo` — the main job, end to end on the local stack:
 * start the stack if needed → seed demo data → `backup --all` → `--verify` → empty the three demo
 * databases → `--restore` → compare the content with what was there before. Prints each command as it
 * runs it. The demo stack is the project's own (`.stack/`), so it is overwritten without asking.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stackEnv, stackUp } from './stack/stack.ts';
import { openAllStores } from '../src/operations/open-stores.ts';
import { fingerprintStores } from '../src/operations/fingerprint.ts';
import { diffFingerprints } from '../src/model/content-hash.ts';
import { labelMap } from '../src/model/labels.ts';

const bin = fileURLToPath(new URL('../bin/acx-data.js', import.meta.url));
const scale = process.env.ACX_DEMO_SCALE ?? '1';
const backupDir = process.env.ACX_DEMO_BACKUP_DIR ?? mkdtempSync(join(tmpdir(), 'acx-demo-backups-'));
const say = (text: string) => console.error(`\n== ${text}`);

function acx(args: string[], env: NodeJS.ProcessEnv, capture = false): string {
  console.error(`$ acx-data ${args.join(' ')}`);
  const result = spawnSync(process.execPath, [bin, ...args], {
    stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'],
    env,
    encoding: 'utf8',
  });
  if (result.status !== 0) {
    console.error(`demo: "acx-data ${args.join(' ')}" failed with exit code ${result.status ?? 'signal'}`);
    process.exit(result.status ?? 1);
  }
  return result.stdout ?? '';
}

say('starting the local stack (npm run stack:up)');
await stackUp();
const env = { ...process.env, ...stackEnv() };
Object.assign(process.env, stackEnv());

say(`seeding demo data at scale ${scale}`);
acx(['seed', '--scale', scale, '--seed', '1', '--force'], env);

const stores = await openAllStores(env);
try {
  const labels = labelMap('production');
  const before = await fingerprintStores(stores, labels);

  say(`backing up all three databases into ${backupDir}`);
  const summary = JSON.parse(
    acx(
      ['backup', '--postgres', '--neo4j', '--qdrant', '--backup-dir', backupDir, '--format', 'json'],
      env,
      true,
    ),
  ) as {
    id: string;
    bytes: number;
  };
  console.error(`snapshot ${summary.id}: ${(summary.bytes / 1024 / 1024).toFixed(1)} MiB`);

  say('verifying the snapshot (every file re-hashed and decoded)');
  acx(['backup', '--verify', summary.id, '--backup-dir', backupDir], env);

  say('emptying the three demo databases');
  await Promise.all([stores.postgres.empty(), stores.neo4j.empty(), stores.qdrant.empty()]);
  acx(['backup', '--list', '--backup-dir', backupDir], env);

  say(`restoring ${summary.id}`);
  acx(['backup', '--restore', summary.id, '--backup-dir', backupDir], env);

  say('comparing the restored content with the content before the backup');
  const after = await fingerprintStores(stores, labels);
  const differing = diffFingerprints(before, after);
  const datasets = Object.keys(before).length;
  if (differing.length > 0) {
    console.error(
      `demo: ${differing.length} of ${datasets} datasets differ after the restore: ${differing.join(', ')}`,
    );
    process.exitCode = 1;
  } else {
    const records = Object.values(before).reduce((sum, d) => sum + d.records, 0);
    console.error(
      `identical: ${datasets} datasets (tables, labels, relationship types, collections, schema), ${records} records, by content hash`,
    );
    console.error(
      `\nThe stack holds the demo data again. Try it yourself in a shell prepared with: eval "$(npm run -s stack:env)"`,
    );
  }
} finally {
  await stores.close();
}
