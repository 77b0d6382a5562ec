/**
 * The import ledger: what it answers, and that it leaves no file behind, not even when its process is
 * killed mid-import (it once left a folder in the temporary directory for every killed import).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { SqliteImportLedger } from '../../src/operations/import-ledger.ts';

const ledgerModule = fileURLToPath(new URL('../../src/operations/import-ledger.ts', import.meta.url));

it('remembers first lines and nodes by input id', () => {
  const ledger = new SqliteImportLedger();
  try {
    expect(ledger.firstSeen('DTC', 'P0100', 1)).toBeNull();
    expect(ledger.firstSeen('DTC', 'P0100', 7)).toBe(1);
    expect(ledger.firstSeen('Symptom', 'P0100', 8)).toBeNull();
    ledger.batch(() =>
      ledger.rememberNode('a.csv', 'n1', { label: 'DTC', keyProperty: 'code', key: 'P0100' }),
    );
    expect(ledger.findNode('a.csv', 'n1')).toEqual({ label: 'DTC', keyProperty: 'code', key: 'P0100' });
    expect(ledger.findNode('b.csv', 'n1')).toBeUndefined();
  } finally {
    ledger.close();
  }
});

it('leaves nothing in the temporary directory when its process is killed', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'acx-ledger-test-'));
  try {
    const script = `
      const { SqliteImportLedger } = await import(${JSON.stringify(ledgerModule)});
      const ledger = new SqliteImportLedger();
      ledger.batch(() => { for (let i = 0; i < 50000; i++) ledger.firstSeen('DTC', 'P' + i + 'x'.repeat(200), i); });
      process.stdout.write('ready\\n');
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, TMPDIR: tmp, SQLITE_TMPDIR: tmp },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('ready')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`the child ended first (${code})`)));
    });
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('close', resolve));
    expect(readdirSync(tmp)).toEqual([]);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
