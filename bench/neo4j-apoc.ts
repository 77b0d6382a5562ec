/**
 * The peers of `backup --neo4j` and of its restore, each run as a process of its own (so that
 * bench/run.ts times it under /usr/bin/time like acx-data):
 *
 *   npx node bench/neo4j-apoc.ts export <file>          APOC's streamed export of the whole graph
 *   npx node bench/neo4j-apoc.ts export-file <file>     APOC's export to a file of the server, moved to <file>
 *   npx node bench/neo4j-apoc.ts import <file>          APOC's import of that file, or else the UNWIND load
 *   npx node bench/neo4j-apoc.ts unwind <file>          the driver UNWIND load of that file
 *   npx node bench/neo4j-apoc.ts can-import             whether APOC's import is enabled (prints true/false)
 *
 * `export` runs `CALL apoc.export.json.all(null, {stream: true})` and writes the `data` of every row as
 * it arrives (APOC's JSON lines); it fails when the stream yields no row, as it can with no error
 * (neo4j/apoc#647: from scale 5 here). `export-file` has APOC write the same export to a file of the
 * server (`apoc.export.file.enabled=true`, set by the stack) and moves it to <file>: the peer there.
 * `import` sends the file's bytes to `apoc.import.json` — which APOC refuses unless
 * `apoc.import.file.enabled=true` is in Neo4j's `conf/apoc.conf`, even for bytes; when it is refused,
 * `import` falls back to `unwind` and says so in its summary (`method`). `unwind` reads the same JSON
 * lines and loads them with the driver: nodes `UNWIND $rows … CREATE` per label set in
 * batches of 1000 carrying their export id in `_bench_id` (indexed per label first), then relationships
 * per type and endpoint labels, matched on those ids, in one transaction like acx-data's restore.
 * Prints one JSON summary on stdout.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream, existsSync, readFileSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import neo4j from 'neo4j-driver';
import type { Neo4jConnection } from '../src/stores/neo4j/neo4j-connection.ts';
import { cypherName } from '../src/stores/neo4j/neo4j-connection.ts';
import { openStores } from '../src/operations/open-stores.ts';

const BATCH = 1000;
const BENCH_ID = '_bench_id';

export interface Neo4jPeerSummary {
  method: 'apoc.export.json.all' | 'apoc.export.json.all (file)' | 'apoc.import.json' | 'unwind';
  nodes: number;
  relationships: number;
  bytes: number;
}

/** The streamed export; fails when it yields no row, so that no caller times or imports an empty export. */
async function apocExport(c: Neo4jConnection, file: string): Promise<Neo4jPeerSummary> {
  const streamed = await apocStreamedExport(c, file);
  if (streamed.bytes > 0 && streamed.nodes + streamed.relationships > 0) return streamed;
  // It can end with no row and no error (neo4j/apoc#647, open; seen here from scale 5: 0 rows after ~13 s).
  throw new Error(
    `apoc.export.json.all streamed no row (${streamed.nodes} nodes, ${streamed.relationships} relationships, ${streamed.bytes} bytes; neo4j/apoc#647): use export-file`,
  );
}

async function apocStreamedExport(c: Neo4jConnection, file: string): Promise<Neo4jPeerSummary> {
  const out = createWriteStream(file);
  const session = c.driver.session({ database: c.database, defaultAccessMode: 'READ' });
  const summary: Neo4jPeerSummary = { method: 'apoc.export.json.all', nodes: 0, relationships: 0, bytes: 0 };
  try {
    const result = session.run(
      'CALL apoc.export.json.all(null, {stream: true}) YIELD data, nodes, relationships RETURN data, nodes, relationships',
    );
    for await (const record of result) {
      const data = String(record.get('data'));
      summary.bytes += Buffer.byteLength(data);
      summary.nodes += Number(record.get('nodes'));
      summary.relationships += Number(record.get('relationships'));
      if (!out.write(data.endsWith('\n') ? data : `${data}\n`)) await once(out, 'drain');
    }
  } finally {
    await session.close();
    out.end();
    await once(out, 'finish');
  }
  return summary;
}

/**
 * `apoc.export.json.all('<name>', {})`: APOC writes the file into the server's import directory (it
 * needs `apoc.export.file.enabled=true`, which the stack sets); the server runs on this machine, so the
 * file is then moved to `file`. Fails, naming the cause, when nothing was exported or the file is not here.
 */
