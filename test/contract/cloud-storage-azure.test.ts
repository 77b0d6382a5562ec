/**
 * The Storage contract against Azure Blob Storage: Azurite when AZURE_STORAGE_CONNECTION_STRING points
 * at 127.0.0.1/localhost, the real service when it does not and ACX_TEST_AZURE_CONTAINER names a
 * container to use. Each factory call gets a fresh random prefix in one container. Then the driver's
 * own tests (emulator only): paging and order, a large upload in bounded memory, errors and secrets.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AzureStorage,
  ensureAzureContainer,
  openAzureStorage,
} from '../../src/storage/azure/azure-storage.ts';
import type { AzureStorageTuning } from '../../src/storage/azure/azure-storage.ts';
import type { CloudSettings } from '../../src/storage/cloud-settings.ts';
import { deletePrefix, listAll } from '../../src/storage/storage-helpers.ts';
import { compareKeys } from '../../src/storage/storage-keys.ts';
import { faultSeed, startFaultProxy } from '../support/fault-proxy.ts';
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
const CONTAINER = 'acx-contract';
const connection = process.env.AZURE_STORAGE_CONNECTION_STRING ?? '';
const isEmulator = /BlobEndpoint=https?:\/\/(127\.0\.0\.1|localhost)[:/]/i.test(connection);
const realContainer = process.env.ACX_TEST_AZURE_CONTAINER;
const hasRealCredentials =
  (connection !== '' && !isEmulator) ||
  (!!process.env.AZURE_STORAGE_ACCOUNT && !!process.env.AZURE_STORAGE_KEY);

if (!isEmulator)
  console.warn(
    'Azure storage tests against Azurite skipped: AZURE_STORAGE_CONNECTION_STRING does not point at a local emulator (127.0.0.1/localhost)',
  );
if (!(realContainer && hasRealCredentials))
  console.warn(
    'Azure storage tests against the real service skipped: set ACX_TEST_AZURE_CONTAINER and real credentials',
  );

const emulatorEnv = { AZURE_STORAGE_CONNECTION_STRING: connection };

async function emptyPrefix(location: string, env: NodeJS.ProcessEnv): Promise<void> {
  const storage = await openAzureStorage(location, { env });
  try {
    await deletePrefix(storage, '', { concurrency: 16 }).catch(async () => {
      for (const info of await listAll(storage, '')) await storage.delete(info.key);
    });
  } finally {
    await storage.close();
  }
}

function contractFor(name: string, container: string, env: NodeJS.ProcessEnv) {
  describe(name, () => {
    beforeAll(async () => {
      await ensureAzureContainer(await openAzureStorage(`azure://${container}`, { env }));
    });
    describeStorageContract(name, async () => {
      const location = `azure://${container}/${randomPrefix()}`;
      return {
        storage: await openAzureStorage(location, { env }),
        cleanup: () => emptyPrefix(location, env),
      };
    });
  });
}

if (isEmulator) contractFor('azure (Azurite)', CONTAINER, emulatorEnv);
else describe.skip('azure (Azurite): AZURE_STORAGE_CONNECTION_STRING names no local emulator', () => {});

if (realContainer && hasRealCredentials) contractFor('azure (real service)', realContainer, process.env);
else describe.skip('azure (real service): ACX_TEST_AZURE_CONTAINER and credentials not set', () => {});

(isEmulator ? describe : describe.skip)('Azure storage driver on Azurite', () => {
  const locations: string[] = [];
  const open = async (tuning: AzureStorageTuning = {}, settings: CloudSettings = {}) => {
    const location = `azure://${CONTAINER}/${randomPrefix()}`;
    locations.push(location);
    return openAzureStorage(location, { env: emulatorEnv, ...settings }, tuning);
  };
  const service = () => BlobServiceClient.fromConnectionString(connection).getContainerClient(CONTAINER);

  beforeAll(async () => {
    await service().createIfNotExists();
  });
  afterAll(async () => {
    for (const location of locations) await emptyPrefix(location, emulatorEnv);
  });

  it('lists 1 100 objects across pages in UTF-8 byte order although the service lists in UTF-16 order', async () => {
    const storage = await open({ listPageSize: 100 });
    const keys = Array.from({ length: 1_100 }, (_, i) => {
      const tail = ['', 'é', 'ﬀ', '😀', '\uFFFD', '𝄞x'][i % 6]!;
      return `${['a', 'ﬀ', '😀'][i % 3]}/${String(i % 370).padStart(3, '0')}${tail}/${i}`;
    });
    for (let i = 0; i < keys.length; i += 50)
      await Promise.all(keys.slice(i, i + 50).map((key) => storage.put(key, key)));
    const utf16 = [...keys].sort();
    const bytes = [...keys].sort(compareKeys);
    expect(utf16).not.toEqual(bytes); // the repair is exercised
    expect((await listAll(storage, '')).map((info) => info.key)).toEqual(bytes);
    expect((await listAll(storage, 'a/')).map((info) => info.key)).toEqual(
      bytes.filter((k) => k.startsWith('a/')),
    );
    const directories = [
      ...new Set(keys.map((key) => key.slice(0, key.indexOf('/', key.indexOf('/') + 1) + 1))),
    ].sort(compareKeys);
    expect(await collect(storage.listPrefixes(''))).toEqual(['a/', 'ﬀ/', '😀/']);
    const under = await collect(storage.listPrefixes('😀/'));
    expect(under).toEqual(directories.filter((d) => d.startsWith('😀/')));
    await storage.close();
  });

  it('streams 40 MiB in blocks with bounded memory, reads it back by hash and a middle range', async () => {
    const blockBytes = 2 * MiB;
    const storage = await open({ blockBytes });
    const size = 40 * MiB + 777;
    // Live memory only: garbage (consumed chunks, sent blocks) would count until V8 collects it.
    const { result: info, peak } = await withLiveMemoryPeak(25, () =>
      storage.put('big/stream.bin', Readable.from(generatedChunks(size, 42))),
    );
    expect(info.size).toBe(size);
    expect(peak).toBeLessThan(32 * MiB);
    const blob = service().getBlockBlobClient(`${storage.location.split('/').pop()}/big/stream.bin`);
    const blocks = await blob.getBlockList('committed');
    expect(blocks.committedBlocks?.length).toBe(Math.ceil(size / blockBytes));
    await expectGeneratedObject(storage, 'big/stream.bin', size, 42, {
      offset: 17 * MiB + 3,
      length: 5 * MiB,
    });
    await storage.close();
  });

  it('leaves no object when a multi-block stream put is aborted or its source fails', async () => {
    const storage = await open({ blockBytes: 256 * 1024 });
    await storage.put('kept', 'old');
    const controller = new AbortController();
    const gated = gatedSource(Buffer.alloc(3 * MiB, 7), Buffer.alloc(10));
    const writing = storage.put('kept', gated.source, { signal: controller.signal });
    await gated.consumed;
    await new Promise((resolve) => setTimeout(resolve, 200)); // let some blocks reach the service
    const reason = new Error('stop');
    controller.abort(reason);
    await expect(writing).rejects.toBe(reason);
    const failing = gatedSource(Buffer.alloc(3 * MiB, 8), Buffer.alloc(0));
    const broken = storage.put('fresh', failing.source);
    await failing.consumed;
    failing.fail(new Error('source broke'));
    await expect(broken).rejects.toThrow('source broke');
    expect((await listAll(storage, '')).map((info) => info.key)).toEqual(['kept']);
    expect((await bytesOf(await storage.get('kept'))).toString()).toBe('old');
    expect(await storage.stat('fresh')).toBeUndefined();
    await storage.close();
  });

  it('finishes a multi-block stream put whose blocks meet dropped connections, on the bare driver', async () => {
    // RetryingStorage cannot replay a stream the driver started to read; the driver resends the held block.
    const url = new URL(/BlobEndpoint=([^;]+)/.exec(connection)![1]!);
    const proxy = await startFaultProxy({ host: url.hostname, port: Number(url.port) }, faultSeed(11));
    const env = {
      AZURE_STORAGE_CONNECTION_STRING: connection.replace(
        /BlobEndpoint=[^;]+/,
        `BlobEndpoint=http://${proxy.host}:${proxy.port}${url.pathname}`,
      ),
    };
    const location = `azure://${CONTAINER}/${randomPrefix('faults')}`;
    locations.push(location);
    const storage = await openAzureStorage(location, { env }, { blockBytes: 256 * 1024, concurrency: 2 });
    try {
      // A connection carrying more than 300 KiB of request is cut (a block's send on a reused connection
      // dies mid-body) and a new one is sometimes reset at once; 3 faults, fewer than a block's 4 tries.
      proxy.arm({ cutRequestAfterBytes: 300 * 1024, resetRate: 0.2, maxFaults: 3 });
      const size = 3 * MiB + 5;
      const info = await storage.put('faulty.bin', Readable.from(generatedChunks(size, 9)));
      expect(info.size).toBe(size);
      expect(proxy.counts.resets + proxy.counts.cuts, proxy.describe()).toBe(3);
      proxy.disarm();
      await expectGeneratedObject(storage, 'faulty.bin', size, 9, { offset: MiB - 1, length: MiB });
    } finally {
      await storage.close();
      await proxy.close();
    }
  });

  it('refuses wrong credentials with permission and never shows the key', async () => {
    const wrongKey = randomBytes(64).toString('base64');
    const rightKey = /AccountKey=([^;]+)/.exec(connection)?.[1] ?? '';
    const env = { AZURE_STORAGE_CONNECTION_STRING: connection.replace(rightKey, wrongKey) };
    const storage = await openAzureStorage(`azure://${CONTAINER}/creds`, { env });
    const attempts = [
      () => storage.put('k', 'x'),
      () => storage.put('k', Readable.from(generatedChunks(9 * MiB))),
      () => storage.get('k'),
      () => storage.stat('k'),
      () => collect(storage.list('')),
      () => storage.delete('k'),
    ];
    for (const attempt of attempts) {
      const error = await expectStorageError(attempt(), 'permission');
      expect(error.message).toContain('access denied to azure://acx-contract/creds');
      expect(error.message).toContain('AZURE_STORAGE_CONNECTION_STRING');
      const printed = printedForms(error);
      for (const secret of [wrongKey, rightKey, env.AZURE_STORAGE_CONNECTION_STRING])
        expect(printed).not.toContain(secret);
    }
    await expectStorageError(openAzureStorage(`azure://${CONTAINER}`, { env: {} }), 'permission');
  });

  it('rejects every operation on a missing container with invalid-request naming it', async () => {
    const name = `missing-${randomBytes(4).toString('hex')}`;
    const storage = await openAzureStorage(`azure://${name}/p`, { env: emulatorEnv });
    const attempts = [
      () => storage.put('k', 'x'),
      () => storage.put('k', 'x', { ifNotExists: true }),
      () => storage.put('k', Readable.from(generatedChunks(9 * MiB))),
      () => storage.get('k'),
      () => storage.stat('k'),
      () => collect(storage.list('')),
      () => collect(storage.listPrefixes('')),
      () => storage.delete('k'),
    ];
    for (const attempt of attempts) {
      const error = await expectStorageError(attempt(), 'invalid-request');
      expect(error.message).toContain(`container "${name}" does not exist`);
      expect(error.hint).toContain('--upload-azure');
    }
  });

  it('ensureAzureContainer creates a missing container once, and is idempotent', async () => {
    const name = `created-${randomBytes(4).toString('hex')}`;
    const storage = await openAzureStorage(`azure://${name}/p`, { env: emulatorEnv });
    try {
      await expectStorageError(storage.stat('k'), 'invalid-request');
      await ensureAzureContainer(storage);
      await ensureAzureContainer(storage);
      await storage.put('k', 'v');
      expect((await bytesOf(await storage.get('k'))).toString()).toBe('v');
      await expectStorageError(
        ensureAzureContainer({ ...storage, location: 'x' } as never),
        'invalid-request',
      );
    } finally {
      await BlobServiceClient.fromConnectionString(connection).getContainerClient(name).deleteIfExists();
    }
    expect(storage).toBeInstanceOf(AzureStorage);
  });

  it('fails a request that gets no answer, or no connection, as transient', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket)); // accepts, never answers
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as AddressInfo).port;
    const at = (to: number) => ({
      AZURE_STORAGE_CONNECTION_STRING: connection.replace(
        /BlobEndpoint=[^;]+/,
        `BlobEndpoint=http://127.0.0.1:${to}/devstoreaccount1`,
      ),
    });
    try {
      const hung = await openAzureStorage(
        `azure://${CONTAINER}/p`,
        { env: at(port) },
        { requestTimeoutMs: 300 },
      );
      const error = await expectStorageError(hung.stat('k'), 'transient');
      expect(error.message).toContain('no answer within 0.3 s');
      await expectStorageError(collect(hung.list('')), 'transient');
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
    const refused = await openAzureStorage(`azure://${CONTAINER}/p`, { env: at(port) });
    await expectStorageError(refused.get('k'), 'transient');
  });

  it('fails a read whose body stalls while the reader waits, as transient', async () => {
    const stalled = createHttpServer((_request, response) => {
      response.writeHead(200, {
        'content-length': '1000',
        etag: '"0x1"',
        'last-modified': new Date().toUTCString(),
        'x-ms-blob-type': 'BlockBlob',
      });
      response.write(Buffer.alloc(10, 1)); // then nothing more
    });
    await new Promise<void>((resolve) => stalled.listen(0, '127.0.0.1', resolve));
    const port = (stalled.address() as AddressInfo).port;
    const env = {
      AZURE_STORAGE_CONNECTION_STRING: connection.replace(
        /BlobEndpoint=[^;]+/,
        `BlobEndpoint=http://127.0.0.1:${port}/devstoreaccount1`,
      ),
    };
    try {
      const storage = await openAzureStorage(`azure://${CONTAINER}/p`, { env }, { idleReadTimeoutMs: 600 });
      const stream = await storage.get('k', { offset: 5 });
      const error = await expectStorageError(bytesOf(stream), 'transient');
      expect(error.message).toContain('no answer within 0.6 s');
    } finally {
      stalled.closeAllConnections();
      await new Promise((resolve) => stalled.close(resolve));
    }
  });

  it('refuses a whole-blob read whose bytes do not match the stored MD5', async () => {
    const storage = await open();
    await storage.put('checked', 'the right bytes');
    const blob = service().getBlockBlobClient(`${storage.location.split('/').pop()}/checked`);
    await blob.setHTTPHeaders({ blobContentMD5: createHash('md5').update('other bytes').digest() });
    const error = await expectStorageError(bytesOf(await storage.get('checked')), 'transient');
    expect(error.message).toContain('MD5');
    expect((await bytesOf(await storage.get('checked', { offset: 4 }))).toString()).toBe('right bytes');
  });

  it('writes with an encryption scope (Azurite accepts the header without checking the scope)', async () => {
    const storage = await open({}, { azure: { encryptionScope: 'acx-test-scope' } });
    await storage.put('scoped', 'secret-free text');
    await storage.put('scoped-stream', Readable.from(generatedChunks(9 * MiB, 3)), {});
    expect((await bytesOf(await storage.get('scoped'))).toString()).toBe('secret-free text');
    const properties = await service()
      .getBlobClient(`${storage.location.split('/').pop()}/scoped`)
      .getProperties();
    // Azurite does not record scopes; the real service answers the scope in x-ms-encryption-scope.
    expect([undefined, 'acx-test-scope']).toContain(properties.encryptionScope);
  });
});
