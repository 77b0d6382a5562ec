// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The layers (docs/design.md §2), lowest first. A file may import its own layer and every layer below
 * it; `forbid` lists what a layer must never import. Each driver folder (stores/postgres, storage/s3 …)
 * also never imports a sibling driver. test/unit/layers.test.ts shows that a crossing fails the lint.
 */
/** The layers above the core ones: none of the core layers may import them. */
const UPPER = ['cli', 'operations', 'schedule', 'report'];
const LAYERS = {
  cli: [],
  operations: ['cli'],
  // Operations' own concepts (design §13): the schedule generator and the HTML report sit beside operations.
  schedule: ['cli', 'operations', 'report'],
  report: ['cli', 'schedule'],
  repository: [...UPPER, 'seed', 'stores', 'formats', 'embeddings'],
  seed: [...UPPER, 'repository', 'stores', 'storage', 'formats', 'embeddings'],
  stores: [...UPPER, 'repository', 'seed', 'storage', 'formats', 'embeddings'],
  storage: [...UPPER, 'repository', 'seed', 'stores', 'formats', 'embeddings'],
  formats: [...UPPER, 'repository', 'seed', 'stores', 'storage', 'embeddings'],
  embeddings: [...UPPER, 'repository', 'seed', 'stores', 'storage', 'formats'],
  base: [...UPPER, 'repository', 'seed', 'stores', 'storage', 'formats', 'embeddings'],
};
const LAYER_FILES = {
  cli: ['src/cli/**/*.ts'],
  operations: ['src/operations/**/*.ts'],
  schedule: ['src/schedule/**/*.ts'],
  report: ['src/report/**/*.ts'],
  repository: ['src/repository/**/*.ts'],
  seed: ['src/seed/**/*.ts'],
  stores: ['src/stores/**/*.ts'],
  storage: ['src/storage/**/*.ts'],
  formats: ['src/formats/**/*.ts'],
  embeddings: ['src/embeddings/**/*.ts'],
  base: ['src/model/**/*.ts', 'src/config/**/*.ts', 'src/*.ts'],
};
const DRIVERS = {
  stores: ['postgres', 'neo4j', 'qdrant'],
  storage: ['local', 'memory', 's3', 'gcs', 'azure'],
};

/** The product never reaches into test code or scripts (the Qdrant double lives in test/). */
const ALWAYS = ['**/test/**', '**/scripts/**'];
const restrict = (patterns) => ({
  'no-restricted-imports': [
    'error',
    {
      patterns: [
        { group: patterns, message: 'crosses a layer (docs/design.md §2; eslint.config.js LAYERS)' },
      ],
    },
  ],
});

const layerConfigs = Object.entries(LAYERS).flatMap(([layer, forbidden]) => {
  const patterns = [...ALWAYS, ...forbidden.flatMap((f) => [`**/${f}/**`, `../${f}/**`])];
  const configs = [{ files: LAYER_FILES[layer], rules: restrict(patterns) }];
  for (const driver of DRIVERS[layer] ?? []) {
    const siblings = DRIVERS[layer].filter((d) => d !== driver).map((d) => `**/${layer}/${d}/**`);
    const relative = DRIVERS[layer].filter((d) => d !== driver).map((d) => `../${d}/**`);
    configs.push({
      files: [`src/${layer}/${driver}/**/*.ts`],
      rules: restrict([...patterns, ...siblings, ...relative]),
    });
  }
  return configs;
});

export default tseslint.config(
  { ignores: ['node_modules/', '.stack/', 'data/', 'dist/', 'stack/neo4j/target/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  {
    // The bin is plain JavaScript run by Node.
    files: ['bin/**/*.js'],
    languageOptions: { globals: { process: 'readonly', URL: 'readonly' } },
  },
  {
    // The core never prints: only the CLI and scripts talk to the terminal.
    files: ['src/**/*.ts'],
    ignores: ['src/cli/**'],
    rules: { 'no-console': 'error' },
  },
  ...layerConfigs,
);
