/** The sync's canonical DTC record and its mappings (docs/design.md §10.2). */
import { describe, expect, it } from 'vitest';
import {
  canonicalDtc,
  canonicalFromNode,
  canonicalTimestamp,
  differingFields,
  differingPayload,
  embeddingText,
  nodeProperties,
  pointPayload,
  rowFromNode,
} from '../../src/model/dtc-sync.ts';

const row = {
  id: 7,
  code: 'P0101',
  description_en: 'Mass air flow circuit range',
  description_hu: 'Légtömegmérő áramkör tartomány',
  category: 'powertrain',
  severity: 'medium',
  is_generic: true,
  system: null,
  symptoms: ['rángatás', 'alapjárat', 'füst', 'zaj', 'lámpa', 'hatodik'],
  possible_causes: ['szenzor'],
  diagnostic_steps: [],
  related_codes: ['P0100'],
  manufacturer_code: null,
  applicable_makes: null,
  sources: ['generic', 'obd'],
  created_at: '2025-03-01 10:00:00.123456+00',
  updated_at: '2025-03-02 11:30:00+01',
};

describe('canonical timestamps', () => {
  it.each([
    ['2025-03-01 10:00:00.123456+00', '2025-03-01T10:00:00.123456Z'],
    ['2025-03-01 11:00:00+01', '2025-03-01T10:00:00.000000Z'],
    ['2025-03-01 05:30:00.5-04:30', '2025-03-01T10:00:00.500000Z'],
    ['2025-03-01T11:00:00.123456789+01:00[Europe/Budapest]', '2025-03-01T10:00:00.123456Z'],
    ['2025-03-01T10:00:00Z', '2025-03-01T10:00:00.000000Z'],
    ['2025-03-01T10:00:00.1Z', '2025-03-01T10:00:00.100000Z'],
  ])('%s → %s', (text, canonical) => {
    expect(canonicalTimestamp(text)).toBe(canonical);
  });
});

describe('the canonical record', () => {
  it('drops id, keeps every column, and normalises timestamps', () => {
    const c = canonicalDtc(row);
    expect(c).not.toHaveProperty('id');
    expect(c.updated_at).toBe('2025-03-02T10:30:00.000000Z');
    expect(c.system).toBeNull();
    expect(c.diagnostic_steps).toEqual([]);
  });

  it("tells NULL, '' and [] apart, and takes a NULL column and an absent property as equal", () => {
    const pg = canonicalDtc(row);
    const node = canonicalDtc({ ...row, system: undefined });
    expect(differingFields(pg, node)).toEqual([]);
    expect(differingFields(pg, canonicalDtc({ ...row, system: '' }))).toEqual(['system']);
    expect(differingFields(pg, canonicalDtc({ ...row, diagnostic_steps: null }))).toEqual([
      'diagnostic_steps',
    ]);
    expect(differingFields(pg, canonicalDtc({ ...row, symptoms: [...row.symptoms].reverse() }))).toEqual([
      'symptoms',
    ]);
  });

  it("reads the legacy scheme's is_generic text, and RELATED_TO targets when the node has no related_codes", () => {
    const node = canonicalFromNode({ code: 'P0101', is_generic: 'false', _links: ['P0100', 'P0102'] });
    expect(node.is_generic).toBe(false);
    expect(node.related_codes).toEqual(['P0100', 'P0102']);
  });
});

describe('store forms', () => {
  it('writes legacy nodes without related_codes and with is_generic as text; NULL removes the property', () => {
    const props = nodeProperties(canonicalDtc(row), 'legacy');
    expect(props.related_codes).toBeNull();
    expect(props.is_generic).toBe('true');
    expect(props.system).toBeNull();
    expect(props.created_at).toEqual({
      $datetime: { local: '2025-03-01T10:00:00.123456', offset: 0, zone: null },
    });
    expect(nodeProperties(canonicalDtc(row), 'production').related_codes).toEqual(['P0100']);
  });

  it("builds production's payload and text recipe (5 symptoms at most; English when there is no Hungarian)", () => {
    const c = canonicalDtc(row);
    expect(pointPayload(c)).toEqual({
      type: 'dtc',
      source: 'generic',
      code: 'P0101',
      description: 'Légtömegmérő áramkör tartomány',
      description_en: 'Mass air flow circuit range',
      category: 'powertrain',
      severity: 'medium',
      system: null,
      is_generic: true,
    });
    expect(embeddingText(c)).toBe(
      'P0101: Légtömegmérő áramkör tartomány. Tunetek: rángatás, alapjárat, füst, zaj, lámpa. Lehetseges okok: szenzor',
    );
    const english = canonicalDtc({ ...row, description_hu: '', symptoms: [], possible_causes: null });
    expect(embeddingText(english)).toBe('P0101: Mass air flow circuit range');
    expect(differingPayload(pointPayload(c), { ...pointPayload(c), system: undefined })).toEqual([]);
    expect(differingPayload(pointPayload(c), { ...pointPayload(c), severity: 'high' })).toEqual(['severity']);
  });

  it('makes a valid dtc_codes row from a node, or says why it cannot', () => {
    const now = '2026-12-01T00:00:00.000000Z';
    const made = rowFromNode(canonicalDtc({ code: 'B1234', description_en: 'Door' }), now);
    expect(made).toEqual({
      row: expect.objectContaining({
        code: 'B1234',
        category: 'body',
        severity: 'medium',
        is_generic: true,
        symptoms: null,
        created_at: now,
        updated_at: now,
      }),
    });
    expect(rowFromNode(canonicalDtc({ code: 'B1234' }), now)).toEqual({
      problem: expect.stringContaining('description_en'),
    });
    expect(rowFromNode(canonicalDtc({ code: 'VAG-17965-X', description_en: 'x' }), now)).toEqual({
      problem: expect.stringContaining('code'),
    });
    expect(
      rowFromNode(canonicalDtc({ code: 'B1234', description_en: 'x', system: 's'.repeat(101) }), now),
    ).toEqual({
      problem: expect.stringContaining('system is longer'),
    });
    expect(
      rowFromNode(canonicalDtc({ code: 'B1234', description_en: 'x', created_at: 'infinity' }), now),
    ).toEqual({
      problem: expect.stringContaining('created_at'),
    });
  });
});
