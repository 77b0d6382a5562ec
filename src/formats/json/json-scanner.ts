/**
 * A pull scanner over a JSON document arriving in text chunks, for readers that must not hold the
 * document: the caller walks the structure it cares about (`openObject`/`nextKey`, `openArray`/
 * `nextElement`) and takes each value it wants whole (`parseValue`, exact through `parseExactJson`, so
 * 64-bit integers stay bigint), or skips it without holding it (`skipValue`). Only one value's text is
 * held at a time (a record, a point), plus the current chunk.
 *
 * The scanner counts lines, so every value comes with the line it starts on, and every error is an
 * `AcxError('INVALID_INPUT')` naming the file and the line: unexpected characters, a truncated document,
 * mismatched brackets, a line break inside a string, invalid JSON inside a value (`JSON.parse`'s
 * verdict, with the line of the offending character), a value nested deeper than `MAX_VALUE_DEPTH`, and
 * text after the document (`end()`).
 *
 * Why not a tokenizer library: none reports lines, and tokenizing every character in JS is several
 * times slower than finding a record's extent and handing it to the native `JSON.parse`.
 */
import { parseExactJson } from '../../model/exact-json.ts';
import { invalidInput } from '../input-text.ts';
import { MAX_VALUE_DEPTH, TOO_DEEP } from '../input-values.ts';

/** Largest single value (a record, a point) the scanner gathers, in UTF-16 code units. */
export const MAX_VALUE_CHARS = 256 * 2 ** 20;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const NEWLINE = 0x0a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

