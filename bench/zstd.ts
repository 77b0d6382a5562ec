/**
 * zstd in `node:zlib` against `zstd-napi` (issue #15), at the level acx-data uses (3), on realistic content:
 * JSON lines of seeded DTC records and format-2 Qdrant points (768-dim `$f32` vectors), as a backup's
 * data files hold them. Two shapes, as the repository uses zstd:
 *
 * - `blobs` and `chunks`: 64 blobs of 4 MiB, and the same bytes as 8 KiB blobs (format 2's average
 *   chunk), compressed and decompressed one-shot (blob-codec.ts, index-files.ts), the decompression
 *   bounded (node:zlib `maxOutputLength`; zstd-napi the declared size, as blob-codec.ts checks it);
 * - `stream`: 512 MiB through a compressing stream into a file, then that file through a decompressing
 *   stream into a sink that discards (compression.ts: snapshot files of format 1).
 *
 * Every measurement is its own child process (`--child <library> <case>`), so peak RSS is one run's, and
 * the libraries alternate, 3 rounds; the report gives the median MB/s (MB = 10^6 bytes of uncompressed
 * content per second), the compressed size, and peak RSS. The generated content is written once to a
 * temporary folder. Run: `npx node bench/zstd.ts [--rounds 3] [--out bench/results]` (Node ≥ 22.15).
 * Without zstd-napi installed only node:zlib is measured.
 */
