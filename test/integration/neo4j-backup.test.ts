// Neo4j backup and restore round trips on the real server: every value type, multi-label and unlabelled
// nodes, self-loops and parallel relationships, odd names, every kind of index; refusal of a non-empty
// target, --force, and all-or-nothing on a damaged snapshot.
import { describe, it, expect, beforeAll, beforeEach, afterAll, afterEach } from 'vitest';
import neo4j from 'neo4j-driver';
import { readNeo4jSettings } from '../../src/config/env.ts';
import { diffFingerprints } from '../../src/model/content-hash.ts';
import { labelMap } from '../../src/model/labels.ts';
import { silentReporter, type ProgressEvent } from '../../src/progress.ts';
import type { StoreSection } from '../../src/repository/manifest.ts';
import { backupNeo4j } from '../../src/stores/neo4j/neo4j-backup.ts';
import { openNeo4j, type Neo4jConnection } from '../../src/stores/neo4j/neo4j-connection.ts';
import { fingerprintNeo4j } from '../../src/stores/neo4j/neo4j-fingerprint.ts';
import {
  HELPER_CONSTRAINT,
  HELPER_LABEL,
  HELPER_PROPERTY,
  planNeo4jRestore,
  restoreNeo4j,
} from '../../src/stores/neo4j/neo4j-restore.ts';
import { emptyNeo4j } from '../../src/stores/neo4j/neo4j-schema.ts';
import { decodeNeo4jValue, encodeNeo4jValue } from '../../src/stores/neo4j/neo4j-values.ts';
import { snapshotOneStore, type StoreSnapshot } from '../support/snapshot.ts';

const labels = labelMap('production');
const { Date: NDate, DateTime, LocalDateTime, LocalTime, Time, Duration, Point } = neo4j.types;

/** One node of every value type Neo4j stores, among a few other nodes and relationships. */
const allTypes = {
  id: 'v1',
  name: 'Škoda Octavia – őrült űrhajó',
  big: neo4j.int('9007199254740993'),
  min: neo4j.int('-9223372036854775808'),
  small: neo4j.int(-42),
  ratio: 3.25,
  whole_float: 2.0,
  not_a_number: NaN,
  infinite: -Infinity,
  flag: true,
  strings: ['a', 'ő', ''],
  ints: [neo4j.int(1), neo4j.int('9007199254740993')],
  floats: [1.5, 2.0],
  bools: [true, false],
  bytes: new Int8Array([0, 1, -1, 127, -128]),
  day: new NDate(2025, 3, 1),
  ancient_day: new NDate(-44, 3, 15),
  at_offset: new DateTime(2025, 3, 1, 10, 0, 0, 123456789, 3600),
  at_utc: new DateTime(2025, 3, 1, 10, 0, 0, 0, 0),
  // 02:30 happens twice in Budapest on 2024-10-27: the first (+02:00) and the second (+01:00).
  zoned_first: new DateTime(2024, 10, 27, 2, 30, 0, 0, 7200, 'Europe/Budapest'),
  zoned_second: new DateTime(2024, 10, 27, 2, 30, 0, 0, 3600, 'Europe/Budapest'),
  local_dt: new LocalDateTime(2025, 12, 31, 23, 59, 59, 999999999),
  local_t: new LocalTime(7, 5, 3, 1000),
  time: new Time(12, 0, 0, 5, -18000),
  duration: new Duration(14, 3, 3661, 500),
  cartesian: new Point(7203, 1.5, -2.5),
  cartesian_3d: new Point(9157, 1, 2, 3),
  wgs84: new Point(4326, 19.0402, 47.4979),
  wgs84_3d: new Point(4979, 19.0402, 47.4979, 120.5),
  days: [new NDate(2020, 1, 1), new NDate(2021, 2, 28)],
  points: [new Point(4326, 1, 2), new Point(4326, 3, 4)],
  'név ő': 'odd property name',
};

