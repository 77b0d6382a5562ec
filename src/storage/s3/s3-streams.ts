/** The body of a GetObject as the Storage contract hands it out. */
import { PassThrough, type Readable } from 'node:stream';
import { destroyOnAbort } from '../storage-data.ts';

/**
 * The response body, its errors translated (a connection dropped mid-body becomes a 'transient'
 * StorageError; a checksum mismatch found by the SDK at the end stays an error of the stream), ended
 * with `signal.reason` when the signal aborts, and releasing the connection when the consumer stops
 * early (destroying the returned stream destroys the body).
 */
export function s3BodyStream(
  body: Readable,
  signal: AbortSignal | undefined,
  translate: (error: unknown) => unknown,
): Readable {
  const out = new PassThrough();
  body.on('error', (error) => {
    out.destroy((signal?.aborted ? signal.reason : translate(error)) as Error);
  });
  out.on('close', () => body.destroy());
  body.pipe(out);
  return destroyOnAbort(out, signal);
}
