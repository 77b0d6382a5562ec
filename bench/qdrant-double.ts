/**
 * How fast the Qdrant test double (test/qdrant-double/) serves what a backup and a restore ask of it:
 *
 *   npx node bench/qdrant-double.ts [--points 20000] [--port 16399] [--in-flight 2] [--cpu-prof DIR] [--json FILE]
 *
 * Starts the double as its own process (`test/qdrant-double/main.ts --no-persist`), creates a 768-dim Cosine
 * collection, upserts `--points` seeded AutoCognitix points (63-bit ids, production-shaped payloads, unit
 * vectors) in batches of 256, scrolls them all back with vectors and payload at page size 256 (the requests
 * of `backup --qdrant`), then upserts what the scroll returned into a second collection (the requests of a
 * restore, two batches in flight). Per phase: wall time, points/s, bytes per point on the wire, and the
 * CPU time the double's process spent (utime + stime from /proc/<pid>/stat), which is the figure that
 * does not depend on what else the shared cores are doing. The bench's own client work (generating the
 * bodies, parsing the scrolled pages) happens outside the timed phases: they measure the double.
 *
 * With `--cpu-prof DIR` the double runs under `node --cpu-prof` and the self time of its hottest functions
 * is printed after the run. Nothing here asserts a time; a run that loses or changes a point, or that
 * the double reports an OpenAPI violation for, fails instead of reporting.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { POINT_SETS } from '../src/seed/points.ts';
import { planCounts } from '../src/seed/plan.ts';
import { parseQdrantJson, stringifyQdrantJson } from '../src/stores/qdrant/qdrant-json.ts';
import { summariseProfile } from './cloud-report.ts';
import { loadAverage, markdownTable, option, startQdrantDouble } from './lib.ts';

const argv = process.argv.slice(2);
const POINTS = Number(option(argv, '--points') ?? 20_000);
const PORT = Number(option(argv, '--port') ?? 16_399);
const IN_FLIGHT = Math.max(1, Number(option(argv, '--in-flight') ?? 2));
const CPU_PROF = option(argv, '--cpu-prof');
const JSON_OUT = option(argv, '--json');
const BATCH = 256;
const PAGE = 256;
const DIM = 768;
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

interface Phase {
  phase: string;
  points: number;
  seconds: number;
  pointsPerSecond: number;
  /** Request body bytes (upsert) or response body bytes (scroll) per point. */
  bytesPerPoint: number;
  /** CPU seconds of the double's process during the phase. */
  doubleCpuSeconds: number;
  /** Points per CPU second of the double: the speed it would have on a core of its own. */
  pointsPerDoubleCpuSecond: number;
  /** CPU seconds of this bench process (the client) during the phase. */
  clientCpuSeconds: number;
}

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`bench/qdrant-double: ${message}`);
}

/** utime + stime of a process in seconds. */
function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of proc(5), counted from the state field (3rd) here.
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

const clientCpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

const base = `http://127.0.0.1:${PORT}`;

async function call(method: string, path: string, body?: string): Promise<{ text: string; status: number }> {
  const response = await fetch(base + path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body,
  });
  const text = await response.text();
  check(response.ok, `${method} ${path} answered ${response.status}: ${text.slice(0, 500)}`);
  return { text, status: response.status };
}

/** `count` seeded points, taken from the point sets in turn (dtc, complaints, recalls, …). */
function seededPoints(count: number): { id: bigint; vector: number[]; payload: Record<string, unknown> }[] {
  const counts = planCounts(1);
  const out: { id: bigint; vector: number[]; payload: Record<string, unknown> }[] = [];
  for (let i = 0; out.length < count; i++) {
    for (const set of POINT_SETS) {
      if (out.length < count && i < set.count(counts)) out.push(set.point(42, i, counts));
    }
  }
  return out;
}

async function timed(name: string, pid: number, points: number, run: () => Promise<number>): Promise<Phase> {
  const cpu0 = cpuSecondsOf(pid);
  const client0 = clientCpu();
  const t0 = performance.now();
  const bytes = await run();
  const seconds = (performance.now() - t0) / 1000;
  const doubleCpuSeconds = cpuSecondsOf(pid) - cpu0;
  const phase: Phase = {
    phase: name,
    points,
    seconds,
    pointsPerSecond: points / seconds,
    bytesPerPoint: bytes / points,
    doubleCpuSeconds,
    pointsPerDoubleCpuSecond: points / doubleCpuSeconds,
    clientCpuSeconds: clientCpu() - client0,
  };
  console.error(
    `${name}: ${seconds.toFixed(2)} s, ${phase.pointsPerSecond.toFixed(0)} points/s, ` +
      `${phase.bytesPerPoint.toFixed(0)} B/point, double CPU ${doubleCpuSeconds.toFixed(2)} s`,
  );
  return phase;
}

/** Sends the bodies as upserts with `wait=true`, `IN_FLIGHT` at a time; the bytes sent. */
async function upsertAll(collection: string, bodies: string[]): Promise<number> {
  let bytes = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < bodies.length) {
      const body = bodies[next++]!;
      bytes += Buffer.byteLength(body);
      await call('PUT', `/collections/${collection}/points?wait=true`, body);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return bytes;
}