async function buildGraph(connection: Neo4jConnection): Promise<void> {
  const run = (q: string, p: Record<string, unknown> = {}) =>
    connection.driver.executeQuery(q, p, { database: connection.database });
  await run('CREATE CONSTRAINT vehicle_id_unique FOR (n:Vehicle) REQUIRE n.id IS UNIQUE');
  await run('CREATE CONSTRAINT dtc_code_unique FOR (n:DTC) REQUIRE n.code IS UNIQUE');
  await run('CREATE INDEX part_name_idx FOR (n:Part) ON (n.name)');
  await run('CREATE INDEX vehicle_make_model_idx FOR (n:Vehicle) ON (n.make, n.model)');
  await run('CREATE INDEX has_part_qty_idx FOR ()-[r:HAS_PART]-() ON (r.qty)');
  await run('CREATE TEXT INDEX part_text_idx FOR (n:Part) ON (n.name)');
  await run('CREATE POINT INDEX vehicle_location_idx FOR (n:Vehicle) ON (n.wgs84)');
  await run(
    "CREATE FULLTEXT INDEX dtc_description_hu_idx FOR (n:DTC) ON EACH [n.description_hu, n.description_en] OPTIONS {indexConfig: {`fulltext.analyzer`: 'hungarian'}}",
  );
  await run('CALL db.awaitIndexes(300)');
  await run('CREATE (n:Vehicle:Car) SET n = $props', { props: allTypes });
  await run(
    "CREATE (:Part {name: 'fékbetét', price: 12.5}), (:Part:Obsolete {name: 'karburátor', price: 1.0})",
  );
  await run(
    `
    MATCH (v:Vehicle {id: 'v1'}), (p1:Part {name: 'fékbetét'}), (p2:Obsolete)
    CREATE (d:DTC {code: 'P0301', description_hu: 'Égéskimaradás az 1. hengerben', description_en: 'Cylinder 1 misfire'})
    CREATE (d2:DTC:Generic {code: 'P0300'})
    CREATE (u {note: 'no label at all', n: $n})
    CREATE (e:Empty)
    CREATE (w:\`Weird Label\`:\`Back\`\`tick\` {\`key with space\`: 'x'})
    CREATE (v)-[:HAS_PART {qty: $two, since: date('2020-01-01')}]->(p1)
    CREATE (v)-[:HAS_PART {qty: $three}]->(p1)
    CREATE (v)-[:HAS_PART {qty: $three}]->(p1)
    CREATE (v)-[:HAS_PART]->(p2)
    CREATE (p1)-[:SIMILAR_TO {score: 0.5, tags: ['a', 'b']}]->(p1)
    CREATE (d)-[:RELATED_TO]->(d2)
    CREATE (d2)-[:RELATED_TO]->(d)
    CREATE (v)-[:HAS_COMMON_ISSUE {frequency: 'common', seen: datetime('2024-05-05T10:00:00[Europe/Budapest]')}]->(d)
    CREATE (u)-[:\`ODD TYPE\`]->(w)
    CREATE (e)-[:POINTS_AT]->(u)
  `,
    { n: neo4j.int(7), two: neo4j.int(2), three: neo4j.int(3) },
  );
}

async function counts(connection: Neo4jConnection): Promise<{ nodes: number; rels: number; schema: number }> {
  const one = async (q: string) =>
    Number(
      (await connection.driver.executeQuery(q, {}, { database: connection.database })).records[0]?.get('n') ??
        0,
    );
  return {
    nodes: await one('MATCH (n) RETURN count(n) AS n'),
    rels: await one('MATCH ()-[r]->() RETURN count(r) AS n'),
    schema:
      (await one('SHOW CONSTRAINTS YIELD name RETURN count(*) AS n')) +
      (await one("SHOW INDEXES YIELD type WHERE type <> 'LOOKUP' RETURN count(*) AS n")),
  };
}

async function expectNoHelper(connection: Neo4jConnection): Promise<void> {
  const run = (q: string) => connection.driver.executeQuery(q, {}, { database: connection.database });
  const labelled = await run(`MATCH (n:${HELPER_LABEL}) RETURN count(n) AS n`);
  expect(Number(labelled.records[0]?.get('n'))).toBe(0);
  const keyed = await run(`MATCH (n) WHERE n.${HELPER_PROPERTY} IS NOT NULL RETURN count(n) AS n`);
  expect(Number(keyed.records[0]?.get('n'))).toBe(0);
  const schema = await run(
    `SHOW INDEXES YIELD name, labelsOrTypes WHERE name = '${HELPER_CONSTRAINT}' OR '${HELPER_LABEL}' IN labelsOrTypes RETURN name`,
  );
  expect(schema.records).toHaveLength(0);
  const constraints = await run(
    `SHOW CONSTRAINTS YIELD name WHERE name = '${HELPER_CONSTRAINT}' RETURN name`,
  );
  expect(constraints.records).toHaveLength(0);
}

