/**
 * Upload throughput to S3 (issue 13): `acx-data backup --upload-s3 … --snapshot ID` of a ~1 GB
 * format-2 snapshot against the AWS SDK's own `Upload` alone and `aws s3 cp --recursive` on the same
 * packs, in one run, on a local versitygw that this script starts (and stops) itself.
 *
 *   npm run bench:cloud -- [--size-mib 1024] [--files 8] [--rounds 3] [--out bench/results] [--keep]
 *                          [--cpu-prof DIR] [--no-aws-cli]
 *   npx node bench/cloud.ts --from-json bench/results/cloud-<date>.json   (re-render only)
 *
 * 1. versitygw (~/.cache/acx-data/bin/versitygw, posix backend) on 127.0.0.1:17170, its data in a
 *    temporary directory on the same disk; buckets made with CreateBucket (path-style).
 * 2. `--files` files of random (incompressible) bytes, `--size-mib` in all, named `*.json` under a data
 *    directory: `backup --json` takes every `*.json` file there and streams its bytes as they are (it
 *    never parses them), so the snapshot holds ~size-mib of packs that neither side can compress. No
 *    database is needed (nor its variables). The data directory is deleted once backed up.
 * 3. Per round (the order of the three uploads reverses every round), each into a new bucket:
 *    (a) `acx-data backup --upload-s3 B --snapshot ID --backup-dir REPO --s3-endpoint URL`;
 *    (b) bench/cloud-sdk-upload.ts: lib-storage `Upload` alone on the snapshot's pack files (data/**),
 *        parts of 8 MiB, 4 in flight per file, 4 files at once (as many as copySnapshot's packs);
 *    (c) `aws s3 cp --recursive REPO/data s3://B/data` (its defaults, written out in a temporary
 *        AWS_CONFIG_FILE: 8 MB parts, 10 requests at once), unless the CLI is missing;
 *    (d) (a) again into the same bucket: it must send nothing;
 *    (e) `--download ID --from s3://B/backups --backup-dir <new dir>`.
 *    Every upload's objects are listed afterwards and must be the snapshot's packs, byte for byte in
 *    count and size; the download's packs likewise. The round's buckets are then removed from disk.
 * Each command is its own process under `/usr/bin/time -v` (wall clock, CPU, peak RSS). The server's
 * CPU time (/proc/PID/stat) and the CPU the rest of the machine used meanwhile (/proc/stat, minus the
 * command's and the server's) are recorded per step. Writes bench/results/cloud-<date>.md and .json.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, ListBucketsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import {
  loadAverage,
  machineNotes,
  measure,
  measureAcx,
  option,
  prettierWrite,
  root,
  today,
  type Measured,
} from './lib.ts';
import {
  render,
  summariseProfile,
  type ProfileSummary,
  type Results,
  type Step,
  type Tool,
} from './cloud-report.ts';

const PORT = 17170;
const ENDPOINT = `http://127.0.0.1:${PORT}`;
const CREDENTIALS = { accessKeyId: 'benchkey', secretAccessKey: 'benchsecret' };
const MiB = 1024 * 1024;
const TICKS = 100; // USER_HZ: /proc times are in 1/100 s on Linux

/** Busy and total jiffies of the whole machine (/proc/stat "cpu" line). */
function machineTicks(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = fields as number[];
  const busy = user! + nice! + system! + irq! + softirq! + (steal ?? 0);
  return { busy, total: busy + idle! + iowait! };
}

/** utime + stime of a process, in jiffies. */
function processTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

interface Server {
  process: ChildProcess;
  root: string;
  client: S3Client;
}

async function startServer(work: string): Promise<Server> {
  const binary = join(homedir(), '.cache/acx-data/bin/versitygw');
  const dataRoot = join(work, 's3');
  mkdirSync(dataRoot);
  const log = openSync(join(work, 'versitygw.log'), 'w');
  const child = spawn(binary, ['--port', `127.0.0.1:${PORT}`, 'posix', dataRoot], {
    env: {
      ...process.env,
      ROOT_ACCESS_KEY: CREDENTIALS.accessKeyId,
      ROOT_SECRET_KEY: CREDENTIALS.secretAccessKey,
    },
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  const client = new S3Client({
    region: 'us-east-1',
    endpoint: ENDPOINT,
    forcePathStyle: true,
    credentials: CREDENTIALS,
  });
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`versitygw exited (${child.exitCode}): see ${work}/versitygw.log`);
    try {
      await client.send(new ListBucketsCommand({}));
      return { process: child, root: dataRoot, client };
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`versitygw did not answer on ${ENDPOINT}`, { cause: error });
      await new Promise((done) => setTimeout(done, 200));
    }
  }
}

