/** File-system helpers shared by the repository and the operations. */
import { mkdir } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';

/**
 * `mkdir -p` one level at a time: Node's recursive mkdir never returns on file systems that answer
 * ENOENT for a directory that cannot be created (e.g. under /proc).
 */
export async function makeDirectories(path: string): Promise<void> {
  let current: string = sep;
  for (const part of resolve(path).split(sep).filter(Boolean)) {
    current = join(current, part);
    try {
      await mkdir(current);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}
