/**
 * The issues `sync --verify` finds, kept on disk (a temporary SQLite file, removed at the end) rather
 * than in memory, and read back sorted by code: the report's lists are complete and sorted whatever the
 * number of codes, and memory stays bounded (docs/design.md §10.5).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type Database, type Statement } from '../../sqlite.ts';

/** The report's issue lists, in report order (the original's keys first). */
export const ISSUE_KINDS = [
  'missing_in_neo4j',
  'missing_in_postgres',
  'missing_in_qdrant',
  'extra_in_neo4j',
  'extra_in_qdrant',
  'content_mismatches',
  'translation_mismatches',
  'relationship_mismatches',
  'payload_mismatches',
  'vector_issues',
  'translation_cache_unknown_codes',
  'translation_cache_invalid_entries',
] as const;
export type IssueKind = (typeof ISSUE_KINDS)[number];

/** Kinds whose entries are bare codes; the others are objects with a `code`. */
const CODE_LISTS: ReadonlySet<IssueKind> = new Set([
  'missing_in_neo4j',
  'missing_in_postgres',
  'missing_in_qdrant',
  'extra_in_neo4j',
  'extra_in_qdrant',
  'translation_cache_unknown_codes',
]);

export class IssueLog {
  private readonly dir = mkdtempSync(join(tmpdir(), 'acx-verify-'));
  private readonly db: Database;
  private readonly insert: Statement;

  constructor() {
    this.db = openDatabase(join(this.dir, 'issues.db'));
    this.db.exec('PRAGMA journal_mode = MEMORY; PRAGMA synchronous = OFF');
    this.db.exec(
      'CREATE TABLE issues (kind TEXT NOT NULL, code TEXT NOT NULL, entry TEXT NOT NULL, PRIMARY KEY (kind, code, entry)) WITHOUT ROWID',
    );
    this.insert = this.db.prepare('INSERT OR IGNORE INTO issues (kind, code, entry) VALUES (?, ?, ?)');
  }

  /** Records one issue; the same issue recorded twice counts once. */
  add(kind: IssueKind, code: string, detail?: Record<string, unknown>): void {
    const entry = CODE_LISTS.has(kind) ? JSON.stringify(code) : JSON.stringify({ code, ...detail });
    this.insert.run(kind, code, entry);
  }

  counts(): Record<IssueKind, number> {
    const rows = this.db.prepare('SELECT kind, count(*) AS n FROM issues GROUP BY kind').all() as {
      kind: IssueKind;
      n: number;
    }[];
    const counts = Object.fromEntries(ISSUE_KINDS.map((k) => [k, 0])) as Record<IssueKind, number>;
    for (const row of rows) counts[row.kind] = row.n;
    return counts;
  }

  /** The entries of one kind as JSON texts, sorted by code, at most `limit` (all when undefined). */
  *entries(kind: IssueKind, limit?: number): Generator<string> {
    const sql = `SELECT entry FROM issues WHERE kind = ? ORDER BY code, entry${limit === undefined ? '' : ' LIMIT ?'}`;
    const statement = this.db.prepare(sql);
    statement.setReturnArrays(true);
    const rows = limit === undefined ? statement.iterate(kind) : statement.iterate(kind, limit);
    for (const row of rows as unknown as Iterable<[string]>) yield row[0];
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
