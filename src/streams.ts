/** Stream helpers shared by every layer. */
import { Transform } from 'node:stream';
import { AcxError } from './errors.ts';

const NEWLINE = 0x0a;

/**
 * The longest record (line) a reader of snapshot files accepts: far above any real record (a Neo4j node
 * with its properties, a Qdrant point with its vectors, a COPY row), far below what would exhaust
 * memory or JavaScript's string limit (~512 MiB). A longer line is damage: INTEGRITY (docs/design.md §7.2).
 */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024;

export interface ReadLinesOptions {
  /** Names the input in errors (a snapshot file). */
  source?: string;
  /** Default MAX_RECORD_BYTES. */
  maxLineBytes?: number;
}

function lineTooLong(source: string, line: number, limit: number): AcxError {
  return new AcxError(
    'INTEGRITY',
    `${source}: line ${line} is longer than ${limit} bytes (the record limit)`,
    {
      subject: source,
      hint: 'no record is this long: the file is damaged or was tampered with',
    },
  );
}

/**
 * Splits a byte stream into UTF-8 lines (without their newline); a last line without newline is kept.
 * A line longer than `maxLineBytes` fails with INTEGRITY as soon as its length passes the limit, so
 * no more than the limit is ever held.
 */
export async function* readLines(
  stream: AsyncIterable<Buffer>,
  options: ReadLinesOptions = {},
): AsyncGenerator<string> {
  const limit = options.maxLineBytes ?? MAX_RECORD_BYTES;
  const source = options.source ?? 'input';
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let line = 1;
  for await (const chunk of stream) {
    let start = 0;
    for (let i = chunk.indexOf(NEWLINE); i !== -1; i = chunk.indexOf(NEWLINE, start)) {
      if (pendingBytes + i - start > limit) throw lineTooLong(source, line, limit);
      const piece = chunk.subarray(start, i);
      if (pending.length > 0) {
        pending.push(piece);
        yield Buffer.concat(pending).toString('utf8');
        pending = [];
        pendingBytes = 0;
      } else {
        yield piece.toString('utf8');
      }
      line++;
      start = i + 1;
    }
    if (start < chunk.length) {
      pendingBytes += chunk.length - start;
      if (pendingBytes > limit) throw lineTooLong(source, line, limit);
      pending.push(chunk.subarray(start));
    }
  }
  if (pending.length > 0) yield Buffer.concat(pending).toString('utf8');
}

/**
 * Passes bytes through unchanged while checking that no line is longer than `maxLineBytes`: for record
 * files handed whole to a consumer (a COPY stream), which would otherwise buffer a huge line itself.
 */
export function checkLineLength(options: ReadLinesOptions = {}): Transform {
  const limit = options.maxLineBytes ?? MAX_RECORD_BYTES;
  const source = options.source ?? 'input';
  let current = 0;
  let line = 1;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      let start = 0;
      for (let i = chunk.indexOf(NEWLINE); i !== -1; i = chunk.indexOf(NEWLINE, start)) {
        if (current + i - start > limit) return callback(lineTooLong(source, line, limit));
        current = 0;
        line++;
        start = i + 1;
      }
      current += chunk.length - start;
      if (current > limit) return callback(lineTooLong(source, line, limit));
      callback(null, chunk);
    },
  });
}