function batches<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'qdrant-double-bench-'));
  console.error(`generating ${POINTS} seeded points…`);
  const seeded = seededPoints(POINTS);
  const firstBodies = batches(seeded, BATCH).map((b) => stringifyQdrantJson({ points: b }));
  const loadStart = loadAverage();
  const child = await startQdrantDouble(
    PORT,
    dataDir,
    CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', CPU_PROF] : [],
  );
  const pid = child.pid!;
  const phases: Phase[] = [];
  try {
    const collection = { vectors: { size: DIM, distance: 'Cosine' } };
    await call('PUT', '/collections/bench_a', JSON.stringify(collection));
    await call('PUT', '/collections/bench_b', JSON.stringify(collection));

    phases.push(await timed('upsert', pid, POINTS, () => upsertAll('bench_a', firstBodies)));

    // The client keeps each page as text and reads only `next_page_offset` (from the end of the page),
    // so that the double, not the client's JSON parsing, is what this phase measures.
    const pages: string[] = [];
    phases.push(
      await timed('scroll', pid, POINTS, async () => {
        let bytes = 0;
        let offset: string | null = null;
        do {
          const body = `{"limit":${PAGE},"with_payload":true,"with_vector":true${offset === null ? '' : `,"offset":${offset}`}}`;
          const { text } = await call('POST', '/collections/bench_a/points/scroll', body);
          bytes += Buffer.byteLength(text);
          const at = text.lastIndexOf('"next_page_offset":');
          const next = /^"next_page_offset":(null|\d+|"[^"]*")\}/.exec(text.slice(at));
          check(
            text.startsWith('{"result":{"points":[') && next !== null,
            `unexpected page: ${text.slice(0, 200)}`,
          );
          pages.push(text.slice('{"result":{"points":'.length, at - 1));
          offset = next[1] === 'null' ? null : next[1]!;
        } while (offset !== null);
        return bytes;
      }),
    );
    // A restore sends back what the backup read: the points of each page, as they came.
    const againBodies = pages.map((points) => `{"points":${points}}`);
    const scrolled = pages.flatMap(
      (points) => parseQdrantJson(points) as { id: unknown; vector: unknown; payload: unknown }[],
    );
    check(scrolled.length === POINTS, `the scroll returned ${scrolled.length} points, not ${POINTS}`);
    phases.push(
      await timed('upsert of the scrolled points', pid, POINTS, () => upsertAll('bench_b', againBodies)),
    );

    // Nothing lost or changed: the counts, and a sample of points read back from the copy bit for bit.
    for (const name of ['bench_a', 'bench_b']) {
      const info = parseQdrantJson((await call('GET', `/collections/${name}`)).text) as {
        result: { points_count: number };
      };
      check(info.result.points_count === POINTS, `${name} holds ${info.result.points_count} points`);
    }
    const sample = scrolled.filter((_, i) => i % 997 === 0);
    const back = parseQdrantJson(
      (
        await call(
          'POST',
          '/collections/bench_b/points',
          stringifyQdrantJson({ ids: sample.map((p) => p.id), with_payload: true, with_vector: true }),
        )
      ).text,
    ) as { result: { id: unknown; vector: number[]; payload: unknown }[] };
    const f32 = (v: number[]): string => Buffer.from(Float32Array.from(v).buffer).toString('hex');
    check(back.result.length === sample.length, `retrieved ${back.result.length} of ${sample.length} points`);
    back.result.forEach((p, i) => {
      const want = sample[i]!;
      check(p.id === want.id, `point ${String(want.id)} came back as ${String(p.id)}`);
      check(f32(p.vector) === f32(want.vector as number[]), `point ${String(p.id)}: vector changed`);
      check(
        JSON.stringify(p.payload) === JSON.stringify(want.payload),
        `point ${String(p.id)}: payload changed`,
      );
    });
    const violations = JSON.parse((await call('GET', '/__double/violations')).text) as {
      violations: unknown[];
    };
    check(violations.violations.length === 0, `OpenAPI violations: ${JSON.stringify(violations.violations)}`);
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    rmSync(dataDir, { recursive: true, force: true });
  }

  const rows = phases.map((p) => [
    p.phase,
    String(p.points),
    p.seconds.toFixed(2),
    p.pointsPerSecond.toFixed(0),
    p.bytesPerPoint.toFixed(0),
    p.doubleCpuSeconds.toFixed(2),
    p.pointsPerDoubleCpuSecond.toFixed(0),
    p.clientCpuSeconds.toFixed(2),
  ]);
  console.log(
    markdownTable(
      [
        'phase',
        'points',
        'wall s',
        'points/s',
        'bytes/point',
        'double CPU s',
        'points/CPU s',
        'client CPU s',
      ],
      rows,
    ),
  );
  console.log(`\nNode ${process.version}; load average ${loadStart} at start, ${loadAverage()} at end.`);
  if (JSON_OUT) writeFileSync(JSON_OUT, JSON.stringify({ node: process.version, phases }, null, 2) + '\n');

  if (CPU_PROF) {
    const file = readdirSync(CPU_PROF)
      .filter((f) => f.endsWith('.cpuprofile'))
      .map((f) => join(CPU_PROF, f))
      .sort()
      .at(-1);
    check(file !== undefined, `no .cpuprofile in ${CPU_PROF}`);
    const wall = phases.reduce((s, p) => s + p.seconds, 0);
    const summary = summariseProfile(readFileSync(file, 'utf8'), wall, 25);
    console.log(
      `\nProfile ${file}: ${(summary.sampledMs / 1000).toFixed(1)} s sampled. Self time by function:`,
    );
    console.log(
      markdownTable(
        ['function', 'self ms', 'share'],
        summary.functions.map((f) => [
          `\`${f.name.replace(/file:\/\/\S*\/test\//, 'test/')}\``,
          f.ms.toFixed(0),
          `${((100 * f.ms) / summary.sampledMs).toFixed(1)} %`,
        ]),
      ),
    );
  }
}

await main();
