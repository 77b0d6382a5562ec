/** Opening storages by location, and how storage errors reach the error catalog. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AcxError, EXIT_CODES, exitCodeOf } from '../../src/errors.ts';
import { describeStorageLocations, openStorage } from '../../src/storage/registry.ts';
import { STORAGE_ERROR_REASONS } from '../../src/storage/storage.ts';
import { StorageError } from '../../src/storage/storage-error.ts';
import { compareKeys, joinKey, keyProblem } from '../../src/storage/storage-keys.ts';

async function usageError(location: string): Promise<AcxError> {
  const error: unknown = await openStorage(location).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(AcxError);
  expect((error as AcxError).code).toBe('USAGE');
  return error as AcxError;
}

describe('openStorage', () => {
  it('opens local directories by path or file URL, and memory storages by name', async () => {
    const root = await mkdtemp(join(tmpdir(), 'acx-registry-'));
    try {
      const byPath = await openStorage(join(root, 'repo'));
      expect([byPath.kind, byPath.location]).toEqual(['local', join(root, 'repo')]);
      await byPath.put('x/y', 'through the path');
      const byUrl = await openStorage(pathToFileURL(join(root, 'repo')).href);
      expect((await byUrl.stat('x/y'))?.size).toBe(16);
      expect((await openStorage('relative/dir')).location).toBe(resolve('relative/dir'));
      const memory = await openStorage('memory://dry-run');
      expect([memory.kind, memory.location]).toEqual(['memory', 'memory://dry-run']);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('refuses unknown schemes with a usage error listing the supported forms, without echoing secrets', async () => {
    const error = await usageError('ftp://AKIAKEY:sup3rsecret@host/prefix');
    expect(error.exitCode).toBe(EXIT_CODES.usage);
    expect(error.message).toContain('ftp://');
    expect(`${error.message} ${error.hint}`).not.toContain('sup3rsecret');
    for (const form of describeStorageLocations()) expect(error.hint).toContain(form);
    await usageError('');
    await usageError('file://remote-host/share');
  });

  it('refuses a cloud location carrying credentials, a query or a bad bucket, before any SDK call, without echoing them', async () => {
    for (const location of [
      's3://AKIAKEY:sup3rsecret@bucket/prefix',
      'gs://bucket/prefix?token=sup3rsecret',
      'azure://container/p#sup3rsecret',
      's3://Not_A_Bucket/x',
      's3://bucket/a/../b',
    ]) {
      const error: unknown = await openStorage(location).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error, location).toBeInstanceOf(StorageError);
      expect((error as StorageError).reason).toBe('invalid-request');
      const printed = `${(error as StorageError).message} ${(error as StorageError).hint}`;
      expect(printed).not.toContain('sup3rsecret');
      expect(printed).not.toContain('AKIAKEY');
    }
  });
});

describe('StorageError', () => {
  it('is an AcxError whose exit code follows its reason', () => {
    const make = (reason: StorageError['reason']) =>
      new StorageError('detail', { reason, operation: 'get', key: 'a/b', location: '/repo' });
    expect(exitCodeOf(make('not-found'))).toBe(EXIT_CODES.notFound);
    expect(exitCodeOf(make('transient'))).toBe(EXIT_CODES.connection);
    for (const reason of STORAGE_ERROR_REASONS) expect(make(reason)).toBeInstanceOf(AcxError);
    const denied = make('permission');
    expect(denied.code).toBe('STORAGE');
    expect(denied.message).toBe('cannot get "a/b" on /repo: detail');
    expect(denied.subject).toBe('a/b');
    expect(denied.hint).toContain('/repo');
  });
});

describe('keys', () => {
  it('orders by UTF-8 bytes, joins parts and names the problem of a bad key', () => {
    expect(['😀', 'ﬀ', 'a/b', 'a.b'].sort(compareKeys)).toEqual(['a.b', 'a/b', 'ﬀ', '😀']);
    expect(joinKey('full_1/', '/postgres', 'tables/t.zst')).toBe('full_1/postgres/tables/t.zst');
    expect(keyProblem('a/../b')).toContain('".."');
    expect(keyProblem('a'.repeat(256))).toContain('255');
    expect(keyProblem('x\uD800')).toContain('U+D800');
    expect(keyProblem('ok/fine name.json')).toBeUndefined();
  });
});
