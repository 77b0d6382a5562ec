/** NodeIdSet: the node ids a Neo4j backup or GraphML export wrote, as a bitmap for Neo4j 5's usual ids. */
import { describe, expect, it } from 'vitest';
import { NodeIdSet } from '../../src/stores/neo4j/neo4j-node-ids.ts';

const DB = '4:6b45b139-7413-49a5-879e-5d5febb78bd9';

describe('NodeIdSet', () => {
  it('holds exactly the ids added, of any shape, growing as needed', () => {
    const ids = new NodeIdSet();
    const added = [0, 1, 7, 8, 1023, 8191, 8192, 5_000_000].map((n) => `${DB}:${n}`);
    added.push('4:other-database:3', 'not an element id', '17', `${DB}:1234567890123`);
    for (const id of [...added, ...added]) ids.add(id);
    expect(ids.size).toBe(added.length);
    for (const id of added) expect(ids.has(id), id).toBe(true);
    for (const id of [`${DB}:2`, `${DB}:8193`, `${DB}:5000001`, `${DB}:99999999`, '4:other-database:0', '18'])
      expect(ids.has(id), id).toBe(false);
  });

  it('answers has() before anything was added', () => {
    expect(new NodeIdSet().has(`${DB}:0`)).toBe(false);
  });
});
