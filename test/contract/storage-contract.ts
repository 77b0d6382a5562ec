/**
 * The one conformance suite every Storage driver passes (restic's internal/backend/test/suite.go).
 * A driver's test file hands it a factory; the suite speaks only through the Storage interface, so a
 * cloud driver passes it unchanged. Each test gets a fresh, empty storage.
 */
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AcxError } from '../../src/errors.ts';
import type { Storage } from '../../src/storage/storage.ts';
import { StorageError } from '../../src/storage/storage-error.ts';
import { deletePrefix, listAll, putJson, readJson, readText } from '../../src/storage/storage-helpers.ts';
import {
  bytesOf,
  collect,
  expectStorageError,
  fingerprint,
  gatedSource,
  generatedChunks,
  hashStream,
  sha256,
} from './storage-contract-data.ts';

export type StorageFactory = () => Promise<{ storage: Storage; cleanup(): Promise<void> }>;

const MiB = 1024 * 1024;

/** Keys whose UTF-8 byte order differs from naive orders (JS UTF-16, depth-first by directory). */
const SORTED_KEYS = ['a-b', 'a.txt', 'a/b', 'a/b.txt', 'a0', 'b/c.e', 'b/c/d', 'b/c/d2', 'z', 'é', 'ﬀ', '😀'];

const INVALID_KEYS = [
  '',
  '/abs',
  'a/../b',
  '..',
  '.',
  'a/./b',
  'a//b',
  'a/',
  'a\\b',
  'a\u0000b',
  '.tmp-x',
  'd/.tmp-1',
];

