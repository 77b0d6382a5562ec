/**
 * The GCS driver against fake-gcs-server (STORAGE_EMULATOR_HOST, e.g. http://127.0.0.1:4443, started
 * with `-scheme http -public-host <host:port> -backend memory|filesystem`), and against real GCS when
 * ACX_TEST_GCS_BUCKET is set without an emulator (credentials: GOOGLE_APPLICATION_CREDENTIALS or ADC).
 * Each contract test gets a fresh random prefix in one bucket.
 */
import { generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGcsClient } from '../../src/storage/gcs/gcs-storage-client.ts';
import { GcsStorage, openGcsStorage } from '../../src/storage/gcs/gcs-storage.ts';
import type { Storage } from '../../src/storage/storage.ts';
import { deletePrefix, listAll } from '../../src/storage/storage-helpers.ts';
import { compareKeys } from '../../src/storage/storage-keys.ts';
import { describeStorageContract } from './storage-contract.ts';
import {
  bytesOf,
  collect,
  expectGeneratedObject,
  expectStorageError,
  gatedSource,
  generatedChunks,
  printedForms,
  randomPrefix,
  withLiveMemoryPeak,
} from './storage-contract-data.ts';

const MiB = 1024 * 1024;

const emulator = process.env.STORAGE_EMULATOR_HOST;
const realBucket = emulator ? undefined : process.env.ACX_TEST_GCS_BUCKET;
const BUCKET = 'acx-contract';

if (!emulator) {
  console.warn(
    'GCS emulator tests skipped: set STORAGE_EMULATOR_HOST to a fake-gcs-server (e.g. http://127.0.0.1:4443)',
  );
}
if (!realBucket) {
  console.warn(
    'real GCS tests skipped: set ACX_TEST_GCS_BUCKET (and credentials, without STORAGE_EMULATOR_HOST)',
  );
}

/** Creates `bucket` on the emulator unless it exists (the driver never creates buckets). */
async function ensureEmulatorBucket(bucket: string): Promise<void> {
  const response = await fetch(`${emulator}/storage/v1/b?project=acx-test`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: bucket }),
  });
  if (!response.ok && response.status !== 409) {
    throw new Error(`cannot create bucket ${bucket}: HTTP ${response.status} ${await response.text()}`);
  }
}

/** A fresh empty storage under a random prefix, removed again by cleanup(). */
function factoryFor(bucket: string, env: NodeJS.ProcessEnv) {
  return async () => {
    const location = `gs://${bucket}/${randomPrefix()}`;
    const storage = await openGcsStorage(location, { env });
    return {
      storage,
      async cleanup() {
        const sweeper = await openGcsStorage(location, { env });
        for await (const info of sweeper.list('')) await sweeper.delete(info.key);
        await sweeper.close();
      },
    };
  };
}

