/** How the S3 driver sends a stream: lib-storage's multipart Upload, or one buffer for a conditional put. */
import { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { PutData } from '../storage.ts';
import { chunksOf } from '../storage-data.ts';

export interface UploadTarget {
  client: S3Client;
  bucket: string;
  objectKey: string;
  /** Bytes per part (S3's minimum is 5 MiB). */
  partSize: number;
  /** Parts in flight at once. */
  queueSize: number;
  /** ServerSideEncryption / SSEKMSKeyId, sent with CreateMultipartUpload (or the single PutObject). */
  encryption: { ServerSideEncryption?: 'AES256' | 'aws:kms'; SSEKMSKeyId?: string };
}

/**
 * Uploads `data` in parts (one PutObject when it fits in one part) and resolves with its size. Memory
 * is Upload's: its `queueSize` parts in flight and the one being filled, whatever the object's size.
 * The source is read through chunksOf, so an abort fails the next read with `signal.reason`; Upload
 * then waits for the parts in flight, aborts the multipart upload and rejects: nothing is left once
 * this rejects. It rejects with the source's own error when the source failed (or was aborted), and
 * with `translate(error)` of the SDK's error otherwise.
 */
export async function uploadInParts(
  target: UploadTarget,
  data: PutData,
  signal: AbortSignal | undefined,
  translate: (error: unknown) => unknown,
): Promise<number> {
  let size = 0;
  let sourceFailed = false;
  let sourceError: unknown;
  async function* counted(): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of chunksOf(data, signal)) {
        size += chunk.length;
        yield chunk;
      }
    } catch (error) {
      sourceFailed = true;
      sourceError = error;
      throw error;
    }
  }
  // One chunk read ahead: Upload's part buffers are the only memory a put holds.
  const body = Readable.from(counted(), { objectMode: true, highWaterMark: 1 });
  const upload = new Upload({
    client: target.client,
    params: { Bucket: target.bucket, Key: target.objectKey, Body: body, ...target.encryption },
    partSize: target.partSize,
    queueSize: target.queueSize,
    leavePartsOnError: false,
  });
  try {
    await upload.done();
  } catch (error) {
    body.destroy();
    // A failing AbortMultipartUpload must not hide why the upload stopped.
    if (sourceFailed) throw sourceError;
    throw translate(error);
  }
  return size;
}

/**
 * The stream in one Buffer, for a conditional put (If-None-Match is one PutObject); `tooLarge()` is
 * thrown as soon as it passes `limit` bytes.
 */
export async function collectUpTo(
  data: PutData,
  limit: number,
  signal: AbortSignal | undefined,
  tooLarge: () => unknown,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of chunksOf(data, signal)) {
    size += chunk.length;
    if (size > limit) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks); // a copy: the source may reuse its buffers
}
