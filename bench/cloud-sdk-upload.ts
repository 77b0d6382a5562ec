/**
 * The peer of `bench/cloud.ts`: the AWS SDK's own `Upload` (lib-storage) alone, with nothing of acx-data
 * around it. Uploads every file under `<dir>` to `s3://<bucket>/<prefix>/<relative path>`, each file
 * streamed from disk through one `Upload` (parts of 8 MiB, 4 in flight: what the S3 driver uses), and
 * `--files-in-flight` files at once (default 4: as many packs as copySnapshot puts at once).
 *
 *   npx node bench/cloud-sdk-upload.ts <dir> <bucket> <prefix> [--files-in-flight 4]
 *
 * Endpoint from AWS_ENDPOINT_URL_S3 (path-style); credentials from the SDK's default chain (the
 * environment). Prints one JSON line: `{ "files": n, "bytes": n }`.
 */
import { createReadStream, readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

const MiB = 1024 * 1024;

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return filesUnder(path);
      return entry.isFile() ? [path] : [];
    })
    .sort();
}

async function main(): Promise<void> {
  const [dir, bucket, prefix] = process.argv.slice(2);
  if (!dir || !bucket || prefix === undefined) {
    throw new Error('usage: cloud-sdk-upload.ts <dir> <bucket> <prefix> [--files-in-flight n]');
  }
  const flag = process.argv.indexOf('--files-in-flight');
  const filesInFlight = flag === -1 ? 4 : Number(process.argv[flag + 1]);
  const endpoint = process.env.AWS_ENDPOINT_URL_S3;
  const client = new S3Client({
    region: process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
  });
  const files = filesUnder(dir);
  let next = 0;
  let bytes = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const file = files[next++]!;
      const key = [prefix, relative(dir, file).split(sep).join('/')].filter(Boolean).join('/');
      const upload = new Upload({
        client,
        params: { Bucket: bucket, Key: key, Body: createReadStream(file) },
        partSize: 8 * MiB,
        queueSize: 4,
        leavePartsOnError: false,
      });
      await upload.done();
      bytes += statSync(file).size;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, filesInFlight) }, worker));
  client.destroy();
  console.log(JSON.stringify({ files: files.length, bytes }));
}

await main();
