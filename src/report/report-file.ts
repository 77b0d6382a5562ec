/**
 * Writes the report page atomically: the whole text goes to a temporary file in the same folder, is
 * flushed to disk, then renamed over `path`, so a web server or a mail job never picks up half a page.
 * A failed write leaves the previous page and no temporary file.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileError, makeDirectories } from '../files.ts';

/** Writes `text` to `path` (its folder created if missing); returns the bytes written. */
export async function writeReportFile(path: string, text: string): Promise<number> {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const bytes = Buffer.from(text, 'utf8');
  try {
    await makeDirectories(dirname(path));
    const file = await open(temp, 'wx', 0o644);
    try {
      await file.writeFile(bytes);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw fileError(error, { path, doing: 'write the report', code: 'STORAGE' });
  }
  return bytes.length;
}