async function apocFileExport(c: Neo4jConnection, file: string): Promise<Neo4jPeerSummary> {
  const settings = await c.driver.executeQuery(
    "SHOW SETTINGS YIELD name, value WHERE name = 'server.directories.import' RETURN value",
    {},
    { database: c.database },
  );
  const dir = settings.records[0]?.get('value') as string | null | undefined;
  if (!dir)
    throw new Error('the server has no import directory (server.directories.import): no APOC peer figure');
  const name = `acx-bench-apoc-${process.pid}.json`;
  const result = await c.driver.executeQuery(
    'CALL apoc.export.json.all($name, {}) YIELD nodes, relationships RETURN nodes, relationships',
    { name },
    { database: c.database, routing: neo4j.routing.READ },
  );
  const nodes = Number(result.records[0]?.get('nodes') ?? 0);
  const relationships = Number(result.records[0]?.get('relationships') ?? 0);
  const written = join(dir, name);
  if (!existsSync(written))
    throw new Error(`APOC's export wrote ${written}, which is not on this machine: no APOC peer figure`);
  renameSync(written, file);
  const bytes = statSync(file).size;
  if (bytes === 0 || nodes + relationships === 0)
    throw new Error(
      `apoc.export.json.all exported nothing (${nodes} nodes, ${relationships} relationships): no peer figure`,
    );
  return { method: 'apoc.export.json.all (file)', nodes, relationships, bytes };
}

/** Whether APOC accepts an import at all (it checks `apoc.import.file.enabled` before reading a byte). */
async function apocImportEnabled(c: Neo4jConnection): Promise<boolean> {
  try {
    await c.driver.executeQuery(
      'CALL apoc.import.json($data)',
      { data: new Int8Array(0) },
      { database: c.database },
    );
    return true;
  } catch (error) {
    if (/apoc\.import\.file\.enabled/.test(String((error as Error).message))) return false;
    throw error;
  }
}

/**
 * `apoc.import.json` of the file's bytes. APOC refuses to start without a uniqueness constraint on
 * `neo4jImportId` for every label of the file: creating them is part of what an operator runs.
 */
async function apocImport(c: Neo4jConnection, file: string): Promise<Neo4jPeerSummary> {
  const labels = new Set<string>();
  for await (const line of exportLines(file))
    if (line.type === 'node') for (const label of line.labels ?? []) labels.add(label);
  for (const label of labels)
    await c.driver.executeQuery(
      `CREATE CONSTRAINT IF NOT EXISTS FOR (n:${cypherName(label)}) REQUIRE n.neo4jImportId IS UNIQUE`,
      {},
      { database: c.database },
    );
  const data = readFileSync(file);
  const result = await c.driver.executeQuery(
    'CALL apoc.import.json($data) YIELD nodes, relationships RETURN nodes, relationships',
    { data: new Int8Array(data.buffer, data.byteOffset, data.length) },
    { database: c.database },
  );
  const record = result.records[0];
  return {
    method: 'apoc.import.json',
    nodes: Number(record?.get('nodes') ?? 0),
    relationships: Number(record?.get('relationships') ?? 0),
    bytes: data.length,
  };
}

interface ExportLine {
  type: 'node' | 'relationship';
  id: string;
  labels?: string[];
  label?: string;
  properties?: Record<string, unknown>;
  start?: { id: string; labels: string[] };
  end?: { id: string; labels: string[] };
}

/** APOC writes a point as `{crs, latitude, longitude, height}` (or x/y/z): the driver sends it back as a Point. */
function propertiesOf(properties: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(properties ?? {})) {
    const p = value as {
      crs?: string;
      latitude?: number;
      longitude?: number;
      x?: number;
      y?: number;
      z?: number | null;
      height?: number | null;
    };
    if (value === null || typeof value !== 'object' || Array.isArray(value) || typeof p.crs !== 'string') {
      out[key] = value;
      continue;
    }
    const geographic = p.crs.startsWith('wgs-84');
    const x = (geographic ? p.longitude : p.x) ?? 0;
    const y = (geographic ? p.latitude : p.y) ?? 0;
    const z = (geographic ? p.height : p.z) ?? undefined;
    const srid = geographic ? (z === undefined ? 4326 : 4979) : z === undefined ? 7203 : 9157;
    out[key] = new neo4j.types.Point(srid, x, y, z);
  }
  return out;
}

const labelsOf = (labels: string[] | undefined): string =>
  (labels ?? []).map((l) => `:${cypherName(l)}`).join('');

async function* exportLines(file: string): AsyncGenerator<ExportLine> {
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const text of lines) if (text !== '') yield JSON.parse(text) as ExportLine;
}

