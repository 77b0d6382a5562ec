import { mkdtemp, readdir, rm, symlink, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalStorage, openLocalStorage } from '../../src/storage/local/local-storage.ts';
import { describeStorageContract } from './storage-contract.ts';
import { collect, expectStorageError, gatedSource } from './storage-contract-data.ts';

async function temporaryRoot(): Promise<{ root: string; cleanup(): Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), 'acx-storage-'));
  return { root, cleanup: () => rm(root, { recursive: true, force: true }) };
}

describeStorageContract('local', async () => {
  const { root, cleanup } = await temporaryRoot();
  // A root that does not exist yet: the first put creates it.
  return { storage: await openLocalStorage({ root: join(root, 'repo') }), cleanup };
});

describe('local storage on disk', () => {
  const everything = async (root: string) => (await readdir(root, { recursive: true })).sort();

  it('leaves no temp file after failed or aborted puts, and removes emptied directories', async () => {
    const { root, cleanup } = await temporaryRoot();
    try {
      const storage = new LocalStorage({ root });
      const failing = gatedSource(Buffer.from('partial'), Buffer.alloc(0));
      const writing = storage.put('d/failed', failing.source);
      await failing.consumed;
      expect((await readdir(join(root, 'd'))).some((name) => name.startsWith('.tmp-'))).toBe(true);
      failing.fail(new Error('broken'));
      await expect(writing).rejects.toThrow('broken');
      const controller = new AbortController();
      const aborted = gatedSource(Buffer.from('partial'), Buffer.alloc(0));
      const abortedWrite = storage.put('d/aborted', aborted.source, { signal: controller.signal });
      await aborted.consumed;
      controller.abort(new Error('stop'));
      await expect(abortedWrite).rejects.toThrow('stop');
      await storage.put('d/e/kept', 'x');
      expect(await everything(root)).toEqual(['d', 'd/e', 'd/e/kept']);
      await storage.delete('d/e/kept');
      expect(await everything(root)).toEqual([]);
    } finally {
      await cleanup();
    }
  });

  it('ignores leftovers of a killed process and files that are not valid keys', async () => {
    const { root, cleanup } = await temporaryRoot();
    try {
      await mkdir(join(root, 'crashed'));
      await writeFile(join(root, 'crashed', '.tmp-0123456789abcdef'), 'half');
      await writeFile(join(root, '.tmp-feedbeef'), 'half');
      await writeFile(join(root, 'back\\slash'), 'not a key');
      const storage = await openLocalStorage({ root });
      await storage.put('ok', 'x');
      expect((await collect(storage.list(''))).map((info) => info.key)).toEqual(['ok']);
      expect(await collect(storage.listPrefixes(''))).toEqual([]);
    } finally {
      await cleanup();
    }
  });

  it('refuses a root that is a file, and a key whose "directory" is a file', async () => {
    const { root, cleanup } = await temporaryRoot();
    try {
      await writeFile(join(root, 'file'), 'x');
      await expectStorageError(openLocalStorage({ root: join(root, 'file') }), 'invalid-request');
      const storage = await openLocalStorage({ root });
      await expectStorageError(storage.put('file/child', 'x'), 'conflict');
      await storage.put('dir/child', 'x');
      await expectStorageError(storage.put('dir', 'x'), 'conflict');
      expect(storage.localPath('dir/child')).toBe(join(root, 'dir', 'child'));
    } finally {
      await cleanup();
    }
  });

  it('never follows a symbolic link below the root: not listed, not seen by stat, refused by get', async () => {
    const { root, cleanup } = await temporaryRoot();
    try {
      await mkdir(join(root, 'outside'));
      await writeFile(join(root, 'outside', 'secret'), 'secret');
      const storage = await openLocalStorage({ root: join(root, 'repo') });
      await storage.put('snap/real', 'real');
      await symlink(join(root, 'outside', 'secret'), join(root, 'repo', 'snap', 'file-link'));
      await symlink(join(root, 'outside'), join(root, 'repo', 'snap', 'dir-link'));
      expect((await collect(storage.list(''))).map((info) => info.key)).toEqual(['snap/real']);
      for (const key of ['snap/file-link', 'snap/dir-link/secret']) {
        expect(await storage.stat(key)).toBeUndefined();
        const error = await expectStorageError(storage.get(key), 'not-found', key);
        expect(error.message).toContain('symbolic link');
      }
    } finally {
      await cleanup();
    }
  });
});