describe.skipIf(!emulator)('GCS storage on fake-gcs-server', () => {
  const env = { STORAGE_EMULATOR_HOST: emulator };
  beforeAll(() => ensureEmulatorBucket(BUCKET));

  describeStorageContract('gcs (emulator)', factoryFor(BUCKET, env));

  describe('driver', () => {
    let storage: Storage;
    let cleanup: () => Promise<void>;
    beforeAll(async () => {
      ({ storage, cleanup } = await factoryFor(BUCKET, env)());
    });
    afterAll(async () => {
      await storage.close();
      await cleanup();
    });

    it('names the bucket and prefix as its location, and nothing else', async () => {
      expect(storage.kind).toBe('gcs');
      expect(storage.location).toMatch(/^gs:\/\/acx-contract\/t-[a-z0-9]+-[0-9a-f]{12}$/);
      expect(storage.deleteAbandoned).toBeUndefined();
      const root = await openGcsStorage('gs://acx-contract/', { env });
      expect(root.location).toBe('gs://acx-contract');
      await root.close();
    });

    it('lists 1 200 objects across two pages in UTF-8 byte order', async () => {
      // Characters whose UTF-16 order differs from their UTF-8 order, spread over every page.
      const tails = ['a', 'z', 'é', 'ﬀ', '😀', '~', 'A', '0', '-'];
      const expected = Array.from(
        { length: 1_200 },
        (_, i) => `pages/${tails[i % tails.length]}${String(i).padStart(4, '0')}`,
      ).sort(compareKeys);
      for (let i = 0; i < expected.length; i += 100) {
        await Promise.all(expected.slice(i, i + 100).map((key) => storage.put(key, key)));
      }
      const listed = await listAll(storage, 'pages/');
      expect(listed.map((info) => info.key)).toEqual(expected);
      expect(listed.every((info) => info.size === Buffer.byteLength(info.key))).toBe(true);
      await deletePrefix(storage, 'pages/', { concurrency: 50 });
      expect(await listAll(storage, 'pages/')).toEqual([]);
    });

    it('streams 40 MiB up in chunks with bounded memory, and reads it and a range back identical', async () => {
      const size = 40 * MiB + 333;
      // Live bytes only: a full GC before each sample, so the generator's garbage does not count and a
      // driver that held the object (40 MiB) would fail.
      const { result: info, peak } = await withLiveMemoryPeak(100, () =>
        storage.put('large/stream.bin', Readable.from(generatedChunks(size, 42))),
      );
      expect(info.size).toBe(size);
      // Measured ~24.5 MiB: the SDK holds up to three copies of one 8 MiB resumable chunk.
      expect(peak).toBeLessThan(32 * MiB);
      await expectGeneratedObject(storage, 'large/stream.bin', size, 42, {
        offset: 17 * MiB + 5,
        length: 3 * MiB,
      });
      await storage.delete('large/stream.bin');
    });

    it('leaves no object when a stream put past its first chunk fails or aborts', async () => {
      const controller = new AbortController();
      const aborted = gatedSource(Buffer.alloc(9 * MiB, 1), Buffer.alloc(10));
      const writing = storage.put('partial/aborted', aborted.source, { signal: controller.signal });
      await aborted.consumed;
      const reason = new Error('stop');
      controller.abort(reason);
      await expect(writing).rejects.toBe(reason);
      const failing = gatedSource(Buffer.alloc(9 * MiB, 2), Buffer.alloc(10));
      const failed = storage.put('partial/failed', failing.source, { ifNotExists: true });
      await failing.consumed;
      failing.fail(new Error('source broke'));
      await expect(failed).rejects.toThrow('source broke');
      expect(await storage.stat('partial/aborted')).toBeUndefined();
      expect(await storage.stat('partial/failed')).toBeUndefined();
      expect(await listAll(storage, 'partial/')).toEqual([]);
      // ifNotExists on the resumable path: a failed create leaves the key free.
      await storage.put('partial/failed', Readable.from([Buffer.from('now')]), { ifNotExists: true });
      await expectStorageError(
        storage.put('partial/failed', Readable.from([Buffer.from('again')]), { ifNotExists: true }),
        'conflict',
        'partial/failed',
      );
      await storage.delete('partial/failed');
    });

    it('writes with a customer-managed key name set (the emulator ignores it)', async () => {
      const location = `gs://${BUCKET}/${randomPrefix()}`;
      const kms = await openGcsStorage(location, {
        env,
        gcs: { kmsKeyName: 'projects/p/locations/global/keyRings/r/cryptoKeys/k' },
      });
      await kms.put('a', 'small');
      await kms.put('b', Readable.from(generatedChunks(MiB)));
      expect((await bytesOf(await kms.get('a'))).toString()).toBe('small');
      expect((await kms.stat('b'))?.size).toBe(MiB);
      for (const key of ['a', 'b']) await kms.delete(key);
      await kms.close();
    });
  });

  describe('a missing bucket', () => {
    it('refuses open and every operation with invalid-request naming the bucket, never not-found', async () => {
      const open = await expectStorageError(
        openGcsStorage('gs://acx-no-such-bucket/p', { env }),
        'invalid-request',
      );
      expect(open.message).toContain('bucket "acx-no-such-bucket" does not exist');
      expect(open.hint).toContain('gcloud storage buckets create gs://acx-no-such-bucket');
      const storage = new GcsStorage(await createGcsClient(env), 'acx-no-such-bucket', 'p');
      const operations: Promise<unknown>[] = [
        storage.put('k', 'x'),
        storage.put('k', Readable.from([Buffer.from('x')])),
        storage.get('k'),
        storage.stat('k'),
        storage.delete('k'),
        collect(storage.list('')),
        collect(storage.listPrefixes('')),
      ];
      for (const operation of operations) {
        const error = await expectStorageError(operation, 'invalid-request');
        expect(error.message).toContain('bucket "acx-no-such-bucket" does not exist');
      }
    });
  });
});

/** What the stand-in for GCS does with every request: answer `status`, or hang mid-way. */
type ServiceMode = { status: number; retryAfter?: string } | 'hang-upload' | 'hang-download';

