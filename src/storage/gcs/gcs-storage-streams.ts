/** Promise and stream plumbing of the GCS driver: aborts, and the start of a download. */
import type { Readable } from 'node:stream';

/** Rejects with `signal.reason` as soon as it aborts; the work itself goes on and is ignored. */
export function raceAbort<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Starts a download and resolves once its response is 2xx; rejects with the SDK's error otherwise. */
export function responseStarted(download: Readable): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: unknown) => reject(error);
    download.once('error', onError);
    download.once('response', (response: { statusCode?: number; status?: number }) => {
      const status = response.statusCode ?? response.status ?? 200;
      // onError stays: a later error rejects nothing (settled) but is not unhandled before get() listens.
      if (status < 300) resolve();
      // Otherwise the SDK reads the error body and destroys the stream: onError rejects.
    });
    // The SDK sends the request on the first read.
    download.pause();
    download.read(0);
  });
}
