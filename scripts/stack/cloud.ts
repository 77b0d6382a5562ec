/**
 * The cloud storage servers of the local stack (design §12.6), each a detached process with its state
 * under `.stack/<name>/`:
 *
 * - `s3`: versitygw (github.com/versity/versitygw, Go module proxy), posix backend, 127.0.0.1:7070,
 *   internal IAM (accounts under `.stack/s3/iam/`; the root account is acxtest).
 * - `gcs`: fake-gcs-server (github.com/fsouza/fake-gcs-server, Go module proxy), 127.0.0.1:4443.
 * - `azure`: Azurite (npm `azurite`), blob service on 127.0.0.1:10000.
 *
 * The Go servers are built once with `go install` at pinned versions into `~/.cache/acx-data/bin`
 * (`ACX_TOOLS_DIR`), about five minutes on a new machine, and reused afterwards; Azurite is installed
 * once with npm beside them (`~/.cache/acx-data/azurite-<version>`), not as a devDependency: its 200-odd
 * packages would otherwise be unpacked by every `npm ci`. Each server's
 * credentials are local test values, never real ones. `stack:up` also creates the bucket
 * `acx-backups` on S3 and GCS, so the README's cloud commands run as written.
 */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { readPidFile, type StackContext, type StackService } from './service.ts';

const S3_ACCESS_KEY = 'acxtest';
const S3_SECRET_KEY = 'acxtest-secret-key';
/** Azurite's documented development account (public, the same on every machine). */
const AZURITE_ACCOUNT = 'devstoreaccount1';
const AZURITE_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
/** The bucket stack:up creates on S3 and GCS (the README's examples use it). */
export const STACK_BUCKET = 'acx-backups';

const s3Port = (): string => process.env.ACX_S3_PORT ?? '7070';
const gcsPort = (): string => process.env.ACX_GCS_PORT ?? '4443';
const azuritePort = (): string => process.env.ACX_AZURITE_PORT ?? '10000';

const toolsDir = (): string =>
  process.env.ACX_TOOLS_DIR?.trim() || join(homedir(), '.cache', 'acx-data', 'bin');

interface GoTool {
  module: string;
  /** The package to install (module path plus sub-package). */
  pkg: string;
  version: string;
  binary: string;
}

const VERSITYGW: GoTool = {
  module: 'github.com/versity/versitygw',
  pkg: 'github.com/versity/versitygw/cmd/versitygw',
  version: 'v1.8.0',
  binary: 'versitygw',
};
const FAKE_GCS: GoTool = {
  module: 'github.com/fsouza/fake-gcs-server',
  pkg: 'github.com/fsouza/fake-gcs-server',
  version: 'v1.56.1',
  binary: 'fake-gcs-server',
};

/** The tool's binary at its pinned version, built with `go install` when missing or of another version. */
function ensureGoTool(ctx: StackContext, tool: GoTool): string {
  const binary = join(toolsDir(), tool.binary);
  if (existsSync(binary)) {
    try {
      const info = execFileSync('go', ['version', '-m', binary], { encoding: 'utf8' });
      if (info.includes(`${tool.module}\t${tool.version}`)) return binary;
    } catch {
      // Not readable as a Go binary: build it again.
    }
  }
  mkdirSync(toolsDir(), { recursive: true });
  ctx.log(`building ${tool.pkg}@${tool.version} with go install (once; a few minutes)`);
  try {
    execFileSync('go', ['install', `${tool.pkg}@${tool.version}`], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, GOBIN: toolsDir(), GOFLAGS: '-mod=mod' },
    });
  } catch (error) {
    throw new Error(
      `could not build ${tool.pkg}@${tool.version} (needs Go and the Go module proxy): ${(error as Error).message}`,
    );
  }
  return binary;
}

/**
 * The versitygw binary of the stack, for its admin CLI (`versitygw admin … create-user`, with the
 * root credentials in ADMIN_ACCESS_KEY/ADMIN_SECRET_KEY); it exists once `stack:up` has run.
 */
export const versitygwBinary = (): string => join(toolsDir(), VERSITYGW.binary);