async function stopServer(server: Server): Promise<void> {
  server.client.destroy();
  if (server.process.exitCode !== null) return;
  const exited = new Promise((done) => server.process.once('exit', done));
  server.process.kill('SIGTERM');
  const timer = setTimeout(() => server.process.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** `files` files of random bytes, `sizeMiB` in all, named *.json (their bytes are never parsed). */
function writeRandomData(dir: string, sizeMiB: number, files: number): number {
  mkdirSync(dir, { recursive: true });
  const perFile = Math.floor((sizeMiB * MiB) / files);
  for (let i = 1; i <= files; i++) {
    const fd = openSync(join(dir, `random-${String(i).padStart(2, '0')}.json`), 'w');
    for (let left = perFile; left > 0; left -= 8 * MiB) writeSync(fd, randomBytes(Math.min(left, 8 * MiB)));
    closeSync(fd);
  }
  return perFile * files;
}

function filesUnder(dir: string): { path: string; size: number }[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return filesUnder(path);
    return entry.isFile() ? [{ path, size: statSync(path).size }] : [];
  });
}

/** Object count and bytes under a prefix of a bucket. */
async function listed(
  client: S3Client,
  bucket: string,
  prefix: string,
): Promise<{ count: number; bytes: number }> {
  let count = 0;
  let bytes = 0;
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const object of page.Contents ?? []) {
      count++;
      bytes += object.Size ?? 0;
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return { count, bytes };
}

interface Context {
  server: Server;
  env: NodeJS.ProcessEnv;
  repo: string;
  id: string;
  packs: { count: number; bytes: number };
  work: string;
}

/** Runs one command, with the server's CPU and the rest of the machine's CPU over the same span. */
async function timed(
  ctx: Context,
  tool: Tool,
  round: number,
  run: () => Promise<Measured>,
): Promise<{ step: Step; stdout: string }> {
  const pid = ctx.server.process.pid!;
  const load = loadAverage();
  const server0 = processTicks(pid);
  const machine0 = machineTicks();
  const m = await run();
  const machine1 = machineTicks();
  const serverSeconds = (processTicks(pid) - server0) / TICKS;
  const ownSeconds = m.userSeconds + m.systemSeconds;
  const busySeconds = (machine1.busy - machine0.busy) / TICKS;
  const step: Step = {
    tool,
    round,
    seconds: m.seconds,
    cpuSeconds: ownSeconds,
    serverCpuSeconds: serverSeconds,
    otherCores: Math.max(0, busySeconds - ownSeconds - serverSeconds) / m.seconds,
    maxRssKiB: m.maxRssKiB,
    loadAverage: load,
  };
  return { step, stdout: m.stdout };
}

function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`check failed: ${what}`);
}

async function newBucket(ctx: Context, name: string): Promise<string> {
  await ctx.server.client.send(new CreateBucketCommand({ Bucket: name }));
  return name;
}

async function checkUploaded(ctx: Context, bucket: string, prefix: string, tool: string): Promise<void> {
  const got = await listed(ctx.server.client, bucket, prefix);
  check(
    got.count === ctx.packs.count && got.bytes === ctx.packs.bytes,
    `${tool}: s3://${bucket}/${prefix} holds ${got.count} objects, ${got.bytes} bytes; the snapshot has ${ctx.packs.count} packs, ${ctx.packs.bytes} bytes`,
  );
}

const acxUpload = (ctx: Context, bucket: string) => () =>
  measureAcx(
    [
      'backup',
      '--upload-s3',
      bucket,
      '--snapshot',
      ctx.id,
      '--backup-dir',
      ctx.repo,
      '--s3-endpoint',
      ENDPOINT,
      '--format',
      'json',
      '-q',
    ],
    ctx.env,
  );

