/**
 * Reading an input file as text, for the import readers (JSON, vectors, GraphML): a missing file is
 * `NOT_FOUND`; gzip is recognised by its `.gz` name or its magic bytes and inflated on the fly; the bytes
 * must be UTF-8 (decoded strictly, so a binary file or a Latin-1 file is refused rather than read as
 * U+FFFD). Every problem becomes `AcxError('INVALID_INPUT')` naming the file. Text streams in chunks;
 * nothing holds the file.
 */
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { AcxError } from '../errors.ts';
import type { InputDataset, InputSource } from '../model/input.ts';

const READ_CHUNK = 256 * 1024;
const GZIP_MAGIC = [0x1f, 0x8b] as const;

/** `AcxError('INVALID_INPUT')` naming the file and, when known, the line. */
export function invalidInput(file: string, message: string, line?: number, hint?: string): AcxError {
  const where = line === undefined ? file : `${file}: line ${line}`;
  return new AcxError('INVALID_INPUT', `${where}: ${message}`, { subject: file, hint });
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/** Checks that `file` exists and is a regular file (`NOT_FOUND` / `INVALID_INPUT` otherwise). */
export async function checkInputFile(file: string): Promise<void> {
  let info;
  try {
    info = await stat(file);
  } catch (error) {
    if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') {
      throw new AcxError('NOT_FOUND', `${file}: no such file`, { subject: file, cause: error });
    }
    throw invalidInput(file, `cannot be read (${(error as Error).message})`);
  }
  if (!info.isFile()) throw invalidInput(file, 'is not a file');
}

/** True when the file is gzip'd: named `*.gz`, or starting with the gzip magic bytes. */
export async function isGzipFile(file: string): Promise<boolean> {
  if (/\.gz$/i.test(file)) return true;
  let handle;
  try {
    handle = await open(file, 'r');
    const head = Buffer.alloc(2);
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    return bytesRead === 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1];
  } catch (error) {
    if (errorCode(error) === 'ENOENT') {
      throw new AcxError('NOT_FOUND', `${file}: no such file`, { subject: file, cause: error });
    }
    throw invalidInput(file, `cannot be read (${(error as Error).message})`);
  } finally {
    await handle?.close();
  }
}

/**
 * The file's text in chunks (of any size, possibly empty), inflated when gzip'd, decoded as strict
 * UTF-8 (a BOM is kept as U+FEFF for the caller to judge). Stopping the iteration early closes the file.
 */
export async function* readInputText(file: string): AsyncGenerator<string, void, undefined> {
  const gzip = await isGzipFile(file);
  const raw = createReadStream(file, { highWaterMark: READ_CHUNK });
  let stream: Readable = raw;
  if (gzip) {
    const gunzip = createGunzip({ chunkSize: 64 * 1024 });
    raw.on('error', (error) => gunzip.destroy(error));
    stream = raw.pipe(gunzip);
  }
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  let bytes = 0;
  const decode = (chunk?: Buffer): string => {
    try {
      return chunk ? decoder.decode(chunk, { stream: true }) : decoder.decode();
    } catch {
      throw invalidInput(
        file,
        `is not UTF-8 text (an invalid byte sequence near byte ${bytes}${gzip ? ' of the inflated data' : ''})`,
        undefined,
        'import files are UTF-8; is this the right file?',
      );
    }
  };
  try {
    for await (const chunk of stream) {
      const text = decode(chunk as Buffer);
      bytes += (chunk as Buffer).length;
      yield text;
    }
    const rest = decode();
    if (rest !== '') yield rest;
  } catch (error) {
    if (error instanceof AcxError) throw error;
    const code = errorCode(error);
    if (code === 'ENOENT') {
      throw new AcxError('NOT_FOUND', `${file}: no such file`, { subject: file, cause: error });
    }
    if (gzip && code !== undefined && code.startsWith('Z_')) {
      throw invalidInput(
        file,
        `is not a complete gzip file (${(error as Error).message})`,
        undefined,
        'the file is truncated or corrupt; export it again',
      );
    }
    throw new AcxError('INVALID_INPUT', `${file}: cannot be read (${(error as Error).message})`, {
      subject: file,
      cause: error,
    });
  } finally {
    raw.destroy();
    stream.destroy();
  }
}

/**
 * An input read in one go by `read` (a generator of datasets over the file), which `datasets()` starts
 * once; `close()` stops it. `notices` fills as `read` passes what it does not import.
 */
export async function singlePassInput(
  format: InputSource['format'],
  file: string,
  read: (file: string, notices: string[]) => AsyncGenerator<InputDataset>,
): Promise<InputSource> {
  await checkInputFile(file);
  const notices: string[] = [];
  let active: AsyncGenerator<InputDataset> | undefined;
  return {
    format,
    file,
    notices,
    datasets() {
      if (active) throw new Error(`${file}: datasets() can be read only once`);
      active = read(file, notices);
      return active;
    },
    async close() {
      await active?.return(undefined);
    },
  };
}
