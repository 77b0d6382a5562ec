/**
 * node:sqlite against better-sqlite3 on the index cache's workload (src/repository/blobs/index-cache.ts,
 * ADR 0017): a file database in WAL mode with synchronous NORMAL and an index on the blob id;
 *
 * 1. insert N rows (id: 64 hex characters, pack: 64 hex characters, offset, length) in transactions of
 *    10 000 (node:sqlite through src/sqlite.ts's `transaction`, better-sqlite3 through `db.transaction`);
 * 2. N point lookups by id, in a shuffled order, through one prepared statement;
 * 3. a full iterate of the table (ORDER BY pack, offset, as `IndexCache.packs()` reads it).
 *
 *   npx node bench/sqlite.ts                          both drivers, alternating, 3 rounds, Markdown table
 *   npx node bench/sqlite.ts --driver node:sqlite     one measurement as one JSON line
 *   npx node bench/sqlite.ts --driver better-sqlite3  the same, run by the system Node 20 (--node20 PATH)
 *
 * Options: --rows N (default 1 000 000), --rounds R (default 3), --node20 PATH (default /usr/bin/node),
 * --out DIR (writes sqlite-<date>.json there). better-sqlite3 is built for Node 20's ABI here, so its
 * measurement runs in a Node 20 child that reads this file with its types stripped (Node 20 cannot strip
 * them). The measuring half of this file imports only builtins and the driver, for that reason.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const DRIVERS = ['node:sqlite', 'better-sqlite3'] as const;
type Driver = (typeof DRIVERS)[number];
const BATCH = 10_000;

interface Measurement {
  driver: Driver;
  node: string;
  sqlite: string;
  rows: number;
  insertSeconds: number;
  lookupSeconds: number;
  iterateSeconds: number;
}

/** The slice of either driver the workload uses. */
interface Statement {
  run(...values: Array<string | number>): unknown;
  get(...values: Array<string | number>): unknown;
  iterate(): Iterable<unknown>;
}
interface Connection {
  exec(sql: string): void;
  prepare(sql: string): Statement;
  inTransaction(work: () => void): void;
  version(): string;
  close(): void;
}

function argument(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at === -1 ? undefined : process.argv[at + 1];
}

const hex = (text: string): string => createHash('sha256').update(text).digest('hex');

async function connect(driver: Driver, file: string): Promise<Connection> {
  if (driver === 'node:sqlite') {
    const { openDatabase, transaction } = await import('../src/sqlite.ts');
    const db = openDatabase(file, { timeout: 30_000 });
    return {
      exec: (sql) => db.exec(sql),
      prepare: (sql) => db.prepare(sql) as unknown as Statement,
      inTransaction: (work) => transaction(db, work),
      version: () => (db.prepare('SELECT sqlite_version() v').get() as { v: string }).v,
      close: () => db.close(),
    };
  }
  // No longer a dependency (ADR 0017): to compare again, `npm install --no-save better-sqlite3` under Node 20.
  const betterSqlite3 = 'better-sqlite3';
  const { default: Database } = (await import(betterSqlite3)) as {
    default: new (file: string) => {
      exec(sql: string): void;
      pragma(text: string): unknown;
      prepare(sql: string): Statement;
      transaction(work: () => void): () => void;
      close(): void;
    };
  };
  const db = new Database(file);
  db.pragma('busy_timeout = 30000');
  return {
    exec: (sql) => db.exec(sql),
    prepare: (sql) => db.prepare(sql),
    inTransaction: (work) => db.transaction(work)(),
    version: () => (db.prepare('SELECT sqlite_version() v').get() as { v: string }).v,
    close: () => db.close(),
  };
}

