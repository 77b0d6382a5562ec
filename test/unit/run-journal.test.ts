/**
 * Run journals (ADR 0009): where they live, that the databases they name never carry a credential, and
 * that a journal of a dead process is told from a running one.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { databaseIdentity, readStateDir } from '../../src/config/state.ts';
import {
  isRunning,
  journalFolder,
  readJournal,
  restoreJournalPath,
  writeJournal,
} from '../../src/operations/run-journal.ts';

const env = {
  DATABASE_URL: 'postgresql+asyncpg://acx:s3cret-pg@db.example:5433/autocognitix?sslmode=require',
  NEO4J_URI: 'bolt://graph.example:7687',
  NEO4J_PASSWORD: 's3cret-neo',
  QDRANT_URL: 'https://user:s3cret-q@vec.example:6333/',
  QDRANT_API_KEY: 's3cret-key',
};

describe('run journals', () => {
  it('name the databases without any credential', () => {
    const identity = databaseIdentity(env);
    expect(identity).toEqual({
      postgres: 'postgresql://db.example:5433/autocognitix',
      neo4j: 'bolt://graph.example:7687#default',
      qdrant: 'https://vec.example:6333',
    });
    expect(JSON.stringify(identity)).not.toMatch(/s3cret|acx:/);
  });

  it('live in ACX_STATE_DIR, else XDG_STATE_HOME/acx-data, in one folder per set of databases', () => {
    expect(readStateDir({ ACX_STATE_DIR: '/srv/acx-state', XDG_STATE_HOME: '/x' })).toBe('/srv/acx-state');
    expect(readStateDir({ XDG_STATE_HOME: '/x' })).toBe(join('/x', 'acx-data'));
    const a = journalFolder({ stateDir: '/s', databases: databaseIdentity(env) });
    const same = journalFolder({
      stateDir: '/s',
      databases: databaseIdentity({ ...env, NEO4J_PASSWORD: 'other' }),
    });
    const other = journalFolder({
      stateDir: '/s',
      databases: databaseIdentity({ ...env, QDRANT_URL: 'http://q2:6333' }),
    });
    expect(a).toBe(same);
    expect(a).not.toBe(other);
    expect(a).toMatch(/^\/s\/journals\/[0-9a-f]{16}$/);
  });

  it('are written atomically and read back; a dead process is not running, the current one is', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'acx-journal-'));
    try {
      const place = { stateDir: dir, databases: { postgres: 'postgresql://h:5432/d' } };
      const path = restoreJournalPath(place);
      const dead = spawnSync(process.execPath, [
        '-e',
        'process.stdout.write(String(process.pid))',
      ]).stdout.toString();
      await writeJournal(path, {
        pid: Number(dead),
        host: hostname(),
        startedAt: 'x',
        databases: {},
        done: [],
      });
      expect(await readdir(journalFolder(place))).toEqual(['restore.json']);
      const journal = await readJournal(path);
      expect(journal?.pid).toBe(Number(dead));
      expect(isRunning(journal!)).toBe(false);
      expect(isRunning({ ...journal!, pid: process.ppid })).toBe(true);
      expect(await readJournal(join(dir, 'none.json'))).toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