export function describeStorageContract(name: string, factory: StorageFactory): void {
  describe(`Storage contract: ${name}`, () => {
    let storage: Storage;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ storage, cleanup } = await factory());
    });
    afterEach(async () => {
      await storage.close();
      await cleanup();
    });

    const text = async (key: string) => (await bytesOf(await storage.get(key))).toString('utf8');
    const keys = async (prefix: string) => (await listAll(storage, prefix)).map((info) => info.key);

    describe('put and get', () => {
      it('round-trips several MiB streamed from a Readable', async () => {
        const size = 6 * MiB + 12_345;
        const info = await storage.put('big/data.bin', Readable.from(generatedChunks(size)));
        expect(info).toMatchObject({ key: 'big/data.bin', size });
        expect(await hashStream(await storage.get('big/data.bin'))).toEqual({
          sha256: sha256(generatedChunks(size)),
          bytes: size,
        });
        expect((await storage.stat('big/data.bin'))?.size).toBe(size);
      });

      it('stores a Buffer, a string, a Uint8Array view and an async iterable byte for byte', async () => {
        const binary = Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 37) % 256));
        const backing = new Uint8Array([9, 9, 1, 2, 3, 9]);
        async function* mixed() {
          yield 'Grüße ';
          yield Buffer.from([0, 255, 10]);
          yield new TextEncoder().encode('🚗');
        }
        await storage.put('binary', binary);
        await storage.put('text', 'Grüße 🚗\r\n\u0000end');
        await storage.put('view', backing.subarray(2, 5));
        await storage.put('mixed', mixed());
        expect(fingerprint(await bytesOf(await storage.get('binary')))).toEqual(fingerprint(binary));
        expect(await text('text')).toBe('Grüße 🚗\r\n\u0000end');
        expect([...(await bytesOf(await storage.get('view')))]).toEqual([1, 2, 3]);
        expect(await bytesOf(await storage.get('mixed'))).toEqual(
          Buffer.concat([Buffer.from('Grüße '), Buffer.from([0, 255, 10]), Buffer.from('🚗')]),
        );
      });

      it('stores an empty object that is listed and read back empty', async () => {
        expect(await storage.put('empty', Buffer.alloc(0))).toMatchObject({ key: 'empty', size: 0 });
        expect((await bytesOf(await storage.get('empty'))).length).toBe(0);
        expect(await storage.stat('empty')).toMatchObject({ key: 'empty', size: 0 });
        expect(await keys('')).toEqual(['empty']);
      });

      it('replaces an object wholly on overwrite and reports a recent time', async () => {
        const before = Date.now() - 5_000;
        await storage.put('k', 'a much longer first version');
        const info = await storage.put('k', 'short');
        expect(await text('k')).toBe('short');
        expect(info.size).toBe(5);
        expect(info.modified.getTime()).toBeGreaterThan(before);
        expect(info.modified.getTime()).toBeLessThan(Date.now() + 5_000);
      });

      it('exposes the real file only when capabilities.localPath says so', async () => {
        await storage.put('dir/file.txt', 'on disk');
        if (storage.capabilities.localPath) {
          expect(await readFile(storage.localPath!('dir/file.txt'), 'utf8')).toBe('on disk');
        } else {
          expect(storage.localPath).toBeUndefined();
        }
      });
    });

    describe('ranged get', () => {
      const object = Buffer.concat([...generatedChunks(300_000, 7)]);
      // Compared by length and hash: deep equality of large Buffers is slow and its diff unreadable.
      const range = async (offset?: number, length?: number) =>
        fingerprint(await bytesOf(await storage.get('r', { offset, length })));

      it('returns [offset, offset + length), cut short at the end', async () => {
        await storage.put('r', object);
        expect(await range(0, 10)).toEqual(fingerprint(object.subarray(0, 10)));
        expect(await range(65_000, 140_000)).toEqual(fingerprint(object.subarray(65_000, 205_000)));
        expect(await range(299_990)).toEqual(fingerprint(object.subarray(299_990)));
        expect(await range(299_990, 100)).toEqual(fingerprint(object.subarray(299_990)));
        expect(await range(undefined, 300_000)).toEqual(fingerprint(object));
        expect(await range(300_000)).toEqual(fingerprint(Buffer.alloc(0)));
        expect(await range(1_000_000, 5)).toEqual(fingerprint(Buffer.alloc(0)));
        expect(await range(10, 0)).toEqual(fingerprint(Buffer.alloc(0)));
      });

      it('rejects negative or fractional ranges', async () => {
        await storage.put('r', object);
        for (const [offset, length] of [
          [-1, undefined],
          [1.5, undefined],
          [0, -1],
          [Number.NaN, 1],
        ] as const) {
          await expectStorageError(storage.get('r', { offset, length }), 'invalid-request');
        }
      });
    });

    describe('stat and missing objects', () => {
      it('stats present objects, and neither missing keys nor "directories"', async () => {
        await storage.put('dir/file', '12345');
        expect(await storage.stat('dir/file')).toMatchObject({ key: 'dir/file', size: 5 });
        expect(await storage.stat('dir')).toBeUndefined();
        expect(await storage.stat('missing')).toBeUndefined();
        expect(await storage.stat('missing/deeper')).toBeUndefined();
      });

      it('rejects get of a missing key with not-found, naming the key and the storage', async () => {
        await storage.put('dir/file', 'x');
        for (const key of ['nope', 'dir', 'dir/file/deeper']) {
          const error = await expectStorageError(storage.get(key), 'not-found', key);
          expect(error).toBeInstanceOf(AcxError);
          expect(error.code).toBe('NOT_FOUND');
          expect(error.message).toContain(storage.location);
        }
      });
    });

    describe('list', () => {
      it('lists nested keys under a prefix in UTF-8 byte order with sizes', async () => {
        for (const [i, key] of [...SORTED_KEYS].reverse().entries()) await storage.put(key, 'x'.repeat(i));
        expect(await keys('')).toEqual(SORTED_KEYS);
        expect(await keys('a')).toEqual(['a-b', 'a.txt', 'a/b', 'a/b.txt', 'a0']);
        expect(await keys('a/')).toEqual(['a/b', 'a/b.txt']);
        expect(await keys('b/c')).toEqual(['b/c.e', 'b/c/d', 'b/c/d2']);
        expect(await keys('b/c/')).toEqual(['b/c/d', 'b/c/d2']);
        expect(await keys('nothing/')).toEqual([]);
        const sizes = Object.fromEntries((await listAll(storage, '')).map((info) => [info.key, info.size]));
        expect(sizes['😀']).toBe(0);
        expect(sizes['a-b']).toBe(SORTED_KEYS.length - 1);
      });

      it('lists the "directories" right under a prefix', async () => {
        for (const key of SORTED_KEYS) await storage.put(key, 'x');
        expect(await collect(storage.listPrefixes(''))).toEqual(['a/', 'b/']);
        expect(await collect(storage.listPrefixes('a'))).toEqual(['a/']);
        expect(await collect(storage.listPrefixes('b/'))).toEqual(['b/c/']);
        expect(await collect(storage.listPrefixes('b/c/'))).toEqual([]);
      });

      it('lists more than a thousand objects completely (paging is the driver’s business)', async () => {
        const expected = Array.from({ length: 1_050 }, (_, i) => `many/obj-${String(i).padStart(4, '0')}`);
        for (let i = 0; i < expected.length; i += 50) {
          await Promise.all(expected.slice(i, i + 50).map((key) => storage.put(key, key, { sync: false })));
        }
        await storage.put('many/zz/deep', 'x', { sync: false });
        expect(await keys('many/')).toEqual([...expected, 'many/zz/deep']);
        expect(await collect(storage.listPrefixes('many/'))).toEqual(['many/zz/']);
      });

      it('rejects invalid prefixes', async () => {
        for (const prefix of ['/', '../', 'a//', 'a\\b', '.tmp-x/']) {
          await expectStorageError(collect(storage.list(prefix)), 'invalid-request');
          await expectStorageError(collect(storage.listPrefixes(prefix)), 'invalid-request');
        }
      });
    });

    describe('atomic writes', () => {
      it('shows nothing of a put still in progress, then all of it', async () => {
        const gated = gatedSource(Buffer.from('first half,'), Buffer.from('second half'));
        const writing = storage.put('pending/file', gated.source);
        await gated.consumed;
        expect(await keys('')).toEqual([]);
        expect(await collect(storage.listPrefixes(''))).toEqual([]);
        expect(await storage.stat('pending/file')).toBeUndefined();
        await expectStorageError(storage.get('pending/file'), 'not-found');
        gated.open();
        expect((await writing).size).toBe(22);
        expect(await text('pending/file')).toBe('first half,second half');
      });

      it('keeps the previous object when the source fails mid-way', async () => {
        await storage.put('kept', 'version 1');
        const over = gatedSource(Buffer.from('version 2 partial'), Buffer.alloc(0));
        const fresh = gatedSource(Buffer.from('partial'), Buffer.alloc(0));
        const overwriting = storage.put('kept', over.source);
        const creating = storage.put('new', fresh.source);
        await Promise.all([over.consumed, fresh.consumed]);
        over.fail(new Error('source broke'));
        fresh.fail(new Error('fresh source broke'));
        const [overwritten, created] = await Promise.allSettled([overwriting, creating]);
        expect(overwritten).toMatchObject({ status: 'rejected', reason: { message: 'source broke' } });
        expect(created).toMatchObject({ status: 'rejected', reason: { message: 'fresh source broke' } });
        expect(await text('kept')).toBe('version 1');
        expect(await keys('')).toEqual(['kept']);
        expect(await storage.stat('new')).toBeUndefined();
      });

      it('gives a reader that opened before an overwrite one whole version', async () => {
        await storage.put('v', Buffer.alloc(MiB, 1));
        const reader = await storage.get('v');
        await storage.put('v', Buffer.alloc(MiB, 2));
        const seen = await bytesOf(reader);
        expect(seen.length).toBe(MiB);
        expect(seen.every((byte) => byte === seen[0])).toBe(true);
        expect((await bytesOf(await storage.get('v')))[0]).toBe(2);
      });

      it('rejects an aborted put with the signal’s reason and leaves nothing', async () => {
        const reason = new Error('stop now');
        await expect(storage.put('a/x', 'data', { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
        await storage.put('kept', 'old');
        const controller = new AbortController();
        const gated = gatedSource(Buffer.alloc(100_000, 3), Buffer.alloc(10));
        const writing = storage.put('kept', gated.source, { signal: controller.signal });
        await gated.consumed;
        controller.abort(reason);
        await expect(writing).rejects.toBe(reason);
        expect(await text('kept')).toBe('old');
        expect(await keys('')).toEqual(['kept']);
        expect(await collect(storage.listPrefixes(''))).toEqual([]);
      });

      it('ends a read stream with the signal’s reason on abort', async () => {
        await storage.put('big', Buffer.alloc(2 * MiB, 5));
        const reason = new Error('reader stop');
        await expect(storage.get('big', { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
        const controller = new AbortController();
        const stream = await storage.get('big', { signal: controller.signal });
        controller.abort(reason);
        await expect(bytesOf(stream)).rejects.toBe(reason);
      });
    });

    describe('conditional create, delete, keys', () => {
      it('creates with ifNotExists exactly once, also when racing', async () => {
        await storage.put('lock', 'mine', { ifNotExists: true });
        const error = await expectStorageError(
          storage.put('lock', 'theirs', { ifNotExists: true }),
          'conflict',
        );
        expect(error.key).toBe('lock');
        expect(await text('lock')).toBe('mine');
        const racers = Array.from({ length: 8 }, (_, i) => `racer ${i}`);
        const results = await Promise.allSettled(
          racers.map((body) => storage.put('race', body, { ifNotExists: true })),
        );
        const winners = results.flatMap((result, i) => (result.status === 'fulfilled' ? [racers[i]] : []));
        expect(winners).toHaveLength(1);
        for (const result of results) {
          if (result.status === 'rejected') expect((result.reason as StorageError).reason).toBe('conflict');
        }
        expect(await text('race')).toBe(winners[0]);
      });

      it('deletes idempotently and forgets emptied "directories"', async () => {
        await storage.delete('never/was');
        await storage.put('d/e/f', '1');
        await storage.put('d/g', '2');
        await storage.delete('d'); // a "directory", not an object: nothing happens
        expect(await keys('')).toEqual(['d/e/f', 'd/g']);
        await storage.delete('d/e/f');
        await storage.delete('d/e/f');
        expect(await storage.stat('d/e/f')).toBeUndefined();
        await expectStorageError(storage.get('d/e/f'), 'not-found');
        expect(await collect(storage.listPrefixes('d/'))).toEqual([]);
        await storage.delete('d/g');
        expect(await collect(storage.listPrefixes(''))).toEqual([]);
        await storage.put('d/e/f', 'again');
        expect(await text('d/e/f')).toBe('again');
      });

      it('keeps keys with spaces and unicode exactly', async () => {
        const odd = [
          'dir with spaces/Grüße 🚗 файл.json',
          'ключ/日本語 テキスト.txt',
          'x/ leading and trailing ',
        ];
        for (const key of odd) await storage.put(key, key);
        for (const key of odd) expect(await text(key)).toBe(key);
        expect(new Set(await keys(''))).toEqual(new Set(odd));
      });

      it('rejects keys that are not relative "/"-separated names', async () => {
        for (const key of INVALID_KEYS) {
          await expectStorageError(storage.put(key, 'x'), 'invalid-request');
          await expectStorageError(storage.get(key), 'invalid-request');
          await expectStorageError(storage.stat(key), 'invalid-request');
          await expectStorageError(storage.delete(key), 'invalid-request');
        }
        expect(await keys('')).toEqual([]);
      });
    });

    describe('helpers and lifecycle', () => {
      it('deletes a prefix exactly, and reads and writes JSON', async () => {
        for (const key of [
          'full_1/manifest.json',
          'full_1/pg/t.zst',
          'full_10/manifest.json',
          'full_1.txt',
        ]) {
          await storage.put(key, 'x');
        }
        await expectStorageError(deletePrefix(storage, 'full_1'), 'invalid-request');
        expect(await deletePrefix(storage, 'full_1/')).toBe(2);
        expect(await keys('')).toEqual(['full_1.txt', 'full_10/manifest.json']);
        await putJson(storage, 'full_10/manifest.json', { id: 'full_10', n: [1, 2] });
        expect(await readJson(storage, 'full_10/manifest.json')).toEqual({ id: 'full_10', n: [1, 2] });
        expect(await readText(storage, 'full_1.txt')).toBe('x');
        await expect(readJson(storage, 'full_1.txt')).rejects.toMatchObject({ code: 'INTEGRITY' });
      });

      it('closes idempotently and refuses work afterwards', async () => {
        await storage.close();
        await storage.close();
        await expectStorageError(storage.put('k', 'x'), 'invalid-request');
        await expectStorageError(storage.stat('k'), 'invalid-request');
        await expectStorageError(collect(storage.list('')), 'invalid-request');
      });
    });
  });
}
