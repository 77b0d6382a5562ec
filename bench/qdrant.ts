/**
 * Qdrant backup and restore against a bare scroll / upsert loop at the same page size, on the same server
 * (issue #15: within 1.3× of the bare loop, ≥ 10 000 points per second of acx-data's own CPU, peak RSS
 * ≤ 300 MiB):
 *
 *   npx node bench/qdrant.ts [--points 35000] [--rounds 3] [--port 16401] [--qdrant-url URL]
 *                            [--json FILE] [--before FILE] [--md FILE] [--cpu-prof DIR]
 *
 * Starts the Qdrant test double as its own process (`--no-persist`), or uses the server at `--qdrant-url`
 * (a real Qdrant: **its collections are deleted**). Seeds one `autocognitix` collection with `--points`
 * seeded AutoCognitix points (63-bit ids, production-shaped payloads, 768-dim vectors), then runs rounds
 * that alternate which side goes first:
 *
 * - (a) `acx-data backup --qdrant --backup-dir D --format json -q` (a fresh repository per round, format 2,
 *   binary vectors) vs a bare scroll loop (`--bare-scroll`: fetch, `POST …/points/scroll` with vectors and
 *   payload at the backup's page size, following `next_page_offset`, each page `JSON.parse`d and dropped);
 * - (b) `acx-data backup --restore ID --target qdrant` into an emptied server vs a bare upsert loop
 *   (`--bare-upsert`: `PUT …/points?wait=true` of the same points from an NDJSON file read line by line,
 *   at the restore's batch size and requests in flight), into a collection created as the restore does.
 *
 * Every process runs under `/usr/bin/time -v` (wall, user+sys CPU, peak RSS). After each restore the
 * server's Qdrant fingerprint (qdrant-fingerprint.ts: configuration, count and a hash of every point's id,
 * payload and float32 vector bits) must equal the seeded one, and the points file's content SHA-256
 * (from the manifest) must be the same in every round: a run that loses, changes or
 * writes a point differently fails instead of reporting. `--before FILE` (the `--json` of an earlier run)
 * adds its figures beside this run's; `--cpu-prof DIR` profiles one extra backup and restore afterwards.
 */
import { spawnSync } from 'node:child_process';
import {
  createReadStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
} from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { planCounts } from '../src/seed/plan.ts';
import { POINT_SETS } from '../src/seed/points.ts';
import { QdrantClient, type QdrantPoint } from '../src/stores/qdrant/qdrant-client.ts';
import { QDRANT_PAGE_SIZE } from '../src/stores/qdrant/qdrant-backup.ts';
import { QDRANT_UPSERT_BATCH, QDRANT_UPSERTS_IN_FLIGHT } from '../src/stores/qdrant/qdrant-restore.ts';
import { fingerprintQdrant } from '../src/stores/qdrant/qdrant-fingerprint.ts';
import { stringifyQdrantJson } from '../src/stores/qdrant/qdrant-json.ts';
import { applyQdrantSchema } from '../src/stores/qdrant/qdrant-schema.ts';
import { summariseProfile } from './cloud-report.ts';
import {
  acxBin,
  loadAverage,
  markdownTable,
  measure,
  option,
  prettierWrite,
  root,
  today,
  type Measured,
  startQdrantDouble,
} from './lib.ts';

const COLLECTION = 'autocognitix';
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
const argv = process.argv.slice(2);

// ------------------------------------------------------------------------------------ the bare loops