async function round(ctx: Context, r: number, tools: Tool[]): Promise<Step[]> {
  const steps: Step[] = [];
  const buckets: string[] = [];
  const order: Tool[] = r % 2 === 1 ? tools : [...tools].reverse();
  console.error(`\n== round ${r}: ${order.join(', ')}`);
  for (const tool of order) {
    const bucket = await newBucket(ctx, `${tool}-r${r}`);
    buckets.push(bucket);
    if (tool === 'acx') {
      const { step, stdout } = await timed(ctx, tool, r, acxUpload(ctx, bucket));
      await checkUploaded(ctx, bucket, 'backups/data/', 'acx-data');
      const copy = (JSON.parse(stdout) as { copies: { packsSent: number }[] }).copies[0];
      check(
        copy?.packsSent === ctx.packs.count,
        `acx-data sent ${copy?.packsSent} packs of ${ctx.packs.count}`,
      );
      steps.push(step);
    } else if (tool === 'sdk') {
      const peer = join(root, 'bench/cloud-sdk-upload.ts');
      const { step } = await timed(ctx, tool, r, () =>
        measure(process.execPath, [peer, join(ctx.repo, 'data'), bucket, 'data'], {
          env: ctx.env,
          label: `node bench/cloud-sdk-upload.ts REPO/data ${bucket} data`,
        }),
      );
      await checkUploaded(ctx, bucket, 'data/', 'SDK Upload');
      steps.push(step);
    } else {
      const { step } = await timed(ctx, tool, r, () =>
        measure(
          'aws',
          [
            '--endpoint-url',
            ENDPOINT,
            's3',
            'cp',
            '--recursive',
            '--only-show-errors',
            join(ctx.repo, 'data'),
            `s3://${bucket}/data`,
          ],
          {
            env: ctx.env,
            label: `aws s3 cp --recursive REPO/data s3://${bucket}/data`,
          },
        ),
      );
      await checkUploaded(ctx, bucket, 'data/', 'aws s3 cp');
      steps.push(step);
    }
  }
  // (d) the same upload again: nothing to send.
  const again = await timed(ctx, 'acx-again', r, acxUpload(ctx, `acx-r${r}`));
  const copy = (JSON.parse(again.stdout) as { copies: { packsSent: number; alreadyPresent: boolean }[] })
    .copies[0];
  check(copy?.packsSent === 0 && copy.alreadyPresent, `the re-upload sent ${copy?.packsSent} packs`);
  steps.push(again.step);
  // (e) the download back into a new local repository.
  const into = join(ctx.work, `download-r${r}`);
  const download = await timed(ctx, 'acx-download', r, () =>
    measureAcx(
      [
        'backup',
        '--download',
        ctx.id,
        '--from',
        `s3://acx-r${r}/backups`,
        '--backup-dir',
        into,
        '--s3-endpoint',
        ENDPOINT,
        '--format',
        'json',
        '-q',
      ],
      ctx.env,
    ),
  );
  const got = filesUnder(join(into, 'data'));
  check(
    got.length === ctx.packs.count && got.reduce((s, f) => s + f.size, 0) === ctx.packs.bytes,
    `the download holds ${got.length} packs`,
  );
  steps.push(download.step);
  rmSync(into, { recursive: true, force: true });
  for (const bucket of buckets) rmSync(join(ctx.server.root, bucket), { recursive: true, force: true });
  return steps;
}

function awsCliVersion(): string | undefined {
  const result = spawnSync('aws', ['--version'], { encoding: 'utf8' });
  return result.status === 0 ? `${result.stdout}${result.stderr}`.trim().split('\n')[0] : undefined;
}

