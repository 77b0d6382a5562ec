/**
 * The cloud storage suites need the stack's S3, GCS and Azure servers (or real accounts named by the
 * environment). When a local one is down the run fails here with a clear message instead of skipping:
 * a skipped storage test would hide a missing server.
 */
import { stackEnv } from '../../scripts/stack/stack.ts';

async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
    await response.arrayBuffer();
    return response.status < 500;
  } catch {
    return false;
  }
}

export default async function requireCloud(): Promise<void> {
  const stack = stackEnv();
  const env = (name: string) => process.env[name] || stack[name];
  const blobEndpoint = /BlobEndpoint=([^;]+)/.exec(env('AZURE_STORAGE_CONNECTION_STRING') ?? '')?.[1];
  const servers: Array<[string, string | undefined]> = [
    ['S3 (ACX_S3_ENDPOINT)', env('ACX_S3_ENDPOINT')],
    [
      'GCS (STORAGE_EMULATOR_HOST)',
      env('STORAGE_EMULATOR_HOST') && `${env('STORAGE_EMULATOR_HOST')}/storage/v1/b?project=acx`,
    ],
    ['Azure (AZURE_STORAGE_CONNECTION_STRING)', blobEndpoint && `${blobEndpoint}?comp=list`],
  ];
  const down: string[] = [];
  for (const [name, url] of servers)
    if (url && /127\.0\.0\.1|localhost/.test(url) && !(await answers(url))) down.push(name);
  if (down.length > 0)
    throw new Error(
      `the cloud storage tests need the local storage servers, and these do not answer: ${down.join(', ')}\n` +
        'Start the local stack with `npm run stack:up`.',
    );
}
