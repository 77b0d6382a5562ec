/**
 * `npm run stack:up | stack:down | stack:status | stack:env` — the local stack used alike by tests, CI
 * and the demo. Every command is idempotent; state lives under `.stack/` (or under `$ACX_STACK_DIR`, so
 * that a second stack, e.g. the benchmarks' on other ports, keeps its state apart).
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { postgresService } from './postgres.ts';
import { neo4jDrillService, neo4jService } from './neo4j.ts';
import { qdrantService } from './qdrant.ts';
import { azureService, gcsService, s3Service } from './cloud.ts';
import type { StackContext, StackService } from './service.ts';

const root = resolve(fileURLToPath(import.meta.url), '../../..');
const services: StackService[] = [
  postgresService,
  neo4jService,
  neo4jDrillService,
  qdrantService,
  s3Service,
  gcsService,
  azureService,
];
const stackDir = (): string => resolve(process.env.ACX_STACK_DIR?.trim() || join(root, '.stack'));

function contextFor(service: StackService): StackContext {
  const stateDir = join(stackDir(), service.name);
  mkdirSync(stateDir, { recursive: true });
  return { root, stateDir, log: (message) => console.error(`[${service.name}] ${message}`) };
}

export async function stackUp(): Promise<void> {
  for (const service of services) await service.start(contextFor(service));
}

/**
 * The embedding provider of the local stack: the generated tiny BERT committed as a test fixture
 * (768 dimensions like huBERT; scripts/models/make-tiny-bert.py), run in-process. No service to start.
 */
export function embeddingEnv(): Record<string, string> {
  return {
    EMBEDDING_PROVIDER: 'local',
    EMBEDDING_MODEL_DIR: join(root, 'test', 'fixtures', 'models'),
    HUBERT_MODEL: 'tiny-hubert',
    EMBEDDING_DIMENSION: '768',
  };
}

export function stackEnv(): Record<string, string> {
  return Object.assign({}, ...services.map((s) => s.env(contextFor(s))), embeddingEnv());
}

async function main(command: string | undefined): Promise<number> {
  switch (command) {
    case 'up':
      await stackUp();
      for (const service of services) {
        const status = await service.status(contextFor(service));
        console.error(`[${service.name}] ${status.running ? 'up' : 'DOWN'}: ${status.detail}`);
      }
      console.error('stack is up; prepare a shell with: eval "$(npm run -s stack:env)"');
      return 0;
    case 'down':
      for (const service of [...services].reverse()) await service.stop(contextFor(service));
      console.error('stack is down (data kept under .stack/)');
      return 0;
    case 'status': {
      let allUp = true;
      for (const service of services) {
        const status = await service.status(contextFor(service));
        allUp &&= status.running;
        console.log(`${service.name.padEnd(9)} ${status.running ? 'up  ' : 'down'}  ${status.detail}`);
      }
      return allUp ? 0 : 1;
    }
    case 'env':
      for (const [name, value] of Object.entries(stackEnv())) console.log(`export ${name}='${value}'`);
      return 0;
    default:
      console.error('usage: node scripts/stack/stack.ts up|down|status|env');
      return 2;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv[2]).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`stack: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