const AZURITE_VERSION = '3.37.0';

/** Azurite's blob server script at its pinned version, installed with npm when missing. */
function ensureAzurite(ctx: StackContext): string {
  const dir = join(toolsDir(), '..', `azurite-${AZURITE_VERSION}`);
  const main = join(dir, 'node_modules', 'azurite', 'dist', 'src', 'blob', 'main.js');
  if (existsSync(main)) return main;
  mkdirSync(dir, { recursive: true });
  ctx.log(`installing azurite@${AZURITE_VERSION} from the npm registry (once)`);
  try {
    execFileSync(
      'npm',
      ['install', '--prefix', dir, '--no-save', '--no-audit', '--no-fund', `azurite@${AZURITE_VERSION}`],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
  } catch (error) {
    throw new Error(`could not install azurite@${AZURITE_VERSION} with npm: ${(error as Error).message}`);
  }
  return main;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface ProcessSpec {
  name: string;
  url: () => string;
  /** Resolves true when the server answers. */
  probe: () => Promise<boolean>;
  /** The command line; may install what it needs first. */
  command: (ctx: StackContext) => { file: string; args: string[]; env?: NodeJS.ProcessEnv };
  /** After the first successful probe (idempotent): buckets. */
  prepare?: () => Promise<void>;
  env: () => Record<string, string>;
  describe: string;
}

const pidFile = (ctx: StackContext): string => join(ctx.stateDir, 'server.pid');

const readPid = (ctx: StackContext): number | undefined => readPidFile(pidFile(ctx));

async function answers(url: string, init?: RequestInit): Promise<boolean> {
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(2000) });
    await response.arrayBuffer();
    return response.status < 500;
  } catch {
    return false;
  }
}

function processService(spec: ProcessSpec): StackService {
  return {
    name: spec.name,
    async start(ctx) {
      if (!(await spec.probe())) {
        const { file, args, env } = spec.command(ctx);
        ctx.log(`starting ${spec.describe} on ${spec.url()}`);
        const log = openSync(join(ctx.stateDir, 'server.log'), 'a');
        const child = spawn(file, args, {
          cwd: ctx.stateDir,
          detached: true,
          stdio: ['ignore', log, log],
          env: { ...process.env, ...env },
        });
        closeSync(log);
        if (child.pid === undefined) throw new Error(`could not start ${spec.describe}`);
        writeFileSync(pidFile(ctx), `${child.pid}\n`);
        child.unref();
        const deadline = Date.now() + 60_000;
        let up = false;
        while (!up && Date.now() < deadline) {
          up = await spec.probe();
          if (!up && readPid(ctx) === undefined) break;
          if (!up) await sleep(250);
        }
        if (!up)
          throw new Error(
            `${spec.describe} did not answer on ${spec.url()} within 60 s; see ${join(ctx.stateDir, 'server.log')}`,
          );
      }
      await spec.prepare?.();
    },
    async stop(ctx) {
      const pid = readPid(ctx);
      if (pid !== undefined) {
        process.kill(pid, 'SIGTERM');
        const deadline = Date.now() + 15_000;
        while (Date.now() < deadline && readPid(ctx) !== undefined) await sleep(100);
        if (readPid(ctx) !== undefined) process.kill(pid, 'SIGKILL');
      }
      rmSync(pidFile(ctx), { force: true });
    },
    async status(ctx) {
      const up = await spec.probe();
      const pid = readPid(ctx);
      return up
        ? { running: true, detail: `${spec.url()}, ${spec.describe}, pid ${pid ?? 'unknown'}` }
        : { running: false, detail: pid ? `pid ${pid} does not answer on ${spec.url()}` : 'not running' };
    },
    env: () => spec.env(),
  };
}

const s3Url = (): string => `http://127.0.0.1:${s3Port()}`;
const gcsUrl = (): string => `http://127.0.0.1:${gcsPort()}`;
const azuriteUrl = (): string => `http://127.0.0.1:${azuritePort()}/${AZURITE_ACCOUNT}`;

