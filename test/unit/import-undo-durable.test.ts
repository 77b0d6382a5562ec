/**
 * The Qdrant import's undo file (design §9 "Interrupted imports") must be on disk before the change it
 * undoes reaches Qdrant: after a power loss, a batch Qdrant kept but the undo file does not know could
 * never be rolled back. What is "on disk" cannot be seen from another file descriptor (the page cache
 * serves both), so the test watches the real CLI's system calls with strace: every write into the undo
 * file must be followed by an fsync/fdatasync of it — and the undo file's creation by an fsync of its
 * folder — before the next request that changes Qdrant (`PUT /collections/…`) is sent. Needs strace
 * and ptrace (root in CI); the Qdrant double runs in-process.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startQdrantDouble, type QdrantDouble } from '../qdrant-double/server.ts';

const BIN = fileURLToPath(new URL('../../bin/acx-data.js', import.meta.url));
const UNDO = 'qdrant-undo.ndjson';
const BATCH = 10;
const POINTS = 35;

const hasStrace = (() => {
  try {
    execFileSync('strace', ['-f', '-qq', '-e', 'trace=none', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

let qdrant: QdrantDouble;
let work: string;

/** A `qdrant_vectors.json.gz` of one collection Qdrant does not have yet, with POINTS points. */
async function vectorsFile(collection: string): Promise<string> {
  const points = Array.from({ length: POINTS }, (_, i) => ({
    id: i + 1,
    vector: [1, i / POINTS, 0.5, 0.25],
    payload: { code: `P${String(i).padStart(4, '0')}` },
  }));
  const document = {
    format: 'acx-data-vectors',
    version: 1,
    collections: {
      [collection]: {
        config: { config: { params: { vectors: { size: 4, distance: 'Cosine' } } } },
        vector_size: 4,
        distance: 'Cosine',
        payload_schema: {},
        points,
        points_count: POINTS,
      },
    },
  };
  const file = join(work, `${collection}.json.gz`);
  await writeFile(file, gzipSync(JSON.stringify(document)));
  return file;
}

/** Runs the CLI under strace; resolves with its exit code and the trace's lines. */
function straced(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stderr: string; trace: string[] }> {
  const out = join(work, `trace-${Date.now()}.txt`);
  const syscalls = 'trace=openat,open,creat,write,writev,pwrite64,fsync,fdatasync,close';
  return new Promise((resolve, reject) => {
    const child = spawn(
      'strace',
      ['-f', '-qq', '-s', '64', '-e', syscalls, '-o', out, process.execPath, BIN, ...args],
      {
        env,
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      readFile(out, 'utf8').then((text) => resolve({ code, stderr, trace: text.split('\n') }), reject);
    });
  });
}

/**
 * Reads the trace in order and returns every request that changed Qdrant while the undo file held lines
 * (or a new directory entry) not yet synced. Also counts what it saw.
 */
function unsyncedChanges(trace: string[]) {
  const undoFds = new Set<string>();
  const folderFds = new Set<string>();
  let folder: string | undefined;
  let dirtyData = false;
  let newEntry = false;
  let pendingSync: 'data' | 'entry' | undefined;
  const problems: string[] = [];
  const seen = { undoWrites: 0, undoSyncs: 0, folderSyncs: 0, changes: 0 };
  const synced = (kind: 'data' | 'entry') => (kind === 'data' ? (dirtyData = false) : (newEntry = false));
  // "<pid> name(args) = ret", "<pid> name(args <unfinished ...>", "<pid> <... name resumed>…) = ret"
  for (const line of trace) {
    const resumed = /^\d+\s+<\.\.\. (f(?:data)?sync) resumed>.*=\s+(-?\d+)/.exec(line);
    if (resumed) {
      // A sync counts once it has returned.
      if (resumed[2] === '0' && pendingSync) synced(pendingSync);
      pendingSync = undefined;
      continue;
    }
    const call = /^\d+\s+(\w+)\((\d+)?(.*?)(?:\)\s+=\s+(-?\d+)|<unfinished \.\.\.>)/.exec(line);
    if (!call) continue;
    const [, name, fd, rest = '', ret] = call;
    if ((name === 'openat' || name === 'open') && ret !== undefined && Number(ret) >= 0) {
      const path = /"([^"]*)"/.exec(rest)?.[1] ?? '';
      undoFds.delete(ret);
      folderFds.delete(ret);
      if (path.endsWith(`/${UNDO}`)) {
        undoFds.add(ret);
        // The first open creates the file: its directory entry must be synced too.
        if (folder === undefined) {
          folder = path.slice(0, -UNDO.length - 1);
          newEntry = true;
        }
      } else if (folder !== undefined && path === folder) folderFds.add(ret);
    } else if (name === 'close' && fd) {
      undoFds.delete(fd);
      folderFds.delete(fd);
    } else if ((name === 'write' || name === 'writev' || name === 'pwrite64') && fd) {
      if (undoFds.has(fd)) {
        dirtyData = true;
        seen.undoWrites++;
      } else if (/^, (?:\[\{iov_base=)?"PUT \/collections\//.test(rest)) {
        seen.changes++;
        const request = /"(PUT [^ "\\]*)/.exec(rest)?.[1];
        if (dirtyData) problems.push(`${request}: sent while the undo file held unsynced lines`);
        if (newEntry) problems.push(`${request}: sent before the undo file's folder was synced`);
      }
    } else if ((name === 'fsync' || name === 'fdatasync') && fd) {
      const kind = undoFds.has(fd) ? 'data' : folderFds.has(fd) ? 'entry' : undefined;
      if (kind === 'data') seen.undoSyncs++;
      if (kind === 'entry') seen.folderSyncs++;
      if (kind && ret === '0') synced(kind);
      else if (kind && ret === undefined) pendingSync = kind;
    }
  }
  return { problems, seen };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'acx-undo-durable-'));
  qdrant = await startQdrantDouble({ dataDir: join(work, 'qdrant') });
});

afterAll(async () => {
  await qdrant?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe.skipIf(!hasStrace)('the Qdrant import’s undo file is durable before each batch is written', () => {
  it('each undo record is fsync’d (and the file’s folder) before the request it undoes', async () => {
    const stateDir = join(work, 'state');
    const file = await vectorsFile('acx_durable');
    const env = {
      ...process.env,
      QDRANT_URL: qdrant.url,
      ACX_STATE_DIR: stateDir,
      DATABASE_URL: 'postgresql://acx:x@127.0.0.1:1/none',
      NEO4J_URI: 'bolt://127.0.0.1:1',
    };
    const run = await straced(['import', '--vectors', file, '--batch-size', String(BATCH)], env);
    expect(run.code, run.stderr).toBe(0);
    const { problems, seen } = unsyncedChanges(run.trace);
    // The collection's creation and every batch changed Qdrant, each after its undo lines.
    expect(seen.changes).toBeGreaterThanOrEqual(1 + Math.ceil(POINTS / BATCH));
    expect(seen.undoWrites).toBeGreaterThanOrEqual(1 + Math.ceil(POINTS / BATCH));
    expect(problems).toEqual([]);
    expect(seen.undoSyncs).toBeGreaterThanOrEqual(seen.undoWrites);
  }, 120_000);
});
