/**
 * What a repository needs from this host (design §11.5–11.6): the environment with the key variables,
 * a reader for the key or password file they name, and the folder of index caches under the state
 * directory. The repository layer itself touches no file system.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readStateDir } from '../../../config/state.ts';
import type { RepositoryAccess } from '../../../repository/repository.ts';

export function repositoryAccess(env: NodeJS.ProcessEnv = process.env): RepositoryAccess {
  let cacheDir: string | undefined = join(readStateDir(env), 'cache');
  try {
    mkdirSync(cacheDir, { recursive: true });
  } catch {
    cacheDir = undefined; // a read-only home: the index is cached in memory for the run
  }
  return { env, readSecretFile: (path) => readFileSync(path), cacheDir };
}
