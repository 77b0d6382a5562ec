/**
 * The layer rule of eslint.config.js fails the lint when a file crosses a layer (docs/design.md §2),
 * and lets the allowed directions through.
 */
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint();

async function crossings(file: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(source, { filePath: file });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('layer boundaries', () => {
  it.each([
    ['src/stores/postgres/postgres-x.ts', "import type { Manifest } from '../../repository/manifest.ts';"],
    ['src/stores/neo4j/neo4j-x.ts', "import { writeCsvFile } from '../../formats/csv/csv-format.ts';"],
    ['src/stores/neo4j/neo4j-x.ts', "import { openPostgres } from '../postgres/postgres-connection.ts';"],
    ['src/stores/qdrant/qdrant-x.ts', "import { backupStores } from '../../operations/backup.ts';"],
    ['src/model/x.ts', "import { QdrantClient } from '../stores/qdrant/qdrant-client.ts';"],
    ['src/formats/csv/csv-x.ts', "import { Repository } from '../../repository/repository.ts';"],
    ['src/repository/x.ts', "import { restorePostgres } from '../stores/postgres/postgres-restore.ts';"],
    ['src/storage/local/local-x.ts', "import { MemoryStorage } from '../memory/memory-storage.ts';"],
    ['src/operations/x.ts', "import { buildProgram } from '../cli/program.ts';"],
    ['src/operations/x.ts', "import { startQdrantDouble } from '../../test/qdrant-double/server.ts';"],
  ])('%s: %s is refused', async (file, source) => {
    const messages = await crossings(file, source + '\nexport {};\n');
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain('crosses a layer');
  });

  it.each([
    ['src/stores/postgres/postgres-x.ts', "import type { StoreSection } from '../../model/snapshot.ts';"],
    ['src/stores/postgres/postgres-x.ts', "import { AcxError } from '../../errors.ts';"],
    ['src/operations/x.ts', "import { Repository } from '../repository/repository.ts';"],
    ['src/cli/x.ts', "import { backupStores } from '../operations/backup.ts';"],
    ['src/formats/csv/csv-x.ts', "import type { FieldSpec } from '../../model/dataset.ts';"],
  ])('%s: %s is allowed', async (file, source) => {
    expect(await crossings(file, source + '\nexport {};\n')).toEqual([]);
  });
});
