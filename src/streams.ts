/** Stream helpers shared by every layer. */

const NEWLINE = 0x0a;

/** Splits a byte stream into UTF-8 lines (without their newline); a last line without newline is kept. */
export async function* readLines(stream: AsyncIterable<Buffer>): AsyncGenerator<string> {
  let pending: Buffer[] = [];
  for await (const chunk of stream) {
    let start = 0;
    for (let i = chunk.indexOf(NEWLINE); i !== -1; i = chunk.indexOf(NEWLINE, start)) {
      const piece = chunk.subarray(start, i);
      if (pending.length > 0) {
        pending.push(piece);
        yield Buffer.concat(pending).toString('utf8');
        pending = [];
      } else {
        yield piece.toString('utf8');
      }
      start = i + 1;
    }
    if (start < chunk.length) pending.push(chunk.subarray(start));
  }
  if (pending.length > 0) yield Buffer.concat(pending).toString('utf8');
}