async function createS3Bucket(name: string): Promise<void> {
  const { S3Client, CreateBucketCommand } = await import('@aws-sdk/client-s3');
  const client = new S3Client({
    region: 'us-east-1',
    endpoint: s3Url(),
    forcePathStyle: true,
    credentials: { accessKeyId: S3_ACCESS_KEY, secretAccessKey: S3_SECRET_KEY },
  });
  try {
    await client.send(new CreateBucketCommand({ Bucket: name }));
  } catch (error) {
    const code = (error as { name?: string }).name;
    if (code !== 'BucketAlreadyOwnedByYou' && code !== 'BucketAlreadyExists') throw error;
  } finally {
    client.destroy();
  }
}

export const s3Service = processService({
  name: 's3',
  describe: `versitygw ${VERSITYGW.version} (S3)`,
  url: s3Url,
  // An unsigned request is answered 403 by a live gateway.
  probe: () => answers(`${s3Url()}/`),
  command: (ctx) => {
    const root = join(ctx.stateDir, 'data');
    // Internal IAM: accounts besides root (`versitygw admin create-user`), so that bucket policies
    // can be tested against a user who is not the bucket's owner (the README's least-privilege policy).
    const iam = join(ctx.stateDir, 'iam');
    mkdirSync(root, { recursive: true });
    mkdirSync(iam, { recursive: true });
    return {
      file: ensureGoTool(ctx, VERSITYGW),
      args: ['--port', `127.0.0.1:${s3Port()}`, '--iam-dir', iam, 'posix', root],
      env: { ROOT_ACCESS_KEY: S3_ACCESS_KEY, ROOT_SECRET_KEY: S3_SECRET_KEY },
    };
  },
  prepare: () => createS3Bucket(STACK_BUCKET),
  env: () => ({
    AWS_ACCESS_KEY_ID: S3_ACCESS_KEY,
    AWS_SECRET_ACCESS_KEY: S3_SECRET_KEY,
    AWS_DEFAULT_REGION: 'us-east-1',
    ACX_S3_ENDPOINT: s3Url(),
  }),
});

export const gcsService = processService({
  name: 'gcs',
  describe: `fake-gcs-server ${FAKE_GCS.version} (GCS)`,
  url: gcsUrl,
  probe: () => answers(`${gcsUrl()}/storage/v1/b?project=acx-test`),
  command: (ctx) => {
    const root = join(ctx.stateDir, 'data');
    mkdirSync(root, { recursive: true });
    return {
      file: ensureGoTool(ctx, FAKE_GCS),
      args: [
        '-scheme',
        'http',
        '-host',
        '127.0.0.1',
        '-port',
        gcsPort(),
        '-public-host',
        `127.0.0.1:${gcsPort()}`,
        '-backend',
        'filesystem',
        '-filesystem-root',
        root,
        '-log-level',
        'warn',
      ],
    };
  },
  prepare: async () => {
    const response = await fetch(`${gcsUrl()}/storage/v1/b?project=acx-test`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: STACK_BUCKET }),
    });
    await response.arrayBuffer();
    if (!response.ok && response.status !== 409)
      throw new Error(`fake-gcs-server refused to create bucket ${STACK_BUCKET}: HTTP ${response.status}`);
  },
  env: () => ({ STORAGE_EMULATOR_HOST: gcsUrl() }),
});

export const azureService = processService({
  name: 'azure',
  describe: `Azurite ${AZURITE_VERSION} (Azure Blob)`,
  url: azuriteUrl,
  probe: () => answers(`${azuriteUrl()}?comp=list`),
  command: (ctx) => {
    const root = join(ctx.stateDir, 'data');
    mkdirSync(root, { recursive: true });
    return {
      file: process.execPath,
      args: [
        ensureAzurite(ctx),
        '--blobHost',
        '127.0.0.1',
        '--blobPort',
        azuritePort(),
        '--location',
        root,
        '--silent',
        '--skipApiVersionCheck',
        '--loose',
        // Without it Azurite tries to reach applicationinsights.azure.com.
        '--disableTelemetry',
      ],
    };
  },
  env: () => ({
    AZURE_STORAGE_CONNECTION_STRING: `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${azuriteUrl()};`,
  }),
});