/**
 * Groups rows by a Cypher fragment and runs `query(fragment)` for every `BATCH` rows of a group (and
 * for what is left at the end); the rows sent.
 */
async function batched<T>(
  rows: AsyncIterable<[string, T]>,
  run: (fragment: string, batch: T[]) => Promise<void>,
): Promise<number> {
  const groups = new Map<string, T[]>();
  let sent = 0;
  for await (const [fragment, row] of rows) {
    const list = groups.get(fragment) ?? [];
    list.push(row);
    groups.set(fragment, list);
    if (list.length >= BATCH) {
      await run(fragment, list);
      sent += list.length;
      groups.set(fragment, []);
    }
  }
  for (const [fragment, list] of groups) {
    if (list.length > 0) await run(fragment, list);
    sent += list.length;
  }
  return sent;
}

/**
 * The driver UNWIND load of APOC's JSON lines, in two passes over the file: the nodes (one
 * transaction), an index on `_bench_id` per label, then the relationships (one transaction).
 */
async function unwindLoad(c: Neo4jConnection, file: string): Promise<Neo4jPeerSummary> {
  const session = c.driver.session({ database: c.database, defaultAccessMode: 'WRITE' });
  const labels = new Set<string>();
  try {
    let tx = session.beginTransaction();
    const nodes = await batched(
      (async function* () {
        for await (const line of exportLines(file)) {
          if (line.type !== 'node') continue;
          for (const label of line.labels ?? []) labels.add(label);
          yield [labelsOf(line.labels), { id: line.id, p: propertiesOf(line.properties) }] as [
            string,
            unknown,
          ];
        }
      })(),
      async (fragment, rows) => {
        await tx.run(`UNWIND $rows AS r CREATE (n${fragment}) SET n = r.p, n.${BENCH_ID} = r.id`, { rows });
      },
    );
    await tx.commit();
    for (const label of labels)
      await session.run(`CREATE INDEX IF NOT EXISTS FOR (n:${cypherName(label)}) ON (n.${BENCH_ID})`);
    await session.run('CALL db.awaitIndexes(300)');
    tx = session.beginTransaction();
    const relationships = await batched(
      (async function* () {
        for await (const line of exportLines(file)) {
          if (line.type !== 'relationship') continue;
          const fragment = `(a${labelsOf(line.start?.labels.slice(0, 1))} {${BENCH_ID}: r.s}) MATCH (b${labelsOf(line.end?.labels.slice(0, 1))} {${BENCH_ID}: r.e}) CREATE (a)-[x:${cypherName(line.label ?? '')}]->(b)`;
          yield [fragment, { s: line.start?.id, e: line.end?.id, p: propertiesOf(line.properties) }] as [
            string,
            unknown,
          ];
        }
      })(),
      async (fragment, rows) => {
        await tx.run(`UNWIND $rows AS r MATCH ${fragment} SET x = r.p`, { rows });
      },
    );
    await tx.commit();
    return { method: 'unwind', nodes, relationships, bytes: statSync(file).size };
  } finally {
    await session.close();
  }
}

export const NEO4J_PEER_COMMANDS = ['export', 'export-file', 'import', 'unwind', 'can-import'] as const;
export type Neo4jPeerCommand = (typeof NEO4J_PEER_COMMANDS)[number];

async function main(command: Neo4jPeerCommand, file: string | undefined): Promise<unknown> {
  const stores = await openStores(process.env, ['neo4j']);
  const c = stores.neo4j!.connection;
  try {
    if (command === 'can-import') return await apocImportEnabled(c);
    if (!file) throw new Error(`${command} needs a file`);
    if (command === 'export') return await apocExport(c, file);
    if (command === 'export-file') return await apocFileExport(c, file);
    if (command === 'unwind') return await unwindLoad(c, file);
    return (await apocImportEnabled(c)) ? await apocImport(c, file) : await unwindLoad(c, file);
  } finally {
    await stores.close();
  }
}

if (import.meta.main) {
  const [command, file] = process.argv.slice(2);
  if (!NEO4J_PEER_COMMANDS.includes(command as Neo4jPeerCommand)) {
    console.error(`usage: node bench/neo4j-apoc.ts ${NEO4J_PEER_COMMANDS.join('|')} [file]`);
    process.exitCode = 2;
  } else {
    process.stdout.write(`${JSON.stringify(await main(command as Neo4jPeerCommand, file))}\n`);
  }
}