// Characters that matter inside a string, and outside strings inside a container.
const STRING_STOP = /["\\\n]/g;
const STRUCT_STOP = /["{}[\]\n]/g;
const SCALAR_CHAR = /[-+.0-9A-Za-z]/;
const SCALAR_START = /[-0-9tfn]/;
const SCALAR_END = /[^-+.0-9A-Za-z]/g;

/** A short, printable excerpt of the text at a position, for messages. */
function excerpt(text: string): string {
  const line = text.split(/\r?\n/, 1)[0] ?? '';
  // eslint-disable-next-line no-control-regex
  const clean = line.slice(0, 24).replace(/[\u0000-\u001f\u007f]/g, '?');
  return JSON.stringify(clean + (line.length > 24 ? '…' : ''));
}

export class JsonScanner {
  private buf = '';
  private pos = 0;
  private eof = false;
  /** 1-based line of the next unread character. */
  line = 1;
  /** Open containers (objects and arrays), each with whether its first member is still to come. */
  private readonly open: boolean[] = [];

  private readonly chunks: AsyncIterator<string>;
  readonly file: string;

  constructor(chunks: AsyncIterator<string>, file: string) {
    this.chunks = chunks;
    this.file = file;
  }

  /** Throws `INVALID_INPUT` naming the file and the line. */
  fail(message: string, line: number = this.line, hint?: string): never {
    throw invalidInput(this.file, message, line, hint);
  }

  /** Stops reading (closes the file). */
  async close(): Promise<void> {
    this.eof = true;
    await this.chunks.return?.();
  }

  /** Replaces the buffer with the next non-empty chunk; false at the end of the input. */
  private async fill(): Promise<boolean> {
    while (!this.eof) {
      const next = await this.chunks.next();
      if (next.done) break;
      if (next.value.length > 0) {
        this.buf = next.value;
        this.pos = 0;
        return true;
      }
    }
    this.eof = true;
    this.buf = '';
    this.pos = 0;
    return false;
  }

  /** The next character after whitespace, not consumed; `''` at the end of the input. */
  async peek(): Promise<string> {
    for (;;) {
      const buf = this.buf;
      let i = this.pos;
      while (i < buf.length) {
        const c = buf.charCodeAt(i);
        if (c === 0x20 || c === 0x09 || c === 0x0d) i++;
        else if (c === NEWLINE) {
          this.line++;
          i++;
        } else {
          this.pos = i;
          return buf[i]!;
        }
      }
      this.pos = i;
      if (!(await this.fill())) return '';
    }
  }

  /** Throws for the character `c` (from `peek`) where `what` was expected. */
  unexpected(c: string, what: string): never {
    if (c === '') this.fail(`the document ends where ${what} was expected (is the file truncated?)`);
    this.fail(`expected ${what}, found ${excerpt(this.buf.slice(this.pos))}`);
  }

  private async consume(expected: string, what: string): Promise<void> {
    const c = await this.peek();
    if (c !== expected) this.unexpected(c, what);
    this.pos++;
  }

  /** Consumes `{`; then call `nextKey()` until it returns null. */
  async openObject(what = 'an object'): Promise<void> {
    await this.consume('{', what);
    this.open.push(true);
  }

  /** The next key of the innermost open object, positioned at its value; null (and the object closed) at `}`. */
  async nextKey(): Promise<string | null> {
    let c = await this.peek();
    if (c === '}') {
      this.pos++;
      this.open.pop();
      return null;
    }
    if (!this.open[this.open.length - 1]) {
      if (c !== ',') this.unexpected(c, '"," or "}"');
      this.pos++;
      c = await this.peek();
    }
    this.open[this.open.length - 1] = false;
    if (c !== '"') this.unexpected(c, 'a key (a string)');
    const line = this.line;
    const text = await this.scanString(line);
    let key: unknown;
    try {
      key = JSON.parse(text);
    } catch (error) {
      this.fail(`invalid key: ${(error as Error).message}`, line);
    }
    await this.consume(':', '":"');
    return key as string;
  }

  /** Consumes `[`; then call `nextElement()` until it returns false. */
  async openArray(what = 'an array'): Promise<void> {
    await this.consume('[', what);
    this.open.push(true);
  }

  /** True when the innermost open array has another element (positioned at it); false (and closed) at `]`. */
  async nextElement(): Promise<boolean> {
    const c = await this.peek();
    if (c === ']') {
      this.pos++;
      this.open.pop();
      return false;
    }
    if (!this.open[this.open.length - 1]) {
      if (c !== ',') this.unexpected(c, '"," or "]"');
      this.pos++;
    }
    this.open[this.open.length - 1] = false;
    return true;
  }

  /** The next value's text, whole, and the line it starts on. */
  async readValue(what = 'a value'): Promise<{ text: string; line: number }> {
    const c = await this.peek();
    const line = this.line;
    if (c === '{' || c === '[') return { text: await this.scanContainer(line), line };
    if (c === '"') return { text: await this.scanString(line), line };
    if (c !== '' && SCALAR_START.test(c)) return { text: await this.scanScalar(), line };
    this.unexpected(c, what);
  }

  /** The next value, parsed exactly (integers beyond 2^53 as bigint), and the line it starts on. */
  async parseValue(what = 'a value'): Promise<{ value: unknown; line: number }> {
    const { text, line } = await this.readValue(what);
    try {
      return { value: parseExactJson(text), line };
    } catch (error) {
      const message = (error as Error).message;
      const at = /at position (\d+)/.exec(message);
      let errorLine = line;
      if (at) {
        const upTo = text.slice(0, Number(at[1]));
        for (let i = upTo.indexOf('\n'); i !== -1; i = upTo.indexOf('\n', i + 1)) errorLine++;
      }
      this.fail(`invalid JSON (${message.replace(/\s+/g, ' ').slice(0, 200)})`, errorLine);
    }
  }

  /**
   * Skips the next value. Objects and arrays are walked `streamDepth` levels deep (members taken one by
   * one), deeper values are parsed whole to validate them and dropped.
   */
  async skipValue(streamDepth = 2): Promise<void> {
    const c = await this.peek();
    if (streamDepth > 0 && c === '{') {
      await this.openObject();
      while ((await this.nextKey()) !== null) await this.skipValue(streamDepth - 1);
    } else if (streamDepth > 0 && c === '[') {
      await this.openArray();
      while (await this.nextElement()) await this.skipValue(streamDepth - 1);
    } else {
      await this.parseValue();
    }
  }

  /** Checks that nothing but whitespace follows the document. */
  async end(): Promise<void> {
    const c = await this.peek();
    if (c !== '') {
      this.fail(`unexpected text after the end of the JSON document: ${excerpt(this.buf.slice(this.pos))}`);
    }
  }

  private tooLarge(line: number): never {
    this.fail(
      `a value larger than ${MAX_VALUE_CHARS / 2 ** 20} MiB starts here (or a bracket is missing)`,
      line,
    );
  }

  /** At `"`: the string token's text, quotes included. */
  private async scanString(line: number): Promise<string> {
    const parts: string[] = [];
    let size = 0;
    let buf = this.buf;
    let start = this.pos;
    let i = this.pos + 1;
    let escaped = false;
    for (;;) {
      if (escaped && i < buf.length) {
        i++;
        escaped = false;
      }
      STRING_STOP.lastIndex = i;
      const m = escaped ? null : STRING_STOP.exec(buf);
      if (m === null) {
        parts.push(buf.slice(start));
        size += buf.length - start;
        if (size > MAX_VALUE_CHARS) this.tooLarge(line);
        if (!(await this.fill()))
          this.fail('the document ends inside a string (is the file truncated?)', line);
        buf = this.buf;
        start = 0;
        i = 0;
        continue;
      }
      i = m.index;
      const c = buf.charCodeAt(i);
      if (c === QUOTE) {
        i++;
        break;
      }
      if (c === BACKSLASH) {
        i++;
        if (i < buf.length) i++;
        else escaped = true;
        continue;
      }
      this.fail('line break inside a string (an unterminated string?)', this.line);
    }
    this.pos = i;
    if (parts.length === 0) return buf.slice(start, i);
    parts.push(buf.slice(start, i));
    return parts.join('');
  }

  /** At a number or literal: its text (validated later by the parse). */
  private async scanScalar(): Promise<string> {
    let text = '';
    for (;;) {
      const buf = this.buf;
      SCALAR_END.lastIndex = this.pos;
      const m = SCALAR_END.exec(buf);
      const end = m === null ? buf.length : m.index;
      text += buf.slice(this.pos, end);
      this.pos = end;
      if (end < buf.length) return text;
      if (text.length > 1000) this.fail(`a number or literal longer than 1000 characters`);
      if (!(await this.fill())) return text;
      if (!SCALAR_CHAR.test(this.buf[0]!)) return text;
    }
  }

  /** At `{` or `[`: the container's text up to its matching bracket. */
  private async scanContainer(line: number): Promise<string> {
    const parts: string[] = [];
    let size = 0;
    let buf = this.buf;
    let start = this.pos;
    let i = this.pos;
    const closers: number[] = [];
    let inString = false;
    let escaped = false;
    for (;;) {
      if (i >= buf.length) {
        parts.push(buf.slice(start));
        size += buf.length - start;
        if (size > MAX_VALUE_CHARS) this.tooLarge(line);
        if (!(await this.fill())) {
          const what = parts[0]!.startsWith('{') ? 'object' : 'array';
          this.fail(`the document ends inside the ${what} starting here (is the file truncated?)`, line);
        }
        buf = this.buf;
        start = 0;
        i = 0;
      }
      if (inString) {
        if (escaped) {
          i++;
          escaped = false;
          continue;
        }
        STRING_STOP.lastIndex = i;
        const m = STRING_STOP.exec(buf);
        if (m === null) {
          i = buf.length;
          continue;
        }
        i = m.index;
        const c = buf.charCodeAt(i);
        if (c === QUOTE) {
          inString = false;
          i++;
        } else if (c === BACKSLASH) {
          i++;
          if (i < buf.length) i++;
          else escaped = true;
        } else {
          this.fail('line break inside a string (an unterminated string?)', this.line);
        }
        continue;
      }
      STRUCT_STOP.lastIndex = i;
      const m = STRUCT_STOP.exec(buf);
      if (m === null) {
        i = buf.length;
        continue;
      }
      i = m.index;
      const c = buf.charCodeAt(i);
      i++;
      if (c === QUOTE) inString = true;
      else if (c === NEWLINE) this.line++;
      else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        // Refused while scanning: a value thousands of levels deep would overflow every recursive step after.
        if (closers.length === MAX_VALUE_DEPTH) this.fail(`a value ${TOO_DEEP} starts here`, line);
        closers.push(c === OPEN_BRACE ? CLOSE_BRACE : CLOSE_BRACKET);
      } else {
        const expected = closers.pop();
        if (expected !== c) {
          this.fail(
            `"${String.fromCharCode(c)}" does not close ${expected === undefined ? 'anything' : `"${expected === CLOSE_BRACE ? '{' : '['}"`} (mismatched brackets)`,
          );
        }
        if (closers.length === 0) break;
      }
    }
    this.pos = i;
    if (parts.length === 0) return buf.slice(start, i);
    parts.push(buf.slice(start, i));
    return parts.join('');
  }
}