describe('GCS storage against a failing service', () => {
  let server: Server;
  let endpoint: string;
  let mode: ServiceMode = { status: 401 };
  let folder: string;
  const hung = new Set<import('node:http').ServerResponse>();
  const privateKey = generateKeyPairSync('rsa', { modulusLength: 2048 })
    .privateKey.export({ type: 'pkcs8', format: 'pem' })
    .toString();
  beforeAll(async () => {
    server = createServer((request, response) => {
      request.resume();
      const url = request.url ?? '';
      const listing = request.method === 'GET' && /\/o(\?|$)/.test(url);
      if (typeof mode === 'object' && !(listing && mode.status >= 429)) {
        // Answers like GCS does for a revoked key (401), a missing role (403) or overload (429, 503).
        const { status, retryAfter } = mode;
        const message = status === 401 ? 'Invalid Credentials' : `refused with ${status}`;
        response.writeHead(status, {
          'content-type': 'application/json',
          ...(retryAfter ? { 'retry-after': retryAfter } : {}),
        });
        response.end(JSON.stringify({ error: { code: status, message, errors: [{ message }] } }));
      } else if (listing) {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ kind: 'storage#objects' }));
      } else if (mode === 'hang-upload' && request.method === 'POST') {
        response.writeHead(200, { location: `${endpoint}/upload/session/1` });
        response.end();
      } else if (mode === 'hang-download' && url.includes('alt=media')) {
        response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': '100' });
        response.write(Buffer.alloc(10, 1));
        hung.add(response);
      } else {
        hung.add(response); // never answers
      }
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    folder = await mkdtemp(join(tmpdir(), 'acx-gcs-'));
  });
  afterAll(async () => {
    for (const response of hung) response.destroy();
    server.closeAllConnections();
    server.close();
    await rm(folder, { recursive: true, force: true });
  });

  it('rejects with permission naming the credential variables, and never shows the key', async () => {
    const keyFile = join(folder, 'key.json');
    const secretLine = privateKey.split('\n')[5]!;
    await writeFile(
      keyFile,
      JSON.stringify({
        type: 'service_account',
        private_key: privateKey,
        client_email: 'x@p.iam.gserviceaccount.com',
      }),
    );
    const env = { STORAGE_EMULATOR_HOST: endpoint, GOOGLE_APPLICATION_CREDENTIALS: keyFile };
    for (const status of [401, 403]) {
      mode = { status };
      const error = await expectStorageError(openGcsStorage('gs://acx-contract/p', { env }), 'permission');
      expect(error.message).toContain(
        'access denied to gs://acx-contract/p: check GOOGLE_APPLICATION_CREDENTIALS',
      );
      expect(error.hint).toContain('roles/storage.objectAdmin');
      const everything = printedForms(error);
      expect(everything).not.toContain(secretLine);
      expect(everything).not.toContain('PRIVATE KEY');
      const storage = new GcsStorage(await createGcsClient(env), 'acx-contract', 'p');
      await expectStorageError(storage.get('k'), 'permission', 'k');
    }
  });

  it('treats throttling and server errors as transient, with the Retry-After', async () => {
    for (const status of [429, 503]) {
      mode = { status, retryAfter: '7' };
      // Listings succeed (the bucket check); the put fails after the SDK's own retries.
      const storage = new GcsStorage(await createGcsClient({ STORAGE_EMULATOR_HOST: endpoint }), 'acx', '');
      const error = await expectStorageError(storage.put('k', 'x'), 'transient', 'k');
      expect(error.retryAfterMs).toBe(7000);
      expect(error.code).toBe('CONNECTION');
    }
  });

  it('treats a refused connection as transient', async () => {
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as AddressInfo).port;
    closed.close();
    await once(closed, 'close');
    const env = { STORAGE_EMULATOR_HOST: `http://127.0.0.1:${port}` };
    await expectStorageError(openGcsStorage('gs://acx-contract', { env }), 'transient');
  });

  it('ends an upload or a read stream that hangs as transient', async () => {
    const client = await createGcsClient({ STORAGE_EMULATOR_HOST: endpoint });
    const storage = new GcsStorage(client, 'acx', '', { idleTimeoutMs: 1_000 });
    mode = 'hang-upload';
    const started = Date.now();
    await expectStorageError(storage.put('k', Readable.from([Buffer.alloc(1000, 2)])), 'transient', 'k');
    mode = 'hang-download';
    const stream = await storage.get('k');
    await expectStorageError(bytesOf(stream), 'transient', 'k');
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});

describe.skipIf(!realBucket)('GCS storage on the real service', () => {
  describeStorageContract('gcs (real)', factoryFor(realBucket ?? 'unset', process.env));
});
