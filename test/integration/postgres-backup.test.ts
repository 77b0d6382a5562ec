/**
 * PostgreSQL backup → restore into an empty database → identical content, schema objects and sequence
 * values; with pg_dump and with the built-in schema dump.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffFingerprints, type Fingerprint } from '../../src/model/content-hash.ts';
import { silentReporter } from '../../src/progress.ts';
import type { TestStores } from '../support/stores.ts';
import {
  backupPostgres,
  findPgDump,
  openPostgresSnapshot,
  type PgDumpMode,
} from '../../src/stores/postgres/postgres-backup.ts';
import { restorePostgres } from '../../src/stores/postgres/postgres-restore.ts';
import { emptyPostgres } from '../../src/stores/postgres/postgres-schema.ts';
import { fingerprintPostgres } from '../../src/stores/postgres/postgres-fingerprint.ts';
import { openTestStores, seed } from '../support/stores.ts';
import { snapshotOneStore, type StoreSnapshot } from '../support/snapshot.ts';

let stores: TestStores;
let before: Fingerprint;

/** Objects the AutoCognitix schema does not have but a restore must keep: identity, generated column, domain, view, trigger. */
const EXTRA_SCHEMA = `
  CREATE DOMAIN public.positive_int AS integer CHECK (VALUE > 0);
  CREATE TABLE public.audit_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dtc_code varchar(20) REFERENCES public.dtc_codes(code) ON DELETE CASCADE,
    weight public.positive_int NOT NULL DEFAULT 1,
    doubled integer GENERATED ALWAYS AS (weight * 2) STORED,
    note text CHECK (note <> 'forbidden'),
    touched_at timestamptz
  );
  CREATE FUNCTION public.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.touched_at := now(); RETURN NEW; END $$;
  CREATE TRIGGER audit_touch BEFORE UPDATE ON public.audit_log FOR EACH ROW EXECUTE FUNCTION public.touch();
  CREATE VIEW public.critical_codes AS SELECT code, description_en FROM public.dtc_codes WHERE severity = 'critical';
  INSERT INTO public.audit_log (dtc_code, weight, note) SELECT code, 3, E'tab\\there, új sor\\nő' FROM public.dtc_codes LIMIT 50;
  INSERT INTO public.audit_log (dtc_code, weight, note) VALUES (NULL, 1, NULL), (NULL, 2, '');
  SELECT setval(pg_get_serial_sequence('public.dtc_codes', 'id'), 90000, false);
`;

beforeAll(async () => {
  stores = await openTestStores();
  await seed(stores, 0.05, 21);
  await stores.postgres.query(EXTRA_SCHEMA);
  before = await fingerprintPostgres(stores.postgres);
});

afterAll(async () => {
  await stores?.close();
});

async function backup(mode: PgDumpMode): Promise<StoreSnapshot> {
  const pgSnapshot = await openPostgresSnapshot(stores.postgres);
  try {
    return await snapshotOneStore('postgres', (files) =>
      backupPostgres(
        pgSnapshot,
        { files, reporter: silentReporter },
        { url: process.env.DATABASE_URL ?? '', pgDump: mode },
      ),
    );
  } finally {
    await pgSnapshot.release();
  }
}

describe.each<[string, PgDumpMode]>([
  ['pg_dump', 'auto'],
  ['built-in schema dump', 'never'],
])('PostgreSQL round trip with %s', (label, mode) => {
  let snap: StoreSnapshot;

  beforeAll(async () => {
    if (mode === 'auto')
      expect(await findPgDump(15), 'pg_dump must be installed for this case').toBeDefined();
    snap = await backup(mode);
  });

  afterAll(async () => {
    await snap?.cleanup();
  });

  it(`records how the schema was dumped (${label})`, () => {
    expect(String(snap.section.method)).toMatch(mode === 'auto' ? /^pg_dump 15/ : /^built-in$/);
    const tables = snap.section.datasets.filter((d) => d.kind === 'table');
    expect(tables.find((d) => d.name === 'public.dtc_codes')?.records).toBe(350);
    expect(tables.find((d) => d.name === 'public.audit_log')?.records).toBe(52);
  });

  it('restores into an empty database with identical rows, schema objects and sequence values', async () => {
    await emptyPostgres(stores.postgres);
    const summary = await restorePostgres(stores.postgres, {
      snapshot: snap.reader,
      section: snap.section,
      reporter: silentReporter,
      replace: false,
    });
    expect(summary.datasets.find((d) => d.name === 'public.dtc_codes')?.records).toBe(350);
    expect(diffFingerprints(before, await fingerprintPostgres(stores.postgres))).toEqual([]);
    // The identity and the trigger work after the restore.
    await stores.postgres.query("INSERT INTO public.audit_log (weight, note) VALUES (5, 'after restore')");
    const { rows } = await stores.postgres.query<{ id: string; doubled: number }>(
      "SELECT id, doubled FROM public.audit_log WHERE note = 'after restore'",
    );
    expect(rows[0]).toEqual({ id: '53', doubled: 10 });
    await stores.postgres.query("DELETE FROM public.audit_log WHERE note = 'after restore'");
    await stores.postgres.query("SELECT setval(pg_get_serial_sequence('public.audit_log', 'id'), 52)");
  });

  it('refuses a non-empty database without replace and changes nothing', async () => {
    const attempt = restorePostgres(stores.postgres, {
      snapshot: snap.reader,
      section: snap.section,
      reporter: silentReporter,
      replace: false,
    });
    await expect(attempt).rejects.toMatchObject({ code: 'NOT_EMPTY' });
    expect(diffFingerprints(before, await fingerprintPostgres(stores.postgres))).toEqual([]);
  });

  it('replaces a non-empty database when told to', async () => {
    await stores.postgres.query("INSERT INTO public.audit_log (weight, note) VALUES (7, 'extra')");
    await stores.postgres.query('CREATE TABLE public.stray (x int)');
    await restorePostgres(stores.postgres, {
      snapshot: snap.reader,
      section: snap.section,
      reporter: silentReporter,
      replace: true,
    });
    expect(diffFingerprints(before, await fingerprintPostgres(stores.postgres))).toEqual([]);
  });

  it('rolls everything back when a table does not load as listed', async () => {
    await emptyPostgres(stores.postgres);
    const section = structuredClone(snap.section);
    const table = section.datasets.find((d) => d.name === 'public.vehicle_models');
    if (!table) throw new Error('no vehicle_models dataset');
    table.records += 1;
    const attempt = restorePostgres(stores.postgres, {
      snapshot: snap.reader,
      section,
      reporter: silentReporter,
      replace: false,
    });
    await expect(attempt).rejects.toMatchObject({ code: 'INTEGRITY' });
    const { rows } = await stores.postgres.query<{ n: string }>(
      "SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'public'",
    );
    expect(Number(rows[0]?.n)).toBe(0);
    await restorePostgres(stores.postgres, {
      snapshot: snap.reader,
      section: snap.section,
      reporter: silentReporter,
      replace: false,
    });
  });
});
