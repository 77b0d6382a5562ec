/**
 * `acx-data key list|add|remove|generate`: reads the secrets from the environment (never from flags),
 * opens the repository and hands the change to src/operations/keys.ts; `generate` writes a new key
 * file. Nothing here prints a secret: results name keys by id.
 */
import { readFileSync } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { AcxError } from '../../errors.ts';
import { fileError } from '../../files.ts';
import { addRepositoryKey, listRepositoryKeys, removeRepositoryKey } from '../../operations/keys.ts';
import { newKeyFile, secretFromEnv, type RepositorySecret } from '../../repository/blobs/keys.ts';
import { KEY_BYTES } from '../../repository/blobs/blob-crypto.ts';
import { Repository } from '../../repository/repository.ts';
import type { KeyRun } from '../commands/key-command.ts';
import { printResult } from '../output/global-options.ts';
import { formatKeyAdded, formatKeyGenerated, formatKeyList, formatKeyRemoved } from '../output/key-text.ts';
import { repositoryAccess } from './backup/repository-access.ts';

export async function handleKey(run: KeyRun): Promise<void> {
  if (run.action === 'generate') return generate(run);
  const env = process.env;
  // Both secrets are read (and checked) before the repository is touched.
  const secret = secretOf(env, 'ACX_');
  const newSecret = run.action === 'add' ? secretOf(env, 'ACX_NEW_') : undefined;
  const repository = await Repository.open(run.backupDir, { create: false, access: repositoryAccess(env) });
  try {
    if (run.action === 'list') {
      const list = await listRepositoryKeys(repository, secret);
      printResult(run.global, list, formatKeyList(list));
    } else if (run.action === 'add') {
      const added = await addRepositoryKey(repository, secret, newSecret);
      printResult(run.global, added, formatKeyAdded(added));
    } else {
      const removed = await removeRepositoryKey(repository, secret, run.id ?? '');
      printResult(run.global, removed, formatKeyRemoved(removed));
    }
  } finally {
    await repository.close();
  }
}

function secretOf(env: NodeJS.ProcessEnv, prefix: 'ACX_' | 'ACX_NEW_'): RepositorySecret | undefined {
  return secretFromEnv(env, prefix, (path) => readFileSync(path));
}

/**
 * `key generate FILE`: 32 random bytes as hex in a new file, readable by its owner only (0600 whatever
 * the umask). An existing file is never overwritten (USAGE); a failed write leaves no partial file.
 */
async function generate(run: KeyRun): Promise<void> {
  const path = resolve(run.file ?? '');
  let handle;
  try {
    handle = await open(path, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST')
      throw new AcxError('USAGE', `${path} already exists: key generate never overwrites a file`, {
        subject: path,
        hint: 'name a new file; to replace a key, generate a new one, add it (key add), then remove the old key',
      });
    throw fileError(error, { path, doing: 'create the key file', code: 'USAGE' });
  }
  try {
    await handle.chmod(0o600);
    await handle.writeFile(newKeyFile(KEY_BYTES));
    await handle.sync();
    await handle.close();
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(path, { force: true });
    throw fileError(error, { path, doing: 'write the key file', code: 'STORAGE' });
  }
  const result = { file: path, bytes: KEY_BYTES };
  printResult(run.global, result, formatKeyGenerated(result));
}
