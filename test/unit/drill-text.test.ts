/** The restore drill's printed line says what it compared (design §13.7). */
import { describe, expect, it } from 'vitest';
import { formatDrill } from '../../src/cli/output/backup-text.ts';
import type { RestoreTest } from '../../src/repository/repository.ts';

const drill = (over: Partial<RestoreTest>): RestoreTest => ({
  at: '2026-12-01T07:00:00.000Z',
  ok: true,
  durationMs: 12_345,
  targets: { postgres: 'acx_drill_ab12', qdrant: 'dtc_embeddings__drill_ab12' },
  datasets: 37,
  mismatches: [],
  ...over,
});

describe('formatDrill', () => {
  it('names the fingerprints, or the counts of a snapshot that recorded none', () => {
    expect(formatDrill('full_20261201_020000', drill({ compared: 'fingerprints' }), [])).toBe(
      'Restore drill of full_20261201_020000 passed: 37 datasets restored into scratch targets and equal to the fingerprints the snapshot recorded in 12.3 s (acx_drill_ab12; dtc_embeddings__drill_ab12); scratch targets removed.',
    );
    expect(formatDrill('x', drill({}), [])).toMatch(/equal to the counts the snapshot recorded/);
  });

  it('names the datasets whose content differs', () => {
    const failed = drill({
      ok: false,
      mismatches: ['neo4j/nodes/DTC: content differs (9 records in the snapshot, 9 restored)'],
    });
    expect(formatDrill('x', failed, [])).toBe(
      'Restore drill of x FAILED after 12.3 s: neo4j/nodes/DTC: content differs (9 records in the snapshot, 9 restored)',
    );
  });
});