/** One run of the workload on a fresh database in a temporary folder. */
async function measureDriver(driver: Driver, rows: number): Promise<Measurement> {
  const ids = Array.from({ length: rows }, (_, i) => hex(`blob ${i}`));
  const packs = Array.from({ length: Math.ceil(rows / 1000) }, (_, i) => hex(`pack ${i}`));
  // A fixed shuffle (xorshift), the same for both drivers.
  const order = Array.from({ length: rows }, (_, i) => i);
  let seed = 2463534242;
  for (let i = rows - 1; i > 0; i--) {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    const j = (seed >>> 0) % (i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }

  const dir = mkdtempSync(join(tmpdir(), 'acx-bench-sqlite-'));
  const db = await connect(driver, join(dir, 'cache.sqlite'));
  try {
    db.exec(`
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = NORMAL;
      CREATE TABLE entries (id TEXT NOT NULL, pack TEXT NOT NULL, offset INTEGER NOT NULL, length INTEGER NOT NULL);
      CREATE INDEX entries_id ON entries (id);
    `);
    const insert = db.prepare('INSERT INTO entries (id, pack, offset, length) VALUES (?, ?, ?, ?)');
    let started = performance.now();
    for (let from = 0; from < rows; from += BATCH) {
      db.inTransaction(() => {
        for (let i = from; i < Math.min(from + BATCH, rows); i++)
          insert.run(ids[i]!, packs[Math.floor(i / 1000)]!, (i % 1000) * 4096, 4000 + (i % 96));
      });
    }
    const insertSeconds = (performance.now() - started) / 1000;

    const lookup = db.prepare('SELECT id, pack, offset, length FROM entries WHERE id = ? LIMIT 1');
    started = performance.now();
    let found = 0;
    for (const i of order) if (lookup.get(ids[i]!) !== undefined) found++;
    const lookupSeconds = (performance.now() - started) / 1000;
    if (found !== rows) throw new Error(`${driver}: ${found} of ${rows} lookups found their row`);

    started = performance.now();
    let seen = 0;
    for (const _row of db
      .prepare('SELECT id, pack, offset, length FROM entries ORDER BY pack, offset')
      .iterate())
      seen++;
    const iterateSeconds = (performance.now() - started) / 1000;
    if (seen !== rows) throw new Error(`${driver}: iterate saw ${seen} of ${rows} rows`);

    return {
      driver,
      node: process.version,
      sqlite: db.version(),
      rows,
      insertSeconds,
      lookupSeconds,
      iterateSeconds,
    };
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs one measurement in a child: node:sqlite under this Node, better-sqlite3 under Node 20. */
async function measureInChild(driver: Driver, rows: number, node20: string): Promise<Measurement> {
  const args = ['--driver', driver, '--rows', String(rows)];
  let child;
  if (driver === 'node:sqlite') {
    child = spawnSync(process.execPath, [import.meta.filename, ...args], { encoding: 'utf8' });
  } else {
    const { stripTypeScriptTypes } = await import('node:module');
    const source = stripTypeScriptTypes(readFileSync(import.meta.filename, 'utf8'));
    // From stdin, relative and bare imports resolve from the working directory: the repository's root.
    child = spawnSync(node20, ['--input-type=module', '-', ...args], {
      input: source,
      encoding: 'utf8',
      cwd: join(import.meta.dirname, '..'),
    });
  }
  if (child.status !== 0) throw new Error(`${driver} failed (${child.status}): ${child.stderr}`);
  return JSON.parse(child.stdout.trim().split('\n').pop()!) as Measurement;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

async function compare(rows: number, rounds: number, node20: string): Promise<void> {
  const { loadAverage, markdownTable, today } = await import('./lib.ts');
  const loadBefore = loadAverage();
  const runs: Measurement[] = [];
  for (let round = 0; round < rounds; round++)
    for (const driver of round % 2 === 0 ? DRIVERS : [...DRIVERS].reverse()) {
      const m = await measureInChild(driver, rows, node20);
      process.stderr.write(`${JSON.stringify(m)}\n`);
      runs.push(m);
    }
  const phases = [
    ['insert', 'insertSeconds'],
    ['point lookup', 'lookupSeconds'],
    ['full iterate', 'iterateSeconds'],
  ] as const;
  const perSecond = (driver: Driver, key: (typeof phases)[number][1]): number =>
    rows / median(runs.filter((m) => m.driver === driver).map((m) => m[key]));
  const table = markdownTable(
    ['phase', 'node:sqlite rows/s', 'better-sqlite3 rows/s', 'node:sqlite ÷ better-sqlite3'],
    phases.map(([name, key]) => {
      const ours = perSecond('node:sqlite', key);
      const theirs = perSecond('better-sqlite3', key);
      return [
        name,
        Math.round(ours).toLocaleString('en'),
        Math.round(theirs).toLocaleString('en'),
        (ours / theirs).toFixed(2),
      ];
    }),
  );
  process.stdout.write(
    `${table}\n\nMedians of ${rounds} rounds of ${rows.toLocaleString('en')} rows, drivers alternating; ` +
      `load average ${loadBefore} before, ${loadAverage()} after.\n`,
  );
  const out = argument('--out');
  if (out) {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(
      join(out, `sqlite-${today()}.json`),
      `${JSON.stringify({ rows, rounds, runs }, null, 2)}\n`,
    );
  }
}

const rows = Number(argument('--rows') ?? 1_000_000);
const driver = argument('--driver');
if (driver !== undefined) {
  if (!(DRIVERS as readonly string[]).includes(driver))
    throw new Error(`--driver must be one of ${DRIVERS.join(', ')}, not ${driver}`);
  if (driver === 'better-sqlite3' && process.versions.node.split('.')[0] !== '20') {
    // Asked directly under Node 24: better-sqlite3 is built for Node 20 here, so measure it there.
    const m = await measureInChild('better-sqlite3', rows, argument('--node20') ?? '/usr/bin/node');
    process.stdout.write(`${JSON.stringify(m)}\n`);
  } else process.stdout.write(`${JSON.stringify(await measureDriver(driver as Driver, rows))}\n`);
} else {
  await compare(rows, Number(argument('--rounds') ?? 3), argument('--node20') ?? '/usr/bin/node');
}
