/**
 * `acx-data import` through the CLI: the guide's commands, `--validate` on the generator's malformed
 * records (each named, non-zero exit), `--dry-run`, `--skip-invalid`, and inputs that are broken or not
 * what their flag says — each a clear error, no crash, nothing written.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diffFingerprints } from '../../src/model/content-hash.ts';
import type { TestStores } from '../support/stores.ts';
import { malformedDtcRecords } from '../../src/seed/dtc.ts';
import { writeVectorsFile } from '../../src/formats/vectors/vectors-format.ts';
import { AUTOCOGNITIX_COLLECTION } from '../../src/model/qdrant-model.ts';
import { runCli } from '../support/cli.ts';
import { emptySchemas, fingerprint, openTestStores } from '../support/stores.ts';

let stores: TestStores;
let work: string;
let malformed: string;

const FIELDS = [
  { name: 'code', type: 'text' },
  { name: 'description_en', type: 'text' },
  { name: 'category', type: 'text' },
  { name: 'severity', type: 'text' },
  { name: 'is_generic', type: 'boolean' },
  { name: 'symptoms', type: 'array' },
];
const valid = (code: string) => ({
  code,
  description_en: `Valid ${code}`,
  category: 'powertrain',
  severity: 'low',
  is_generic: true,
  symptoms: [],
});

async function jsonExport(name: string, records: Record<string, unknown>[]): Promise<string> {
  const path = join(work, name);
  const data = records.map((r) => Object.fromEntries(FIELDS.map((f) => [f.name, r[f.name] ?? null])));
  await writeFile(
    path,
    JSON.stringify(
      {
        export_time: '2026-01-01T00:00:00Z',
        source: 'AutoCognitix',
        postgresql: {
          dtc_codes: { columns: FIELDS.map((f) => f.name), fields: FIELDS, data, row_count: data.length },
        },
      },
      null,
      2,
    ),
  );
  return path;
}

beforeAll(async () => {
  stores = await openTestStores();
  await emptySchemas(stores);
  work = await mkdtemp(join(tmpdir(), 'acx-import-cli-'));
  malformed = await jsonExport('malformed.json', [
    valid('P0300'),
    ...malformedDtcRecords().map(({ reason: _reason, ...r }) => ({ is_generic: true, ...r })),
    valid('P0301'),
  ]);
});

afterAll(async () => {
  await stores?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('--validate', () => {
  it("exits non-zero and names each of the generator's malformed records with line, field and reason", async () => {
    const result = await runCli(['import', '--json', malformed, '--validate']);
    expect(result.code, result.stderr).toBe(9);
    const report = result.stdout;
    for (const record of malformedDtcRecords())
      expect(report, `${String(record.code)} (${record.reason})`).toMatch(
        new RegExp(`malformed\\.json:\\d+ \\S+: .*`),
      );
    expect(report).toMatch(/code "PACEG" is not a DTC code \(a letter P\/B\/C\/U and four hex digits/);
    expect(report).toMatch(/P93AF1.*four hex digits/);
    expect(report).toMatch(/X0100.*must start with P, B, C or U/);
    expect(report).toMatch(/p0100.*upper case/);
    expect(report).toMatch(/description_en.*required/);
    expect(report).toMatch(/severity "extreme" is not one of/);
    expect(report).toMatch(/category "engine" is not one of/);
    expect(report).toMatch(/category "body" does not match code C0104/);
    expect(report).toMatch(/symptoms: .*(not an array|expected an array)/);
    expect(report).toMatch(/P0106-XY.*suffix/);
    expect(report).toMatch(new RegExp(`Invalid records \\(${malformedDtcRecords().length}\\)`));
    expect(result.stderr).toMatch(/INVALID_INPUT/);
    expect((await stores.postgres.query('SELECT count(*)::int AS n FROM dtc_codes')).rows[0].n).toBe(0);
  });

  it('a valid input validates with exit 0 and writes nothing', async () => {
    const file = await jsonExport('valid.json', [valid('P0100'), valid('P0101')]);
    const result = await runCli(['import', '--json', file, '--validate']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/every record is valid; nothing written/);
    expect((await stores.postgres.query('SELECT count(*)::int AS n FROM dtc_codes')).rows[0].n).toBe(0);
  });
});

describe('a real import with invalid records', () => {
  it('writes nothing by default (exit 9), and the valid records with --skip-invalid (exit 3)', async () => {
    const refused = await runCli(['import', '--json', malformed]);
    expect(refused.code, refused.stderr).toBe(9);
    expect(refused.stderr).toMatch(/nothing was written/);
    expect((await stores.postgres.query('SELECT count(*)::int AS n FROM dtc_codes')).rows[0].n).toBe(0);

    const dry = await runCli([
      'import',
      '--json',
      malformed,
      '--skip-invalid',
      '--dry-run',
      '--format',
      'json',
    ]);
    expect(dry.code).toBe(3);
    const dryCounts = (JSON.parse(dry.stdout) as { totals: Record<string, number> }).totals;

    const partial = await runCli(['import', '--json', malformed, '--skip-invalid', '--format', 'json']);
    expect(partial.code, partial.stderr).toBe(3);
    const counts = (JSON.parse(partial.stdout) as { totals: Record<string, number> }).totals;
    expect(counts).toEqual({ inserted: 2, updated: 0, skipped: 0, rejected: malformedDtcRecords().length });
    expect(counts).toEqual(dryCounts);
    const codes = (await stores.postgres.query('SELECT code FROM dtc_codes ORDER BY code')).rows.map(
      (r) => r.code,
    );
    expect(codes).toEqual(['P0300', 'P0301']);
  });
});

describe('broken inputs and wrong flags: a clear error, no crash, nothing written', () => {
  const cases: Array<[string, () => Promise<string[]>, RegExp, number]> = [
    ['missing file', async () => ['--json', join(work, 'nope.json')], /no such file/, 5],
    ['no input flag', async () => [], /name at least one input/, 2],
    ['unknown strategy', async () => ['--json', malformed, '--on-conflict', 'replace'], /replace/, 2],
    ['bad batch size', async () => ['--json', malformed, '--batch-size', '0'], /batch-size/, 2],
    [
      'unknown table',
      async () => {
        const f = join(work, 'unknown-table.json');
        await writeFile(f, JSON.stringify({ postgresql: { nope: { columns: ['id'], data: [{ id: 1 }] } } }));
        return ['--json', f];
      },
      /table "nope" does not exist/,
      9,
    ],
    [
      'unknown column',
      async () => {
        const f = join(work, 'unknown-column.json');
        await writeFile(
          f,
          JSON.stringify({
            postgresql: {
              dtc_codes: { columns: ['code', 'colour'], data: [{ code: 'P0100', colour: 'red' }] },
            },
          }),
        );
        return ['--json', f];
      },
      /column "colour" not in table dtc_codes/,
      9,
    ],
    [
      'missing required column',
      async () => {
        const f = join(work, 'missing-required.json');
        await writeFile(
          f,
          JSON.stringify({ postgresql: { dtc_codes: { columns: ['code'], data: [{ code: 'P0100' }] } } }),
        );
        return ['--json', f];
      },
      /requires description_en/,
      9,
    ],
    [
      'a GraphML file given as --json',
      async () => {
        const f = join(work, 'graph.graphml');
        await writeFile(
          f,
          '<?xml version="1.0"?><graphml xmlns="http://graphml.graphdrawing.org/xmlns"><graph/></graphml>',
        );
        return ['--json', f];
      },
      /graph\.graphml/,
      9,
    ],
    ['a JSON file given as --sqlite', async () => ['--sqlite', malformed], /malformed\.json/, 9],
    ['a JSON file given as --graphml', async () => ['--graphml', malformed], /malformed\.json/, 9],
    ['a JSON file given as --vectors', async () => ['--vectors', malformed], /malformed\.json/, 9],
    [
      'vectors of the wrong dimension for the collection',
      async () => {
        const f = join(work, 'wrong-dim.json.gz');
        await writeVectorsFile(f, [
          {
            name: AUTOCOGNITIX_COLLECTION,
            config: { config: { params: { vectors: { size: 3, distance: 'Cosine' } } } },
            async *points() {
              yield { id: 1, vector: [1, 0, 0], payload: {} };
            },
          },
        ]);
        return ['--vectors', f];
      },
      /3-dimensional Cosine.*768-dimensional Cosine/,
      9,
    ],
    [
      'vectors of another distance',
      async () => {
        const f = join(work, 'wrong-distance.json.gz');
        await writeVectorsFile(f, [
          {
            name: AUTOCOGNITIX_COLLECTION,
            config: { config: { params: { vectors: { size: 768, distance: 'Dot' } } } },
            async *points() {
              yield { id: 1, vector: new Array(768).fill(0.01), payload: {} };
            },
          },
        ]);
        return ['--vectors', f];
      },
      /Dot.*Cosine/,
      9,
    ],
  ];

  it.each(cases)('%s', async (_name, args, message, exit) => {
    const before = await fingerprint(stores);
    const result = await runCli(['import', ...(await args())]);
    expect(result.stderr).not.toMatch(/INTERNAL|at .*\.ts:\d+/);
    expect(result.stderr).toMatch(message);
    expect(result.code, result.stderr).toBe(exit);
    expect(diffFingerprints(before, await fingerprint(stores))).toEqual([]);
  });
});

describe('help', () => {
  it('documents every flag and the guide examples', async () => {
    const result = await runCli(['import', '--help']);
    expect(result.code).toBe(0);
    for (const flag of [
      '--json',
      '--csv',
      '--sqlite',
      '--graphml',
      '--vectors',
      '--on-conflict',
      '--validate',
      '--dry-run',
      '--skip-invalid',
      '--batch-size',
    ])
      expect(result.stdout).toContain(flag);
    expect(result.stdout).toContain('acx-data import --json export.json --on-conflict newest');
  });
});
