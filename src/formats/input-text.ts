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
import { fileError } from '../files.ts';
import type { InputDataset, InputSource } from '../model/input.ts';
import { checkedInput } from './input-values.ts';

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
    throw fileError(error, { path: file, doing: 'read', code: 'INVALID_INPUT' });
  }
  if (!info.isFile()) {
    const what = info.isDirectory() ? 'is a directory, not a file' : 'is not a regular file';
    throw invalidInput(file, what, undefined, 'name the exported file itself (CSV alone takes a folder)');
  }
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
    throw fileError(error, { path: file, doing: 'read', code: 'INVALID_INPUT' });
  } finally {
    await handle?.close();
  }
}

/** The length of `bytes` without an incomplete UTF-8 sequence at its end. */
export function completeUtf8Length(bytes: Uint8Array): number {
  const n = bytes.length;
  for (let back = 1; back <= Math.min(3, n); back++) {
    const b = bytes[n - back]!;
    if ((b & 0xc0) === 0x80) continue; // a continuation byte: look further back
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return need > back ? n - back : n;
  }
  return n;
}

/** The offset of the first byte that is not part of a valid UTF-8 sequence (`bytes.length` if none). */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    let need: number;
    let min: number;
    if (b < 0x80) {
      i++;
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) [need, min] = [1, 0x80];
    else if (b >= 0xe0 && b <= 0xef) [need, min] = [2, 0x800];
    else if (b >= 0xf0 && b <= 0xf4) [need, min] = [3, 0x10000];
    else return i;
    let code = b & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      code = (code << 6) | (c & 0x3f);
    }
    if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return i;
    i += need + 1;
  }
  return bytes.length;
}

/**
 * Where a streaming UTF-8 decode is: bytes and lines passed, and the incomplete sequence the decoder
 * holds back at the end of the last chunk, so that an invalid sequence is placed where it starts, also
 * when it began in the previous chunk or is cut by the end of the input.
 */
class Utf8Position {
  private bytes = 0;
  private line = 1;
  private pending: Buffer = Buffer.alloc(0);

  /** A chunk the decoder accepted. */
  passed(chunk: Buffer): void {
    for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, i + 1)) this.line++;
    this.bytes += chunk.length;
    const held = this.pending.length > 0 && chunk.length < 4 ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = held.subarray(completeUtf8Length(held));
  }

  /** The 0-based byte offset and the line of the invalid sequence in `chunk` (none: the input's end). */
  invalid(chunk?: Buffer): { offset: number; line: number } {
    const start = this.bytes - this.pending.length;
    if (!chunk) return { offset: start, line: this.line };
    const data = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    const bad = firstInvalidUtf8(data);
    let line = this.line;
    for (let i = data.indexOf(0x0a); i !== -1 && i < bad; i = data.indexOf(0x0a, i + 1)) line++;
    return { offset: start + bad, line };
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
  const position = new Utf8Position();
  const decode = (chunk?: Buffer): string => {
    try {
      const text = chunk ? decoder.decode(chunk, { stream: true }) : decoder.decode();
      if (chunk) position.passed(chunk);
      return text;
    } catch {
      const { offset, line } = position.invalid(chunk);
      throw invalidInput(
        file,
        `is not UTF-8 text: an invalid byte sequence at byte ${offset} (line ${line})${gzip ? ' of the inflated data' : ''}`,
        undefined,
        'import files are UTF-8; is this the right file?',
      );
    }
  };
  try {
    for await (const chunk of stream) yield decode(chunk as Buffer);
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
 * once; `close()` stops it. `notices` fills as `read` passes what it does not import. Records are
 * checked by `checkedInput` (formats/input-values.ts).
 */
export async function singlePassInput(
  format: InputSource['format'],
  file: string,
  read: (file: string, notices: string[]) => AsyncGenerator<InputDataset>,
): Promise<InputSource> {
  await checkInputFile(file);
  const notices: string[] = [];
  let active: AsyncGenerator<InputDataset> | undefined;
  return checkedInput({
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
  });
}
