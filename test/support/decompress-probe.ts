/**
 * Child-process probe for test/unit/decompression-bounds.test.ts: writes a decompression bomb (zeros
 * compressed, `mib` MiB once expanded) as a snapshot file on a memory storage, then either reads it to
 * the end as verify does (`exact`: the manifest records its true size) or against a manifest recording
 * 1 MiB (`lying`), and prints one JSON line: the outcome, the bytes the reader received before the
 * refusal, and the peak growth of live ArrayBuffer memory (where stream buffers live) over the read,
 * sampled after a full GC every 64 chunks (so only what is held counts, not garbage awaiting GC).
 * Run: node --expose-gc test/support/decompress-probe.ts <zstd|gzip> <mib> <exact|lying> (Node ≥ 22.18)
 */
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { checkFile, openDecompressed, SnapshotFiles } from '../../src/repository/snapshot-files.ts';
import { MemoryStorage } from '../../src/storage/memory/memory-storage.ts';

const [kind, mibText, mode] = process.argv.slice(2) as ['zstd' | 'gzip', string, 'exact' | 'lying'];
const MIB = 1024 * 1024;
const storage = new MemoryStorage('probe');
const files = new SnapshotFiles(storage, 'full_20260101_000000', kind);
const writer = await files.createFile('neo4j/nodes.jsonl', { records: true });
const zeros = Buffer.alloc(MIB);
for (let i = 0; i < Number(mibText); i++) await writer.write(zeros);
const entry = await files.closeFile(writer);
const key = `full_20260101_000000/${writer.path}`;
const recorded = mode === 'exact' ? entry : { ...entry, contentBytes: MIB };

const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
const base = process.memoryUsage().arrayBuffers;
let peak = 0;
const sample = () => {
  gc?.();
  peak = Math.max(peak, process.memoryUsage().arrayBuffers - base);
};
let received = 0;
let chunks = 0;
let outcome: { code?: string; message: string } | undefined;
try {
  // What restore reads: the decompressed stream, bounded by the size the manifest records.
  await pipeline(
    openDecompressed(storage, key, recorded.compression, recorded.contentBytes),
    new Writable({
      highWaterMark: 64 * 1024,
      write(chunk: Buffer, _enc, callback) {
        received += chunk.length;
        if (++chunks % 64 === 0) sample();
        setImmediate(callback); // a consumer slower than memory: back-pressure must hold
      },
    }),
  );
} catch (error) {
  outcome = { code: (error as { code?: string }).code, message: (error as Error).message };
}
sample();
// What verify reports for the same file.
const problem = await checkFile(storage, key, recorded);
console.log(
  JSON.stringify({
    storedBytes: entry.bytes,
    contentBytes: entry.contentBytes,
    received,
    peakArrayBuffers: peak,
    outcome,
    problem,
  }),
);