/** A hand-written snapshot (for damaged ones). */
function craftedSnapshot(nodes: object[], relationships: object[], schema: object[]): Promise<StoreSnapshot> {
  return snapshotOneStore('neo4j', async (files) => {
    const write = async (name: string, rows: object[]) =>
      files.writeLines(
        `neo4j/${name}.jsonl`,
        rows.map((r) => JSON.stringify(r)),
      );
    const at = new Date().toISOString();
    return {
      serverVersion: '5.26.0',
      readStartedAt: at,
      readFinishedAt: at,
      datasets: [
        { name: 'schema', kind: 'schema', records: schema.length, files: [await write('schema', schema)] },
        { name: 'nodes', kind: 'nodes', records: nodes.length, files: [await write('nodes', nodes)] },
        {
          name: 'relationships',
          kind: 'relationships',
          records: relationships.length,
          files: [await write('relationships', relationships)],
        },
      ],
    } satisfies StoreSection;
  });
}

describe('Neo4j backup and restore', () => {
  let connection: Neo4jConnection;
  const snapshots: StoreSnapshot[] = [];

  beforeAll(async () => {
    connection = await openNeo4j(readNeo4jSettings());
  });

  beforeEach(async () => {
    await emptyNeo4j(connection);
  });

  afterEach(async () => {
    for (const s of snapshots.splice(0)) await s.cleanup();
  });

  afterAll(async () => {
    await emptyNeo4j(connection).catch(() => undefined);
    await connection.driver.close();
  });

  const backup = async (compression: 'zstd' | 'gzip' = 'zstd', events?: ProgressEvent[]) => {
    const reporter = events ? { emit: (e: ProgressEvent) => void events.push(e) } : silentReporter;
    const snapshot = await snapshotOneStore(
      'neo4j',
      (files) => backupNeo4j(connection, { files, reporter }),
      compression,
    );
    snapshots.push(snapshot);
    return snapshot;
  };
  const restore = (snapshot: StoreSnapshot, replace = false, events?: ProgressEvent[]) =>
    restoreNeo4j(connection, {
      snapshot: snapshot.reader,
      section: snapshot.section,
      reporter: events ? { emit: (e) => void events.push(e) } : silentReporter,
      replace,
    });

  it('decodes what it encodes, for every value type', () => {
    for (const [key, value] of Object.entries(allTypes)) {
      const encoded = encodeNeo4jValue(value);
      const again = encodeNeo4jValue(decodeNeo4jValue(JSON.parse(JSON.stringify(encoded))));
      expect(again, key).toEqual(encoded);
    }
    expect(decodeNeo4jValue({ $bytes: 'AAH/' })).toBeInstanceOf(Int8Array);
    expect(neo4j.isInt(decodeNeo4jValue({ $int: '9007199254740993' }))).toBe(true);
  });

  it('round-trips the graph: nodes, relationships, constraints and indexes', async () => {
    await buildGraph(connection);
    const before = await fingerprintNeo4j(connection, labels);
    const shape = await counts(connection);
    expect(Object.keys(before)).toContain('neo4j/nodes/(no label)');

    const events: ProgressEvent[] = [];
    const snapshot = await backup('zstd', events);
    const section = snapshot.section;
    expect(section.datasets.map((d) => [d.kind, d.records])).toEqual([
      ['schema', 8],
      ['nodes', shape.nodes],
      ['relationships', shape.rels],
    ]);
    expect(section.serverVersion).toMatch(/^5\./);
    expect(section.edition).toBe('community');
    expect(section.database).toBe(connection.database ?? 'neo4j');
    expect(section.labels).toMatchObject({
      Vehicle: 1,
      Car: 1,
      Part: 2,
      Obsolete: 1,
      DTC: 2,
      'Weird Label': 1,
    });
    expect(section.relationshipTypes).toMatchObject({ HAS_PART: 4, SIMILAR_TO: 1, 'ODD TYPE': 1 });
    expect(
      events.filter((e) => e.type === 'dataset-done').map((e) => (e as { dataset: string }).dataset),
    ).toEqual(['schema', 'nodes', 'relationships']);
    const schemaLines: Array<{ kind: string; name: string; type: string }> = [];
    for await (const line of snapshot.reader.lines(section.datasets[0]?.files[0] ?? ''))
      schemaLines.push(JSON.parse(line) as { kind: string; name: string; type: string });
    expect(schemaLines.map((l) => `${l.kind} ${l.name} ${l.type}`).sort()).toEqual([
      'constraint dtc_code_unique UNIQUENESS',
      'constraint vehicle_id_unique UNIQUENESS',
      'index dtc_description_hu_idx FULLTEXT',
      'index has_part_qty_idx RANGE',
      'index part_name_idx RANGE',
      'index part_text_idx TEXT',
      'index vehicle_location_idx POINT',
      'index vehicle_make_model_idx RANGE',
    ]);

    await emptyNeo4j(connection);
    expect(await counts(connection)).toEqual({ nodes: 0, rels: 0, schema: 0 });
    const plan = await planNeo4jRestore(connection, section, false);
    expect(plan.map((s) => [s.action, s.object, s.records])).toEqual([
      ['load', 'nodes', shape.nodes],
      ['load', 'relationships', shape.rels],
      ['create', 'constraints and indexes', 8],
    ]);

    const restoreEvents: ProgressEvent[] = [];
    const summary = await restore(snapshot, false, restoreEvents);
    expect(summary.datasets).toEqual([
      { name: 'nodes', records: shape.nodes },
      { name: 'relationships', records: shape.rels },
      { name: 'schema', records: 8 },
    ]);
    expect(restoreEvents.filter((e) => e.type === 'dataset-done')).toHaveLength(3);
    const after = await fingerprintNeo4j(connection, labels);
    expect(diffFingerprints(before, after)).toEqual([]);
    expect(await counts(connection)).toEqual(shape);
    await expectNoHelper(connection);

    // The values come back with their types, not just equal encodings.
    const { records } = await connection.driver.executeQuery(
      "MATCH (n:Vehicle {id: 'v1'}) RETURN n",
      {},
      { database: connection.database },
    );
    const props = (records[0]?.get('n') as { properties: Record<string, unknown> }).properties;
    expect(props.bytes).toBeInstanceOf(Int8Array);
    expect(neo4j.isInt(props.big) && String(props.big)).toBe('9007199254740993');
    expect(String(props.zoned_first)).toBe('2024-10-27T02:30:00+02:00[Europe/Budapest]');
    expect(String(props.zoned_second)).toBe('2024-10-27T02:30:00+01:00[Europe/Budapest]');
    expect(String(props.ancient_day)).toBe(String(allTypes.ancient_day));
    expect(Number.isNaN(props.not_a_number)).toBe(true);
    // The full-text index answers.
    const hits = await connection.driver.executeQuery(
      "CALL db.index.fulltext.queryNodes('dtc_description_hu_idx', 'hengerben') YIELD node RETURN node.code AS code",
      {},
      { database: connection.database },
    );
    expect(hits.records.map((r) => r.get('code'))).toEqual(['P0301']);
  });

  it('refuses a non-empty target without replace, changing nothing; replaces it with replace', async () => {
    await buildGraph(connection);
    const original = await fingerprintNeo4j(connection, labels);
    const snapshot = await backup();
    await emptyNeo4j(connection);
    await connection.driver.executeQuery(
      "CREATE (:Intruder {name: 'x'})-[:KNOWS]->(:Intruder {name: 'y'})",
      {},
      { database: connection.database },
    );
    await connection.driver.executeQuery(
      'CREATE INDEX intruder_idx FOR (n:Intruder) ON (n.name)',
      {},
      {
        database: connection.database,
      },
    );
    const intruded = await fingerprintNeo4j(connection, labels);

    await expect(restore(snapshot)).rejects.toMatchObject({ code: 'NOT_EMPTY', subject: 'neo4j' });
    expect(diffFingerprints(intruded, await fingerprintNeo4j(connection, labels))).toEqual([]);
    const plan = await planNeo4jRestore(connection, snapshot.section, false);
    expect(plan).toEqual([expect.objectContaining({ action: 'keep' })]);
    const replacePlan = await planNeo4jRestore(connection, snapshot.section, true);
    expect(replacePlan.filter((s) => s.action === 'drop').map((s) => [s.object, s.records])).toEqual([
      ['nodes', 2],
      ['relationships', 1],
      ['index intruder_idx', undefined],
    ]);

    await restore(snapshot, true);
    expect(diffFingerprints(original, await fingerprintNeo4j(connection, labels))).toEqual([]);
    await expectNoHelper(connection);
  });

  it('restores a gzip snapshot', async () => {
    await buildGraph(connection);
    const original = await fingerprintNeo4j(connection, labels);
    const snapshot = await backup('gzip');
    expect(Object.keys(snapshot.reader.manifest.files).every((f) => f.endsWith('.jsonl.gz'))).toBe(true);
    await emptyNeo4j(connection);
    await restore(snapshot);
    expect(diffFingerprints(original, await fingerprintNeo4j(connection, labels))).toEqual([]);
  });

  it('leaves the database empty when a relationship points to a node that is not in the snapshot', async () => {
    const nodes = Array.from({ length: 12_000 }, (_, i) => ({
      id: `4:x:${i}`,
      labels: i % 2 ? ['A'] : ['A', 'B'],
      properties: { i: { $int: String(i) } },
    }));
    const relationships = [
      ...Array.from({ length: 6_000 }, (_, i) => ({
        type: 'R',
        start: `4:x:${i}`,
        end: `4:x:${i + 1}`,
        properties: {},
      })),
      { type: 'R', start: '4:x:1', end: '4:x:missing', properties: {} },
    ];
    const schema = [
      {
        kind: 'constraint',
        name: 'a_i',
        type: 'UNIQUENESS',
        statement: 'CREATE CONSTRAINT a_i FOR (n:A) REQUIRE n.i IS UNIQUE',
      },
    ];
    const snapshot = await craftedSnapshot(nodes, relationships, schema);
    snapshots.push(snapshot);
    const failure = restore(snapshot);
    await expect(failure).rejects.toMatchObject({ code: 'INTEGRITY', subject: 'neo4j' });
    await expect(failure).rejects.toThrow(/4:x:missing/);
    expect(await counts(connection)).toEqual({ nodes: 0, rels: 0, schema: 0 });
    await expectNoHelper(connection);
  });

  it('stops between batches when aborted and leaves the database empty', async () => {
    const snapshot = await craftedSnapshot(
      Array.from({ length: 15_000 }, (_, i) => ({ id: `n${i}`, labels: ['A'], properties: {} })),
      [],
      [],
    );
    snapshots.push(snapshot);
    const controller = new AbortController();
    const failure = restoreNeo4j(connection, {
      snapshot: snapshot.reader,
      section: snapshot.section,
      reporter: { emit: (e) => e.type === 'dataset-progress' && controller.abort() },
      signal: controller.signal,
      replace: false,
    });
    await expect(failure).rejects.toMatchObject({ code: 'INTERRUPTED', subject: 'neo4j' });
    expect(await counts(connection)).toEqual({ nodes: 0, rels: 0, schema: 0 });
    await expectNoHelper(connection);
  });

  it('leaves the database empty when a saved schema statement fails', async () => {
    const snapshot = await craftedSnapshot(
      [
        { id: 'a', labels: ['A'], properties: { i: { $int: '1' } } },
        { id: 'b', labels: ['A'], properties: { i: { $int: '2' } } },
      ],
      [{ type: 'R', start: 'a', end: 'b', properties: { w: 1.5 } }],
      [
        {
          kind: 'constraint',
          name: 'a_i',
          type: 'UNIQUENESS',
          statement: 'CREATE CONSTRAINT a_i FOR (n:A) REQUIRE n.i IS UNIQUE',
        },
        {
          kind: 'index',
          name: 'broken',
          type: 'RANGE',
          statement: 'CREATE INDEX broken FOR (n:A) ON n.i OOPS',
        },
      ],
    );
    snapshots.push(snapshot);
    await expect(restore(snapshot)).rejects.toMatchObject({ code: 'STORE', subject: 'neo4j' });
    expect(await counts(connection)).toEqual({ nodes: 0, rels: 0, schema: 0 });
  });

  it('rejects a damaged node line before anything is kept', async () => {
    const snapshot = await craftedSnapshot(
      [
        { id: 'a', labels: ['A'], properties: {} },
        { id: 'b', labels: ['A'], properties: { when: { $date: 'yesterday' } } },
      ],
      [],
      [],
    );
    snapshots.push(snapshot);
    await expect(restore(snapshot)).rejects.toThrow(/nodes\.jsonl\.zst line 2: malformed date/);
    expect(await counts(connection)).toEqual({ nodes: 0, rels: 0, schema: 0 });
    await expectNoHelper(connection);
  });
});
