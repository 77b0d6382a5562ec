/**
 * PostgreSQL 15 from Debian's packages, in its own data directory under `.stack/postgres/`, listening on
 * 127.0.0.1 with password (scram) authentication. PostgreSQL refuses to run as root, so as root every
 * server command runs as the `postgres` user.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StackContext, StackService } from './service.ts';

const VERSION = '15';
const BIN = `/usr/lib/postgresql/${VERSION}/bin`;
const port = (): string => process.env.ACX_PG_PORT ?? '5432';
const password = (): string => process.env.ACX_PG_PASSWORD ?? 'acxdata-local';
const USER = 'acx';
const DATABASE = 'autocognitix';

const isRoot = (): boolean => process.getuid?.() === 0;

function run(cmd: string, args: string[], options: { input?: string; allowFail?: boolean } = {}): string {
  const [file, argv] = isRoot() ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  const result = spawnSync(file, argv, { input: options.input, encoding: 'utf8', cwd: '/' });
  if (result.status !== 0 && !options.allowFail) {
    throw new Error(`${cmd} ${args.join(' ')} failed (${result.status}): ${result.stderr || result.stdout}`);
  }
  return result.stdout;
}

function ensureInstalled(ctx: StackContext): void {
  if (existsSync(join(BIN, 'postgres'))) return;
  if (!isRoot()) {
    throw new Error(
      `PostgreSQL ${VERSION} is not installed (${BIN}); run: sudo apt-get install postgresql-${VERSION}`,
    );
  }
  ctx.log(`installing postgresql-${VERSION} from Debian packages`);
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-qq', `postgresql-${VERSION}`], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}

const dataDir = (ctx: StackContext): string => join(ctx.stateDir, 'data');
const socketDir = (ctx: StackContext): string => join(ctx.stateDir, 'run');

function ownByPostgres(path: string): void {
  if (!isRoot()) return;
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  chownSync(path, uid, gid);
}

function initialise(ctx: StackContext): void {
  if (existsSync(join(dataDir(ctx), 'PG_VERSION'))) return;
  ctx.log('initialising a new PostgreSQL cluster');
  for (const dir of [ctx.stateDir, dataDir(ctx), socketDir(ctx)]) {
    mkdirSync(dir, { recursive: true });
    ownByPostgres(dir);
  }
  const pwfile = join(ctx.stateDir, 'pwfile');
  writeFileSync(pwfile, `${password()}\n`, { mode: 0o600 });
  ownByPostgres(pwfile);
  run(join(BIN, 'initdb'), [
    '-D',
    dataDir(ctx),
    '-U',
    'postgres',
    '--pwfile',
    pwfile,
    '--auth-local=scram-sha-256',
    '--auth-host=scram-sha-256',
    '-E',
    'UTF8',
    '--locale=C.UTF-8',
  ]);
  // A throwaway development cluster: durability is traded for speed (never do this in production).
  const conf = [
    "listen_addresses = '127.0.0.1'",
    `port = ${port()}`,
    `unix_socket_directories = '${socketDir(ctx)}'`,
    'fsync = off',
    'synchronous_commit = off',
    'full_page_writes = off',
    'shared_buffers = 256MB',
    'max_wal_size = 2GB',
    'max_connections = 60',
  ];
  writeFileSync(join(dataDir(ctx), 'postgresql.auto.conf'), conf.join('\n') + '\n');
}

function isRunning(ctx: StackContext): boolean {
  if (!existsSync(join(dataDir(ctx), 'PG_VERSION'))) return false;
  const out = run(join(BIN, 'pg_ctl'), ['-D', dataDir(ctx), 'status'], { allowFail: true });
  return out.includes('server is running');
}

function psqlAsPostgres(ctx: StackContext, sql: string): string {
  const env = `PGPASSWORD=${password()}`;
  const args = [
    '-h',
    socketDir(ctx),
    '-p',
    port(),
    '-U',
    'postgres',
    '-d',
    'postgres',
    '-At',
    '-v',
    'ON_ERROR_STOP=1',
    '-c',
    sql,
  ];
  return run('env', [env, join(BIN, 'psql'), ...args]);
}

function ensureRoleAndDatabase(ctx: StackContext): void {
  const pw = password().replace(/'/g, "''");
  const hasRole = psqlAsPostgres(ctx, `SELECT 1 FROM pg_roles WHERE rolname = '${USER}'`).trim() === '1';
  if (!hasRole) psqlAsPostgres(ctx, `CREATE ROLE ${USER} LOGIN CREATEDB PASSWORD '${pw}'`);
  const hasDb = psqlAsPostgres(ctx, `SELECT 1 FROM pg_database WHERE datname = '${DATABASE}'`).trim() === '1';
  if (!hasDb) psqlAsPostgres(ctx, `CREATE DATABASE ${DATABASE} OWNER ${USER}`);
}

export const postgresService: StackService = {
  name: 'postgres',

  async start(ctx) {
    ensureInstalled(ctx);
    initialise(ctx);
    if (!isRunning(ctx)) {
      ctx.log(`starting PostgreSQL ${VERSION} on 127.0.0.1:${port()}`);
      const logFile = join(ctx.stateDir, 'postgres.log');
      if (!existsSync(logFile)) writeFileSync(logFile, '');
      ownByPostgres(logFile);
      run(join(BIN, 'pg_ctl'), ['-D', dataDir(ctx), '-l', logFile, '-w', '-t', '60', 'start']);
    }
    ensureRoleAndDatabase(ctx);
  },

  async stop(ctx) {
    if (isRunning(ctx)) run(join(BIN, 'pg_ctl'), ['-D', dataDir(ctx), '-m', 'fast', '-w', 'stop']);
  },

  async status(ctx) {
    if (!isRunning(ctx)) return { running: false, detail: 'not running' };
    const pid = readFileSync(join(dataDir(ctx), 'postmaster.pid'), 'utf8').split('\n')[0];
    return {
      running: true,
      detail: `postgresql://127.0.0.1:${port()}/${DATABASE}, PostgreSQL ${VERSION}, pid ${pid}`,
    };
  },

  env() {
    return { DATABASE_URL: `postgresql://${USER}:${password()}@127.0.0.1:${port()}/${DATABASE}` };
  },
};