async function bench(argv: string[]): Promise<Results> {
  const sizeMiB = Number(option(argv, '--size-mib') ?? 1024);
  const fileCount = Number(option(argv, '--files') ?? 8);
  const rounds = Number(option(argv, '--rounds') ?? 3);
  const cpuProf = option(argv, '--cpu-prof');
  const awsCli = argv.includes('--no-aws-cli') ? undefined : awsCliVersion();
  const notes = machineNotes('none');
  const work = mkdtempSync(join(tmpdir(), 'acx-bench-cloud-'));
  const awsConfig = join(work, 'aws-config');
  writeFileSync(
    awsConfig,
    '[default]\nregion = us-east-1\ns3 =\n  max_concurrent_requests = 10\n  multipart_threshold = 8MB\n  multipart_chunksize = 8MB\n',
  );
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_ENDPOINT_URL_S3: ENDPOINT,
    AWS_CONFIG_FILE: awsConfig,
    AWS_SHARED_CREDENTIALS_FILE: join(work, 'no-credentials'),
    NODE_NO_WARNINGS: '1',
  };
  delete env.AWS_PROFILE;
  let server: Server | undefined;
  try {
    console.error(`work dir ${work}`);
    server = await startServer(work);
    const data = join(work, 'data');
    const dataBytes = writeRandomData(data, sizeMiB, fileCount);
    const repo = join(work, 'repo');
    const backup = await measureAcx(
      ['backup', '--json', '--data-dir', data, '--backup-dir', repo, '--format', 'json', '-q'],
      env,
    );
    rmSync(data, { recursive: true, force: true });
    const id = (JSON.parse(backup.stdout) as { id: string }).id;
    const packFiles = filesUnder(join(repo, 'data'));
    const packs = { count: packFiles.length, bytes: packFiles.reduce((s, f) => s + f.size, 0) };
    console.error(`  snapshot ${id}: ${packs.count} packs, ${(packs.bytes / MiB).toFixed(0)} MiB`);
    const ctx: Context = { server, env, repo, id, packs, work };
    const startup = await measureAcx(['--version'], env);
    const tools: Tool[] = awsCli ? ['acx', 'sdk', 'cli'] : ['acx', 'sdk'];
    const steps: Step[] = [];
    for (let r = 1; r <= rounds; r++) steps.push(...(await round(ctx, r, tools)));
    let profile: ProfileSummary | undefined;
    if (cpuProf) {
      mkdirSync(cpuProf, { recursive: true });
      const before = new Set(readdirSync(cpuProf));
      const bucket = await newBucket(ctx, 'acx-profile');
      const run = await measure(
        process.execPath,
        [
          '--cpu-prof',
          '--cpu-prof-dir',
          resolve(cpuProf),
          join(root, 'bin/acx-data.js'),
          'backup',
          '--upload-s3',
          bucket,
          '--snapshot',
          id,
          '--backup-dir',
          repo,
          '--s3-endpoint',
          ENDPOINT,
          '-q',
        ],
        { env, label: `node --cpu-prof acx-data backup --upload-s3 ${bucket} --snapshot ${id} …` },
      );
      // Node writes one profile per thread; thread 0 is the main one.
      const written = readdirSync(cpuProf).filter(
        (f) => /\.\d+\.0\.\d+\.cpuprofile$/.test(f) && !before.has(f),
      );
      check(written.length === 1, `one new main-thread .cpuprofile in ${cpuProf}, found ${written.length}`);
      profile = summariseProfile(readFileSync(join(cpuProf, written[0]!), 'utf8'), run.seconds);
      console.error(`  profile: ${join(resolve(cpuProf), written[0]!)}`);
    }
    notes.loadAverageAtEnd = loadAverage();
    return {
      machine: notes,
      awsCli: awsCli ?? null,
      sizeMiB,
      files: fileCount,
      dataBytes,
      snapshot: {
        id,
        packs: packs.count,
        packBytes: packs.bytes,
        backupSeconds: backup.seconds,
        backupMaxRssKiB: backup.maxRssKiB,
      },
      startupSeconds: startup.seconds,
      rounds,
      steps,
      ...(profile ? { profile } : {}),
    };
  } finally {
    if (server) await stopServer(server);
    if (argv.includes('--keep')) console.error(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const out = resolve(option(argv, '--out') ?? join(root, 'bench/results'));
  const fromJson = option(argv, '--from-json');
  const results = fromJson ? (JSON.parse(readFileSync(fromJson, 'utf8')) as Results) : await bench(argv);
  mkdirSync(out, { recursive: true });
  const base = join(out, `cloud-${results.machine.date.slice(0, 10) || today()}`);
  if (!fromJson) writeFileSync(`${base}.json`, JSON.stringify(results, null, 2));
  const report = render(results);
  writeFileSync(`${base}.md`, report);
  prettierWrite(fromJson ? [`${base}.md`] : [`${base}.md`, `${base}.json`]);
  process.stderr.write(`wrote ${base}.md\n`);
  console.log(report);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
