/**
 * The drill's comparison (design §13.7): the restored content's fingerprint counted per dataset against
 * the manifest's records, Qdrant under its drill name, the graph by node and relationship totals.
 */
import { describe, expect, it } from 'vitest';
import { compareContent, compareCounts } from '../../src/operations/restore-drill.ts';
import type { StoreSection } from '../../src/model/snapshot.ts';

const section = (datasets: Array<{ name: string; kind: string; records: number }>): StoreSection =>
  ({ datasets: datasets.map((d) => ({ ...d, files: [] })) }) as unknown as StoreSection;

const SUFFIX = '__drill_0a1b2c3d';
const manifest = {
  postgres: section([
    { name: 'schema-pre', kind: 'schema', records: 500 },
    { name: 'public.dtc_codes', kind: 'table', records: 140 },
    { name: 'public.users', kind: 'table', records: 10 },
  ]),
  neo4j: section([
    { name: 'nodes', kind: 'nodes', records: 5 },
    { name: 'relationships', kind: 'relationships', records: 2 },
  ]),
  qdrant: section([
    { name: `autocognitix${SUFFIX}`, kind: 'collection', records: 1 },
    { name: `autocognitix${SUFFIX}/points`, kind: 'points', records: 700 },
  ]),
};
const fp = (records: number) => ({ records, hash: '0' });
const restored = {
  'postgres/table/dtc_codes': fp(140),
  'postgres/table/users': fp(10),
  'postgres/schema/columns': fp(174),
  'neo4j/nodes/DTC': fp(3),
  'neo4j/nodes/Part': fp(2),
  'neo4j/relationships/USES_PART': fp(2),
  'neo4j/schema': fp(33),
  [`qdrant/collections/autocognitix${SUFFIX}/points`]: fp(700),
};

describe('compareCounts', () => {
  it('finds every dataset equal when the restore holds what the manifest counted', () => {
    expect(compareCounts(manifest, restored, SUFFIX)).toEqual({ datasets: 5, mismatches: [] });
  });

  it('names each dataset whose count differs, without the drill suffix', () => {
    const short = {
      ...restored,
      'postgres/table/users': fp(9),
      'neo4j/nodes/Part': fp(1),
      [`qdrant/collections/autocognitix${SUFFIX}/points`]: fp(0),
    };
    expect(compareCounts(manifest, short, SUFFIX).mismatches).toEqual([
      'postgres/table/users: 10 records in the snapshot, 9 restored',
      'neo4j/nodes: 5 records in the snapshot, 4 restored',
      'qdrant/collections/autocognitix/points: 700 records in the snapshot, 0 restored',
    ]);
  });

  it('counts a table the restore lacks as 0 restored', () => {
    const { 'postgres/table/dtc_codes': _gone, ...rest } = restored;
    expect(compareCounts(manifest, rest, SUFFIX).mismatches).toEqual([
      'postgres/table/dtc_codes: 140 records in the snapshot, 0 restored',
    ]);
  });
});

describe('compareContent', () => {
  const h = (c: string) => c.repeat(64);
  // The snapshot's own sections (Qdrant under its own name), with the fingerprints the backup recorded.
  const recordedAt = {
    postgres: {
      ...section([
        { name: 'public.dtc_codes', kind: 'table', records: 140 },
        { name: 'public.users', kind: 'table', records: 10 },
      ]),
      fingerprints: {
        'postgres/table/dtc_codes': { records: 140, hash: h('1') },
        'postgres/table/users': { records: 10, hash: h('2') },
      },
    },
    neo4j: {
      ...section([{ name: 'nodes', kind: 'nodes', records: 5 }]),
      fingerprints: {
        'neo4j/nodes/DTC': { records: 3, hash: h('3') },
        'neo4j/nodes/Part': { records: 2, hash: h('4') },
      },
    },
    qdrant: {
      ...section([{ name: 'autocognitix/points', kind: 'points', records: 700 }]),
      fingerprints: { 'qdrant/collections/autocognitix/points': { records: 700, hash: h('5') } },
    },
  };
  const same = {
    'postgres/table/dtc_codes': { records: 140, hash: h('1') },
    'postgres/table/users': { records: 10, hash: h('2') },
    'postgres/schema/columns': fp(174),
    'neo4j/nodes/DTC': { records: 3, hash: h('3') },
    'neo4j/nodes/Part': { records: 2, hash: h('4') },
    'neo4j/schema': fp(33),
    [`qdrant/collections/autocognitix${SUFFIX}/points`]: { records: 700, hash: h('5') },
  };

  it('finds every recorded fingerprint equal when the restore holds the same content', () => {
    expect(compareContent(recordedAt, same, SUFFIX)).toEqual({
      datasets: 5,
      mismatches: [],
      compared: 'fingerprints',
    });
  });

  it('names each dataset whose content differs with equal counts, and a label the snapshot lacks', () => {
    const changed = {
      ...same,
      'postgres/table/users': { records: 10, hash: h('9') },
      [`qdrant/collections/autocognitix${SUFFIX}/points`]: { records: 700, hash: h('9') },
      'neo4j/nodes/Extra': { records: 1, hash: h('8') },
    };
    expect(compareContent(recordedAt, changed, SUFFIX).mismatches).toEqual([
      'neo4j/nodes/Extra: content differs (0 records in the snapshot, 1 restored)',
      'postgres/table/users: content differs (10 records in the snapshot, 10 restored)',
      'qdrant/collections/autocognitix/points: content differs (700 records in the snapshot, 700 restored)',
    ]);
  });

  it('compares by count the datasets a snapshot recorded no fingerprint of', () => {
    const { fingerprints: _none, ...postgres } = recordedAt.postgres;
    const partial = {
      ...recordedAt,
      postgres: {
        ...postgres,
        fingerprints: { 'postgres/table/users': recordedAt.postgres.fingerprints['postgres/table/users'] },
      },
    };
    const changed = { ...same, 'postgres/table/dtc_codes': { records: 140, hash: h('9') } };
    expect(compareContent(partial, changed, SUFFIX)).toEqual({
      datasets: 5,
      mismatches: [],
      compared: 'fingerprints and counts',
    });
    const old = { postgres: section([{ name: 'public.users', kind: 'table', records: 10 }]) };
    expect(compareContent(old, { 'postgres/table/users': fp(9) }, SUFFIX)).toEqual({
      datasets: 1,
      mismatches: ['postgres/table/users: 10 records in the snapshot, 9 restored'],
      compared: 'counts',
    });
  });
});