import { spawnSync } from 'node:child_process';
import {
  createReadStream,
  createWriteStream,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  statSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { Duplex, Writable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { loadAverage, prettierWrite, root } from './lib.ts';
import { createDecompressor } from '../src/repository/compression.ts';
import { dtcRecord } from '../src/seed/dtc.ts';
import { planCounts } from '../src/seed/plan.ts';
import { POINT_SETS } from '../src/seed/points.ts';
import { stringifyQdrantJson } from '../src/stores/qdrant/qdrant-json.ts';
import { encodeVectors } from '../src/stores/qdrant/qdrant-vector-codec.ts';

const MIB = 1024 * 1024;
const BLOBS = 64;
const BLOB_BYTES = 4 * MIB;
/** Format 2's average chunk (chunker.ts DEFAULT_CHUNKER): what blob-codec compresses most often. */
const CHUNK_BYTES = 8 * 1024;
const STREAM_BYTES = 512 * MIB;
const LEVEL = 3;
const LIBRARIES = ['zstd-napi', 'node:zlib'] as const;
type Library = (typeof LIBRARIES)[number];
const CASES = ['blobs', 'chunks', 'stream-compress', 'stream-decompress'] as const;
type Case = (typeof CASES)[number];

interface Rate {
  /** MB (10^6 bytes of uncompressed content) per second of wall clock, and per CPU second. */
  wall: number;
  cpu: number;
}

interface ChildResult {
  compress?: Rate;
  decompress?: Rate;
  storedBytes: number;
  peakRssKiB: number;
}

// ------------------------------------------------------------------------------------ the two libraries

interface Zstd {
  compress(buffer: Buffer): Buffer;
  /** Bounded as the repository bounds it: never more than `rawLength` bytes of output. */
  decompress(buffer: Buffer, rawLength: number): Buffer;
  compressor(): Transform;
  decompressor(): Duplex;
}

const NODE_LEVEL = { [zlib.constants.ZSTD_c_compressionLevel]: LEVEL };

/**
 * node:zlib as acx-data would use it (the port measured for ADR 0016): one-shot output buffers sized to
 * the whole result (the default 16 KiB pieces cost a third of the speed), bounded by `maxOutputLength`,
 * and 128 KiB stream buffers (the default 16 KiB halves the decompression speed).
 */
const nodeZlib: Zstd = {
  compress: (b) => {
    const frame = zlib.zstdCompressSync(b, {
      params: NODE_LEVEL,
      chunkSize: b.length + (b.length >> 8) + 1024,
    });
    return frame.buffer.byteLength > 2 * frame.length ? Buffer.from(frame) : frame;
  },
  decompress: (b, rawLength) =>
    zlib.zstdDecompressSync(b, {
      maxOutputLength: Math.max(1, rawLength),
      chunkSize: Math.max(64, rawLength + 1),
    }),
  compressor: () => zlib.createZstdCompress({ params: NODE_LEVEL, chunkSize: 128 * 1024 }),
  decompressor: () => zlib.createZstdDecompress({ chunkSize: 128 * 1024 }),
};

/** zstd-napi as acx-data uses it (compression.ts, blob-codec.ts). */
async function zstdNapi(): Promise<Zstd> {
  const napi = await import('zstd-napi');
  const binding = (await import('zstd-napi/binding.js')).default;
  return {
    compress: (b) => napi.compress(b, { compressionLevel: LEVEL }),
    decompress: (b, rawLength) => {
      if (binding.getFrameContentSize(b) !== rawLength) throw new Error('declared size differs');
      return napi.decompress(b);
    },
    compressor: () => new napi.CompressStream({ compressionLevel: LEVEL }),
    decompressor: () => createDecompressor('zstd'),
  };
}

// ------------------------------------------------------------------------------------ content

/** `bytes` of JSON lines: seeded DTC records, and every fourth line a Qdrant point with `$f32` vectors. */
function generateContent(bytes: number): Buffer {
  const counts = planCounts(50);
  const lines: Buffer[] = [];
  let total = 0;
  for (let i = 0; total < bytes; i++) {
    const record = dtcRecord(1, i, counts.dtc);
    const parts = [JSON.stringify(record)];
    if (i % 4 === 0) {
      const set = POINT_SETS[(i / 4) % POINT_SETS.length]!;
      const point = set.point(1, Math.floor(i / 4 / POINT_SETS.length), counts);
      parts.push(
        stringifyQdrantJson({ id: point.id, vector: encodeVectors(point.vector), payload: point.payload }),
      );
    }
    const line = Buffer.from(parts.join('\n') + '\n');
    lines.push(line);
    total += line.length;
  }
  return Buffer.concat(lines).subarray(0, bytes);
}

// ------------------------------------------------------------------------------------ one measurement

interface Timed {
  wall: number;
  cpu: number;
}

/** Wall and CPU seconds (every thread of the process: node:zlib's streams work on the thread pool). */
async function timed(run: () => unknown): Promise<Timed> {
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  await run();
  const used = process.cpuUsage(cpu);
  return { wall: Number(process.hrtime.bigint() - start) / 1e9, cpu: (used.user + used.system) / 1e6 };
}

const rates = (bytes: number, t: Timed) => ({ wall: bytes / 1e6 / t.wall, cpu: bytes / 1e6 / t.cpu });

// VmHWM, not getrusage's maxRSS: that one keeps the high-water mark of the process before exec.
const peakRssKiB = (): number =>
  Number(/VmHWM:\s*(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))![1]);

async function runChild(library: Library, kase: Case, dir: string): Promise<ChildResult> {
  const zstd = library === 'node:zlib' ? nodeZlib : await zstdNapi();
  if (kase === 'blobs' || kase === 'chunks') {
    const size = kase === 'blobs' ? BLOB_BYTES : CHUNK_BYTES;
    const content = readFileSync(join(dir, 'content')).subarray(0, BLOBS * BLOB_BYTES);
    const blobs = Array.from({ length: content.length / size }, (_, i) =>
      content.subarray(i * size, (i + 1) * size),
    );
    let packed: Buffer[] = [];
    let unpacked: Buffer[] = [];
    const compress = await timed(() => (packed = blobs.map((b) => zstd.compress(b))));
    const decompress = await timed(() => (unpacked = packed.map((p) => zstd.decompress(p, size))));
    // The other library must read these frames too (standard frames both ways).
    const other = library === 'node:zlib' ? await zstdNapi().catch(() => nodeZlib) : nodeZlib;
    for (let i = 0; i < blobs.length; i++) {
      if (!unpacked[i]!.equals(blobs[i]!) || !other.decompress(packed[i]!, size).equals(blobs[i]!))
        throw new Error(`${library}: blob ${i} does not round-trip`);
    }
    return {
      compress: rates(content.length, compress),
      decompress: rates(content.length, decompress),
      storedBytes: packed.reduce((n, p) => n + p.length, 0),
      peakRssKiB: peakRssKiB(),
    };
  }
  const stored = join(dir, `stream-${library.replace(/\W/g, '-')}.zst`);
  if (kase === 'stream-compress') {
    const took = await timed(() =>
      pipeline(createReadStream(join(dir, 'content')), zstd.compressor(), createWriteStream(stored)),
    );
    return {
      compress: rates(STREAM_BYTES, took),
      storedBytes: statSync(stored).size,
      peakRssKiB: peakRssKiB(),
    };
  }
  let contentBytes = 0;
  const counter = new Writable({
    write(chunk: Buffer, _e, callback) {
      contentBytes += chunk.length;
      callback();
    },
  });
  const took = await timed(() => pipeline(createReadStream(stored), zstd.decompressor(), counter));
  if (contentBytes !== STREAM_BYTES)
    throw new Error(`${library}: the stream decompressed to ${contentBytes} bytes`);
  return {
    decompress: rates(STREAM_BYTES, took),
    storedBytes: statSync(stored).size,
    peakRssKiB: peakRssKiB(),
  };
}

// ------------------------------------------------------------------------------------ the run and its report

const median = (values: number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const option = (name: string, fallback: string): string => {
  const at = process.argv.indexOf(name);
  return at >= 0 ? (process.argv[at + 1] ?? fallback) : fallback;
};

async function main(): Promise<void> {
  const rounds = Number(option('--rounds', '3'));
  const out = option('--out', join(root, 'bench/results'));
  const libraries: Library[] = await zstdNapi().then(
    () => [...LIBRARIES],
    () => ['node:zlib'],
  );
  const dir = mkdtempSync(join(tmpdir(), 'acx-bench-zstd-'));
  mkdirSync(out, { recursive: true });
  const loadStart = loadAverage();
  try {
    process.stderr.write(`generating ${STREAM_BYTES / MIB} MiB of content in ${dir}\n`);
    // In a child: a process's peak RSS outlives exec on Linux, so the parent stays small (see peakRssKiB).
    const generated = spawnSync(
      process.execPath,
      [import.meta.filename, '--generate', join(dir, 'content')],
      {
        stdio: 'inherit',
      },
    );
    if (generated.status !== 0) throw new Error('generating the content failed');
    const results = new Map<string, ChildResult[]>();
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? libraries : [...libraries].reverse();
      for (const kase of CASES) {
        for (const library of order) {
          const child = spawnSync(process.execPath, [import.meta.filename, '--child', library, kase, dir], {
            encoding: 'utf8',
            maxBuffer: MIB,
          });
          if (child.status !== 0) throw new Error(`${library} ${kase} failed: ${child.stderr}`);
          const result = JSON.parse(child.stdout) as ChildResult;
          process.stderr.write(`round ${round + 1} ${kase} ${library}: ${JSON.stringify(result)}\n`);
          const key = `${kase} ${library}`;
          results.set(key, [...(results.get(key) ?? []), result]);
        }
      }
    }
    const report = render(results, libraries, rounds, loadStart);
    const file = join(out, `zstd-${new Date().toISOString().slice(0, 10)}.md`);
    writeFileSync(file, report);
    writeFileSync(
      file.replace(/\.md$/, '.json'),
      JSON.stringify(Object.fromEntries(results), null, 2) + '\n',
    );
    prettierWrite([file, file.replace(/\.md$/, '.json')]);
    process.stdout.write(report);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function render(
  results: Map<string, ChildResult[]>,
  libraries: Library[],
  rounds: number,
  loadStart: string,
): string {
  const get = (kase: Case, library: Library) => results.get(`${kase} ${library}`) ?? [];
  const rows: string[] = [];
  const row = (what: string, f: (rs: ChildResult[]) => number, digits = 0) => {
    const values = libraries.map((l) => f(get(kase, l)));
    const ratio = values.length === 2 ? (values[1]! / values[0]!).toFixed(2) : '—';
    rows.push(`| ${kase} | ${what} | ${values.map((v) => v.toFixed(digits)).join(' | ')} | ${ratio} |`);
  };
  let kase: Case = 'blobs';
  const rate = (way: 'compress' | 'decompress', of: 'wall' | 'cpu') => (rs: ChildResult[]) =>
    median(rs.map((r) => r[way]![of]));
  for (kase of CASES) {
    for (const way of ['compress', 'decompress'] as const) {
      if (!get(kase, libraries[0]!)[0]?.[way]) continue;
      row(`${way}, MB/s`, rate(way, 'wall'));
      row(`${way}, MB per CPU second`, rate(way, 'cpu'));
    }
    if (kase !== 'stream-decompress') row('stored MB', (rs) => rs[0]!.storedBytes / 1e6, 1);
    if (kase.startsWith('stream')) row('peak RSS MiB', (rs) => median(rs.map((r) => r.peakRssKiB)) / 1024);
  }
  return [
    `# zstd: node:zlib against zstd-napi (${new Date().toISOString().slice(0, 10)})`,
    '',
    `\`npx node bench/zstd.ts\`, level ${LEVEL}, on ${(BLOBS * BLOB_BYTES) / MIB} MiB of JSON lines (seeded DTC records, and`,
    'every fourth line a format-2 Qdrant point with a 768-dim `$f32` vector), cut into 4 MiB blobs (`blobs`)',
    "and 8 KiB blobs (`chunks`, format 2's average chunk), each compressed and decompressed one-shot as",
    `blob-codec.ts does; and ${STREAM_BYTES / MIB} MiB through a compressing stream into a file, then that file through a`,
    'decompressing stream (`stream`, as snapshot files of format 1). zstd-napi is measured as acx-data',
    'uses it, node:zlib as the port of ADR 0016 would have (sized one-shot buffers, 128 KiB stream buffers).',
    `Median of ${rounds} rounds, the libraries alternating, each measurement its own process; MB/s counts`,
    'uncompressed bytes (10^6) per second. The ratio is node:zlib / zstd-napi (above 1: node:zlib is faster,',
    'or bigger). Every blob decoded to its content with the other library too.',
    '',
    `| case | measure | ${libraries.join(' | ')} | ratio |`,
    `| --- | --- | ${libraries.map(() => '---:').join(' | ')} | ---: |`,
    ...rows,
    '',
    `- Node ${process.version} (zstd ${process.versions.zstd ?? '?'}); zstd-napi 0.0.13 (bundled zstd 1.5.7).`,
    `- Machine: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${Math.round(totalmem() / 2 ** 30)} GiB RAM,`,
    `  shared with other work: load average ${loadStart} at start, ${loadAverage()} at end. Wall-clock rates`,
    '  move with that load; rates per CPU second much less.',
    '',
  ].join('\n');
}

if (process.argv[2] === '--generate') {
  writeFileSync(process.argv[3]!, generateContent(Number(process.argv[4] ?? STREAM_BYTES)));
} else if (process.argv[2] === '--child') {
  const [library, kase, dir] = process.argv.slice(3) as [Library, Case, string];
  process.stdout.write(JSON.stringify(await runChild(library, kase, dir)));
} else {
  await main();
}