/** The bare scroll loop: every page fetched, parsed and dropped; prints the number of points. */
async function bareScroll(url: string, collection: string, pageSize: number): Promise<void> {
  let offset: string | null = null;
  let points = 0;
  do {
    const body = `{"limit":${pageSize},"with_payload":true,"with_vector":true${offset === null ? '' : `,"offset":${offset}`}}`;
    const response = await fetch(`${url}/collections/${collection}/points/scroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`scroll answered ${response.status}: ${text.slice(0, 300)}`);
    const page = JSON.parse(text) as { result: { points: unknown[] } };
    points += page.result.points.length;
    // JSON.parse rounds a 63-bit id: the offset is taken from the text, as written.
    const next = /"next_page_offset":(null|\d+|"[^"]*")/.exec(
      text.slice(text.lastIndexOf('"next_page_offset"')),
    );
    if (!next) throw new Error(`no next_page_offset in ${text.slice(-200)}`);
    offset = next[1] === 'null' ? null : next[1]!;
  } while (offset !== null);
  console.log(points);
}

/** The bare upsert loop: NDJSON lines in batches, `inFlight` requests at a time; prints the number of points. */
async function bareUpsert(
  url: string,
  collection: string,
  file: string,
  batchSize: number,
  inFlight: number,
): Promise<void> {
  const pending = new Set<Promise<void>>();
  let points = 0;
  const send = async (lines: string[]): Promise<void> => {
    const request = fetch(`${url}/collections/${collection}/points?wait=true`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: `{"points":[${lines.join(',')}]}`,
    }).then(async (response) => {
      const text = await response.text();
      if (!response.ok) throw new Error(`upsert answered ${response.status}: ${text.slice(0, 300)}`);
      points += lines.length;
    });
    pending.add(request);
    void request.finally(() => pending.delete(request)).catch(() => undefined);
    while (pending.size >= inFlight) await Promise.race(pending);
  };
  let batch: string[] = [];
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    if (line === '') continue;
    batch.push(line);
    if (batch.length >= batchSize) {
      await send(batch);
      batch = [];
    }
  }
  if (batch.length > 0) await send(batch);
  await Promise.all(pending);
  console.log(points);
}

// ------------------------------------------------------------------------------------ the server

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`bench/qdrant: ${message}`);
}

/** utime + stime of a process in seconds (0 when there is none to read: a remote server). */
function cpuSecondsOf(pid: number | undefined): number {
  if (pid === undefined) return 0;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

async function emptyServer(client: QdrantClient): Promise<void> {
  for (const alias of await client.listAliases())
    await client.updateAliases([{ delete_alias: { alias_name: alias.alias_name } }]);
  for (const name of await client.listCollections()) await client.deleteCollection(name);
}

/** `count` seeded points, taken from the point sets in turn (dtc, complaints, recalls, …). */
function* seededPoints(count: number): Generator<QdrantPoint> {
  const counts = planCounts(Math.max(1, Math.ceil(count / 35_000)));
  let n = 0;
  for (let i = 0; n < count; i++) {
    let any = false;
    for (const set of POINT_SETS) {
      if (n < count && i < set.count(counts)) {
        any = true;
        n++;
        yield set.point(42, i, counts) as QdrantPoint;
      }
    }
    check(any, `the seed plan holds fewer than ${count} points`);
  }
}

async function seed(client: QdrantClient, count: number): Promise<void> {
  await applyQdrantSchema(client, COLLECTION);
  let batch: QdrantPoint[] = [];
  let pending: Promise<void> | undefined;
  for (const point of seededPoints(count)) {
    batch.push(point);
    if (batch.length >= 256) {
      await pending;
      pending = client.upsert(COLLECTION, batch);
      batch = [];
    }
  }
  await pending;
  if (batch.length > 0) await client.upsert(COLLECTION, batch);
}

/** The collection's points as NDJSON (`{"id","vector","payload"}`), the bare upsert loop's input. */
async function writeNdjson(client: QdrantClient, file: string): Promise<number> {
  const parts: string[] = [];
  let n = 0;
  for await (const page of client.scrollAll(COLLECTION, { pageSize: QDRANT_PAGE_SIZE, withVector: true })) {
    for (const p of page) parts.push(stringifyQdrantJson({ id: p.id, vector: p.vector, payload: p.payload }));
    n += page.length;
  }
  await writeFile(file, parts.join('\n') + '\n');
  return n;
}

// ------------------------------------------------------------------------------------ the rounds

interface Run {
  wall: number;
  cpu: number;
  rssMiB: number;
  /** CPU seconds of the server process meanwhile (the double only). */
  serverCpu: number;
}

interface Round {
  backup: Run;
  scroll: Run;
  restore: Run;
  upsert: Run;
}

interface Results {
  node: string;
  points: number;
  pageSize: number;
  batchSize: number;
  inFlight: number;
  server: string;
  loadAtStart: string;
  loadAtEnd: string;
  rounds: Round[];
  /** sha256 of the points file's content (format 2, the manifest's): equal across runs means byte-identical. */
  pointsFileDigest: string;
  pointsContentBytes: number;
  storedBytes: number;
  profile?: { backup: string[][]; restore: string[][] };
}

function runOf(m: Measured, serverCpu: number): Run {
  return { wall: m.seconds, cpu: m.userSeconds + m.systemSeconds, rssMiB: m.maxRssKiB / 1024, serverCpu };
}

async function timed(pid: number | undefined, run: () => Promise<Measured>): Promise<Run> {
  const before = cpuSecondsOf(pid);
  const measured = await run();
  return runOf(measured, cpuSecondsOf(pid) - before);
}

const stats = (xs: number[]): { median: number; min: number; max: number } => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return { median: s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2, min: s[0]!, max: s.at(-1)! };
};

function manifestOf(
  dir: string,
  id: string,
): {
  files: Record<string, { sha256: string; contentBytes?: number; bytes: number }>;
} {
  return JSON.parse(readFileSync(join(dir, id, 'manifest.json'), 'utf8'));
}

async function main(): Promise<void> {
  const points = Number(option(argv, '--points') ?? 35_000);
  const rounds = Number(option(argv, '--rounds') ?? 3);
  const port = Number(option(argv, '--port') ?? 16_401);
  const remote = option(argv, '--qdrant-url');
  const jsonOut = option(argv, '--json');
  const beforeFile = option(argv, '--before');
  const mdOut = option(argv, '--md') ?? join(root, `bench/results/qdrant-${today()}.md`);
  const cpuProf = option(argv, '--cpu-prof');
  const work = mkdtempSync(join(tmpdir(), 'acx-bench-qdrant-'));
  const loadAtStart = loadAverage();
  const double = remote ? undefined : await startQdrantDouble(port, join(work, 'double'));
  const url = remote ?? `http://127.0.0.1:${port}`;
  const pid = double?.pid;
  const client = new QdrantClient({ url, apiKey: process.env.QDRANT_API_KEY });
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    QDRANT_URL: url,
    ...(remote && process.env.QDRANT_API_KEY ? { QDRANT_API_KEY: process.env.QDRANT_API_KEY } : {}),
    NO_COLOR: '1',
  };
  const acx = (args: string[], profileDir?: string): Promise<Measured> =>
    measure(
      process.execPath,
      [...(profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []), acxBin, ...args],
      { env, label: `acx-data ${args.join(' ')}` },
    );
  const self = (args: string[]): Promise<Measured> =>
    measure(process.execPath, [join(root, 'bench/qdrant.ts'), ...args], { env, label: `bare ${args[0]}` });
  const ndjson = join(work, 'points.ndjson');
  const results: Results = {
    node: process.version,
    points,
    pageSize: QDRANT_PAGE_SIZE,
    batchSize: QDRANT_UPSERT_BATCH,
    inFlight: QDRANT_UPSERTS_IN_FLIGHT,
    server: remote ? `${(await client.version()) || 'Qdrant'} at ${remote}` : 'the Qdrant test double',
    loadAtStart,
    loadAtEnd: '',
    rounds: [],
    pointsFileDigest: '',
    pointsContentBytes: 0,
    storedBytes: 0,
  };
  try {
    await emptyServer(client);
    console.error(`seeding ${points} points…`);
    await seed(client, points);
    check((await client.count(COLLECTION)) === points, 'the seeded collection holds another count');
    check((await writeNdjson(client, ndjson)) === points, 'the NDJSON file holds another count');
    const seeded = await fingerprintQdrant(client);
    const bareUpsertArgs = [
      '--bare-upsert',
      url,
      COLLECTION,
      ndjson,
      String(QDRANT_UPSERT_BATCH),
      String(QDRANT_UPSERTS_IN_FLIGHT),
    ];
    const checkRestored = async (what: string): Promise<void> => {
      const now = await fingerprintQdrant(client);
      check(
        JSON.stringify(now) === JSON.stringify(seeded),
        `${what}: the server's fingerprint differs from the seeded one:\n${JSON.stringify(now)}\n${JSON.stringify(seeded)}`,
      );
    };

    for (let r = 0; r < rounds; r++) {
      console.error(`round ${r + 1} of ${rounds}`);
      const dir = join(work, `repo-${r}`);
      let id = '';
      const backupRun = async (): Promise<Run> =>
        timed(pid, async () => {
          const m = await acx(['backup', '--qdrant', '--backup-dir', dir, '--format', 'json', '-q']);
          id = (JSON.parse(m.stdout) as { id: string }).id;
          return m;
        });
      const scrollRun = async (): Promise<Run> =>
        timed(pid, async () => {
          const m = await self(['--bare-scroll', url, COLLECTION, String(QDRANT_PAGE_SIZE)]);
          check(Number(m.stdout.trim()) === points, `the bare scroll read ${m.stdout.trim()} points`);
          return m;
        });
      const acxFirst = r % 2 === 0;
      const [backup, scroll] = acxFirst
        ? [await backupRun(), await scrollRun()]
        : ([await scrollRun(), await backupRun()].reverse() as [Run, Run]);
      const manifest = manifestOf(dir, id);
      const file = manifest.files[`qdrant/${COLLECTION}/points.jsonl`]!;
      const digest = file.sha256;
      check(
        r === 0 || digest === results.pointsFileDigest,
        `round ${r + 1} wrote another points file than round 1`,
      );
      results.pointsFileDigest = digest;
      results.pointsContentBytes = file.contentBytes ?? 0;
      results.storedBytes = file.bytes;

      const restoreRun = async (): Promise<Run> => {
        await emptyServer(client);
        const run = await timed(pid, () =>
          acx([
            'backup',
            '--restore',
            id,
            '--target',
            'qdrant',
            '--backup-dir',
            dir,
            '--format',
            'json',
            '-q',
          ]),
        );
        await checkRestored(`round ${r + 1}, acx-data restore`);
        return run;
      };
      const upsertRun = async (): Promise<Run> => {
        await emptyServer(client);
        await applyQdrantSchema(client, COLLECTION);
        const run = await timed(pid, async () => {
          const m = await self(bareUpsertArgs);
          check(Number(m.stdout.trim()) === points, `the bare upsert wrote ${m.stdout.trim()} points`);
          return m;
        });
        check((await client.count(COLLECTION)) === points, 'the bare upsert left another count');
        return run;
      };
      // The server holds the seeded points after either order (the bare loop upserts the same points).
      const [restore, upsert] = acxFirst
        ? [await restoreRun(), await upsertRun()]
        : ([await upsertRun(), await restoreRun()].reverse() as [Run, Run]);
      results.rounds.push({ backup, scroll, restore, upsert });
      rmSync(dir, { recursive: true, force: true });
    }

    if (cpuProf) {
      mkdirSync(join(cpuProf, 'backup'), { recursive: true });
      mkdirSync(join(cpuProf, 'restore'), { recursive: true });
      const dir = join(work, 'repo-profiled');
      const m = await acx(
        ['backup', '--qdrant', '--backup-dir', dir, '--format', 'json', '-q'],
        join(cpuProf, 'backup'),
      );
      const id = (JSON.parse(m.stdout) as { id: string }).id;
      await emptyServer(client);
      const r = await acx(
        ['backup', '--restore', id, '--target', 'qdrant', '--backup-dir', dir, '--format', 'json', '-q'],
        join(cpuProf, 'restore'),
      );
      await checkRestored('the profiled restore');
      const top = (sub: string, wall: number): string[][] => {
        const files = readdirSync(join(cpuProf, sub)).filter((f) => f.endsWith('.cpuprofile'));
        const summary = summariseProfile(
          readFileSync(join(cpuProf, sub, files.sort().at(-1)!), 'utf8'),
          wall,
          15,
        );
        return summary.functions.map((f) => [
          `\`${f.name}\``,
          f.ms.toFixed(0),
          `${((100 * f.ms) / summary.sampledMs).toFixed(1)} %`,
        ]);
      };
      results.profile = { backup: top('backup', m.seconds), restore: top('restore', r.seconds) };
    }
  } finally {
    if (double) {
      double.kill('SIGTERM');
      await new Promise((resolve) => double.once('exit', resolve));
    }
    rmSync(work, { recursive: true, force: true });
  }
  results.loadAtEnd = loadAverage();
  if (jsonOut) await writeFile(jsonOut, JSON.stringify(results, null, 2) + '\n');
  const before =
    beforeFile && existsSync(beforeFile)
      ? (JSON.parse(readFileSync(beforeFile, 'utf8')) as Results)
      : undefined;
  await writeFile(mdOut, report(results, before));
  prettierWrite([mdOut]);
  console.error(`wrote ${mdOut}`);
}

// ------------------------------------------------------------------------------------ the report

const f2 = (x: number): string => x.toFixed(2);
const k = (x: number): string => Math.round(x).toLocaleString('en-US');

function summary(res: Results): string[][] {
  const rows: string[][] = [];
  const pair = (name: string, acx: (r: Round) => Run, bare: (r: Round) => Run, bareName: string): void => {
    const wallRatio = stats(res.rounds.map((r) => acx(r).wall / bare(r).wall));
    const cpuRatio = stats(res.rounds.map((r) => acx(r).cpu / bare(r).cpu));
    const perCpu = stats(res.rounds.map((r) => res.points / acx(r).cpu));
    const barePerCpu = stats(res.rounds.map((r) => res.points / bare(r).cpu));
    const wall = stats(res.rounds.map((r) => acx(r).wall));
    const bareWall = stats(res.rounds.map((r) => bare(r).wall));
    const server = stats(res.rounds.map((r) => acx(r).serverCpu));
    const bareServer = stats(res.rounds.map((r) => bare(r).serverCpu));
    const rss = Math.max(...res.rounds.map((r) => acx(r).rssMiB));
    const bareRss = Math.max(...res.rounds.map((r) => bare(r).rssMiB));
    const ratio = (s: { median: number; min: number; max: number }) =>
      `${f2(s.median)} (${f2(s.min)}–${f2(s.max)})`;
    rows.push([
      name,
      bareName,
      `${f2(wall.median)} / ${f2(bareWall.median)}`,
      ratio(wallRatio),
      ratio(cpuRatio),
      `${k(perCpu.median)} (${k(perCpu.min)}–${k(perCpu.max)})`,
      k(barePerCpu.median),
      `${f2(server.median)} / ${f2(bareServer.median)}`,
      `${rss.toFixed(0)} / ${bareRss.toFixed(0)}`,
    ]);
  };
  pair(
    'backup --qdrant',
    (r) => r.backup,
    (r) => r.scroll,
    'bare scroll',
  );
  pair(
    'restore --target qdrant',
    (r) => r.restore,
    (r) => r.upsert,
    'bare upsert',
  );
  return rows;
}

const HEADER = [
  'acx-data',
  'vs',
  'wall s (median) acx / bare',
  'wall ratio median (min–max)',
  'CPU ratio median (min–max)',
  'acx points per CPU s median (min–max)',
  'bare points per CPU s',
  'server CPU s acx / bare',
  'peak RSS MiB acx / bare',
];

function report(res: Results, before?: Results): string {
  const lines = [
    `# Qdrant backup and restore vs a bare scroll / upsert loop — ${today()}`,
    '',
    `\`npx node bench/qdrant.ts --points ${res.points} --rounds ${res.rounds.length}\` against ${res.server}; ` +
      `Node ${res.node}; page size ${res.pageSize}, upsert batch ${res.batchSize}, ${res.inFlight} upserts in flight ` +
      '(the same for acx-data and the bare loops). Load average ' +
      `${res.loadAtStart} at start, ${res.loadAtEnd} at end, on 2 shared cores: wall times are noisy and, on ` +
      "the double, bound by the double's own CPU; acx-data's CPU (user+sys of its process, `/usr/bin/time -v`) " +
      'is the figure that does not depend on the server.',
    '',
    markdownTable(HEADER, summary(res)),
    '',
    `- Points file (format 2, binary vectors): ${k(res.pointsContentBytes)} bytes of JSON Lines, ` +
      `${k(res.storedBytes)} stored (zstd); its content's SHA-256 \`${res.pointsFileDigest.slice(0, 16)}…\`, ` +
      'the same in every round.',
    '- Every acx-data restore left the server with the seeded fingerprint (configuration, point count, every ' +
      "point's id, payload and float32 vector bits); every bare upsert with the seeded count.",
  ];
  if (before) {
    lines.push(
      '',
      `## Before (${before.node}, load ${before.loadAtStart} → ${before.loadAtEnd}, ${before.rounds.length} rounds of ${before.points} points)`,
      '',
      markdownTable(HEADER, summary(before)),
      '',
      `- Points file: ${k(before.pointsContentBytes)} bytes of JSON Lines, ${k(before.storedBytes)} stored; ` +
        `content SHA-256 \`${before.pointsFileDigest.slice(0, 16)}…\`` +
        (before.pointsFileDigest === res.pointsFileDigest && before.points === res.points
          ? ': **byte-identical** to the run above.'
          : before.points === res.points
            ? ': **differs** from the run above.'
            : ' (another point count).'),
    );
  }
  lines.push('', '## Rounds', '');
  lines.push(
    markdownTable(
      ['round', 'step', 'wall s', 'CPU s', 'points per CPU s', 'peak RSS MiB', 'server CPU s'],
      res.rounds.flatMap((r, i) =>
        (
          [
            ['backup', r.backup],
            ['bare scroll', r.scroll],
            ['restore', r.restore],
            ['bare upsert', r.upsert],
          ] as const
        ).map(([step, run]) => [
          String(i + 1),
          step,
          f2(run.wall),
          f2(run.cpu),
          k(res.points / run.cpu),
          run.rssMiB.toFixed(0),
          f2(run.serverCpu),
        ]),
      ),
    ),
  );
  if (res.profile) {
    lines.push('', '## Profile of one more backup and restore (self time, `node --cpu-prof`)', '');
    lines.push(markdownTable(['backup: function', 'ms', 'share'], res.profile.backup), '');
    lines.push(markdownTable(['restore: function', 'ms', 'share'], res.profile.restore));
  }
  return lines.join('\n') + '\n';
}

if (argv[0] === '--bare-scroll') await bareScroll(argv[1]!, argv[2]!, Number(argv[3]));
else if (argv[0] === '--bare-upsert')
  await bareUpsert(argv[1]!, argv[2]!, argv[3]!, Number(argv[4]), Number(argv[5]));
else await main();
