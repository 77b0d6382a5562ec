/**
 * `acx-data schedule`: `--check` parses every acx-data command of the shipped crontab and units with the
 * real CLI and names a broken line; the shell splitter it relies on; writing refuses to overwrite a
 * different file; and no credential from the environment file reaches a generated file or the output.
 */
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkScheduleFiles } from '../../src/cli/handlers/schedule-handler.ts';
import { scheduleInvocations } from '../../src/schedule/schedule-invocations.ts';
import { splitCommands } from '../../src/schedule/shell-words.ts';
import { runCli } from '../support/cli.ts';

const DEPLOY = fileURLToPath(new URL('../../deploy/', import.meta.url));
const PASSWORD = 'pw-Hq73-marble-orchard';

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'acx-schedule-check-'));
});
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('shell words', () => {
  it('splits commands at operators, drops redirections, keeps quotes’ content and $(…) whole', () => {
    expect(
      splitCommands(
        `cd /x && set -a && . '/etc/a b.env' && acx-data sync --report "/r/v-$(date +%Y)".json >> /l 2>&1; y "a\\"b"`,
      ),
    ).toEqual([
      ['cd', '/x'],
      ['set', '-a'],
      ['.', '/etc/a b.env'],
      ['acx-data', 'sync', '--report', '/r/v-$(date +%Y).json'],
      ['y', 'a"b'],
    ]);
    expect(splitCommands('$ACX backup --keep 30', { ACX: '/usr/bin/acx-data' })).toEqual([
      ['/usr/bin/acx-data', 'backup', '--keep', '30'],
    ]);
    // An unknown variable stays as written: never an empty word that would shift the flags.
    expect(splitCommands('acx-data backup --upload-s3 ${BUCKET} --x $NOPE', {})).toEqual([
      ['acx-data', 'backup', '--upload-s3', '${BUCKET}', '--x', '$NOPE'],
    ]);
    expect(() => splitCommands(`acx-data 'open`)).toThrow(/single quote/);
  });

  it('finds the invocation in a systemd sh -c line, %% and $$ undone', () => {
    const unit = `[Service]\nExecStart=/bin/sh -c "exec /b/acx-data sync --report \\"/r/v-$$(date +%%d).json\\""\n`;
    expect(scheduleInvocations(unit, 'systemd')).toEqual([
      { line: 2, args: ['sync', '--report', '/r/v-$(date +%d).json'] },
    ]);
  });

  it('reports an unescaped % in a crontab command, and applies crontab variables', () => {
    const text = `ACX=/usr/bin/acx-data\n0 4 * * * $ACX sync --verify --report /r/$(date +%Y).json\n0 5 * * * $ACX sync --all\n`;
    const found = scheduleInvocations(text, 'crontab');
    expect(found[0]).toMatchObject({ line: 2, error: expect.stringMatching(/unescaped %/) });
    expect(found[1]).toEqual({ line: 3, args: ['sync', '--all'] });
  });
});

describe('acx-data schedule --check', () => {
  it('accepts every command of the shipped crontab and units', async () => {
    const units = (await readdir(join(DEPLOY, 'systemd'))).map((n) => join(DEPLOY, 'systemd', n));
    const lines = await checkScheduleFiles([join(DEPLOY, 'crontab'), ...units]);
    expect(lines.filter((l) => l.error !== undefined)).toEqual([]);
    // five jobs in the crontab, five services
    expect(lines.filter((l) => l.command !== undefined)).toHaveLength(14);
    expect(lines.map((l) => l.command)).toContain(
      'acx-data backup --cleanup --keep 30 --keep-daily 7 --keep-weekly 4 --keep-monthly 12 --backup-dir /var/lib/acx-data/backups --lock-wait 2h --metrics-file /var/lib/prometheus/node-exporter/acx_data_cleanup.prom',
    );
  });

  it('rejects a broken line and names it, through the real CLI', async () => {
    const shipped = await readFile(join(DEPLOY, 'crontab'), 'utf8');
    const broken = join(work, 'crontab');
    await writeFile(broken, shipped.replace('--cleanup --keep 30', '--cleanup --kep 30'));
    const lineNo = shipped.split('\n').findIndex((l) => l.includes('--cleanup --keep 30')) + 1;
    const result = await runCli(['schedule', '--check', broken]);
    expect(result.code).toBe(9);
    expect(result.stdout).toContain(`BAD ${broken}:${lineNo}: acx-data backup --cleanup --kep 30`);
    expect(result.stdout).toMatch(/unknown option '--kep'/);
    expect(result.stderr).toContain(
      `INVALID_INPUT [${broken}:${lineNo}]: 1 of 7 acx-data commands are invalid`,
    );
  });
});

describe('acx-data schedule (writing)', () => {
  it('writes no credential of the environment file anywhere, and refuses to overwrite a changed file', async () => {
    const envFile = join(work, 'acx.env');
    await writeFile(envFile, `NEO4J_PASSWORD=${PASSWORD}\nDATABASE_URL=postgresql://u:${PASSWORD}@h/db\n`);
    const out = join(work, 'out');
    const args = [
      'schedule',
      '--crontab',
      '--systemd',
      '--out',
      out,
      '--env-file',
      envFile,
      '--upload-gcs',
      'b',
    ];
    const first = await runCli(args, { ...process.env, NEO4J_PASSWORD: PASSWORD });
    expect(first.code, first.stderr).toBe(0);
    const names = [
      'crontab',
      'acx-data.env.example',
      ...(await readdir(join(out, 'systemd'))).map((n) => join('systemd', n)),
    ];
    expect(names).toHaveLength(16);
    for (const name of names) {
      const text = await readFile(join(out, name), 'utf8');
      expect(text, name).not.toContain(PASSWORD);
      if (name === 'crontab' || name.endsWith('.service')) expect(text, name).toContain(envFile);
    }
    expect(first.stdout + first.stderr).not.toContain(PASSWORD);
    expect(await readFile(join(out, 'crontab'), 'utf8')).toContain('--upload-gcs b');

    const again = await runCli(args);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^unchanged/m);
    await writeFile(join(out, 'crontab'), '# edited by hand\n');
    const refused = await runCli(args);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/NOT_EMPTY .*crontab exists and differs/);
    expect(await readFile(join(out, 'crontab'), 'utf8')).toBe('# edited by hand\n');
    const forced = await runCli([...args, '--force']);
    expect(forced.code).toBe(0);
    expect(await readFile(join(out, 'crontab'), 'utf8')).toContain('--upload-gcs b');
  });
});
