/**
 * Standalone Qdrant double for the local stack:
 *   node test/qdrant-double/main.ts --port 6333 --data-dir DIR [--host 127.0.0.1] [--api-key KEY] [--no-persist]
 * With a data dir the collections are saved there on SIGTERM/SIGINT and loaded on the next start.
 */
import { resolve } from 'node:path';
import { startQdrantDouble } from './server.ts';

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const dataDir = option('data-dir');
const double = await startQdrantDouble({
  port: Number(option('port') ?? process.env.ACX_QDRANT_PORT ?? 6333),
  host: option('host') ?? '127.0.0.1',
  apiKey: option('api-key') ?? (process.env.QDRANT_API_KEY || undefined),
  dataDir: dataDir === undefined ? undefined : resolve(dataDir),
  persist: dataDir !== undefined && !process.argv.includes('--no-persist'),
});
console.log(`qdrant-double ready ${double.url}`);

let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`qdrant-double: ${signal}, saving and stopping`);
  try {
    await double.close();
    console.log('qdrant-double stopped');
    process.exit(0);
  } catch (error) {
    console.error(`qdrant-double: stop failed: ${(error as Error).stack ?? String(error)}`);
    process.exit(1);
  }
}
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));
