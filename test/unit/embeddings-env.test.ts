/**
 * providerFromEnv: none configured → undefined; each provider from its variables, with the documented
 * defaults; every bad value a CONFIG error naming the variable, never echoing a key or a password.
 */
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AcxError } from '../../src/errors.ts';
import { EMBEDDING_SETUP_HINT, providerFromEnv } from '../../src/embeddings/from-env.ts';
import { HttpEmbeddingProvider } from '../../src/embeddings/http-provider.ts';
import { LocalEmbeddingProvider } from '../../src/embeddings/local-provider.ts';
import { embeddingEnv } from '../../scripts/stack/stack.ts';

const FIXTURES = resolve('test/fixtures/models');

function configError(env: Record<string, string>): AcxError {
  let caught: unknown;
  try {
    providerFromEnv(env);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(AcxError);
  expect((caught as AcxError).code).toBe('CONFIG');
  return caught as AcxError;
}

describe('providerFromEnv', () => {
  it('is undefined when EMBEDDING_PROVIDER is unset or empty, whatever else is set', () => {
    expect(providerFromEnv({})).toBeUndefined();
    expect(providerFromEnv({ EMBEDDING_PROVIDER: '  ', EMBEDDING_URL: 'http://x/embed' })).toBeUndefined();
  });

  it('local: a model id under EMBEDDING_MODEL_DIR, 768 dimensions by default, and it embeds', async () => {
    const provider = providerFromEnv({
      EMBEDDING_PROVIDER: 'local',
      EMBEDDING_MODEL_DIR: FIXTURES,
      HUBERT_MODEL: 'tiny-hubert',
    });
    expect(provider).toBeInstanceOf(LocalEmbeddingProvider);
    expect([provider?.model, provider?.dimension]).toEqual(['local:tiny-hubert', 768]);
    try {
      const [vector] = (await provider?.embed(['motor hiba'])) ?? [];
      expect(vector?.length).toBe(768);
    } finally {
      await provider?.close();
    }
  }, 60_000);

  it("the local stack's configuration (npm run -s stack:env) is a working 768-dimension provider", async () => {
    const env = embeddingEnv();
    expect(env.EMBEDDING_MODEL_DIR).toBe(FIXTURES); // absolute, from the repository root
    const provider = providerFromEnv(env);
    try {
      const vectors = (await provider?.embed(['P0420 Katalizátor hatásfok a küszöb alatt'])) ?? [];
      expect([provider?.model, provider?.dimension, vectors[0]?.length]).toEqual([
        'local:tiny-hubert',
        768,
        768,
      ]);
    } finally {
      await provider?.close();
    }
  }, 60_000);

  it('local: HUBERT_MODEL as an absolute directory names its basename; the default id is huBERT', async () => {
    const absolute = providerFromEnv({
      EMBEDDING_PROVIDER: 'local',
      HUBERT_MODEL: resolve(FIXTURES, 'tiny-hubert'),
      EMBEDDING_DIMENSION: '768',
    });
    expect(absolute?.model).toBe('local:tiny-hubert');
    const byDefault = providerFromEnv({ EMBEDDING_PROVIDER: 'local', EMBEDDING_MODEL_DIR: FIXTURES });
    expect(byDefault?.model).toBe('local:SZTAKI-HLT/hubert-base-cc');
    // the default id is not in the fixtures: the first embed names the directory it looked in
    const error = (await byDefault!.embed(['a']).then(
      () => undefined,
      (e: unknown) => e,
    )) as AcxError;
    expect([error.code, error.message]).toEqual([
      'CONFIG',
      expect.stringContaining(resolve(FIXTURES, 'SZTAKI-HLT/hubert-base-cc')),
    ]);
  });

  it('local: without EMBEDDING_MODEL_DIR (and a relative id), or with an id leaving it → CONFIG', () => {
    expect(configError({ EMBEDDING_PROVIDER: 'local' }).message).toContain('EMBEDDING_MODEL_DIR');
    const escaping = configError({
      EMBEDDING_PROVIDER: 'local',
      EMBEDDING_MODEL_DIR: FIXTURES,
      HUBERT_MODEL: '../x',
    });
    expect(escaping.subject).toBe('HUBERT_MODEL');
  });

  it('http: the API follows the path, EMBEDDING_API overrides it, the model is HUBERT_MODEL (never the host, which may move)', () => {
    const openai = providerFromEnv({
      EMBEDDING_PROVIDER: 'http',
      EMBEDDING_URL: 'https://emb.example/v1/embeddings',
    });
    expect(openai).toBeInstanceOf(HttpEmbeddingProvider);
    expect([openai?.model, openai?.dimension]).toEqual(['http:SZTAKI-HLT/hubert-base-cc', 768]);
    const tei = providerFromEnv({ EMBEDDING_PROVIDER: 'http', EMBEDDING_URL: 'http://tei.local:8080/embed' });
    expect(tei?.model).toBe('http:SZTAKI-HLT/hubert-base-cc');
    const named = providerFromEnv({
      EMBEDDING_PROVIDER: 'http',
      EMBEDDING_URL: 'http://gateway/api/vectors',
      EMBEDDING_API: 'openai',
      HUBERT_MODEL: 'hubert-v2',
      EMBEDDING_DIMENSION: '1024',
      EMBEDDING_BATCH_SIZE: '8',
      EMBEDDING_TIMEOUT_MS: '5000',
      EMBEDDING_API_KEY: 'sk-secret-1234',
    });
    expect([named?.model, named?.dimension]).toEqual(['http:hubert-v2', 1024]);
    expect(JSON.stringify(named?.model)).not.toContain('sk-secret');
  });

  it.each([
    [{ EMBEDDING_PROVIDER: 'onnx' }, 'EMBEDDING_PROVIDER'],
    [{ EMBEDDING_PROVIDER: 'http' }, 'EMBEDDING_URL'],
    [{ EMBEDDING_PROVIDER: 'http', EMBEDDING_URL: 'not a url' }, 'EMBEDDING_URL'],
    [{ EMBEDDING_PROVIDER: 'http', EMBEDDING_URL: 'ftp://h/embed' }, 'EMBEDDING_URL'],
    [{ EMBEDDING_PROVIDER: 'http', EMBEDDING_URL: 'http://h/vectors' }, 'EMBEDDING_URL'],
    [
      { EMBEDDING_PROVIDER: 'http', EMBEDDING_URL: 'http://h/embed', EMBEDDING_API: 'cohere' },
      'EMBEDDING_API',
    ],
    [
      { EMBEDDING_PROVIDER: 'http', EMBEDDING_URL: 'http://h/embed', EMBEDDING_DIMENSION: '0' },
      'EMBEDDING_DIMENSION',
    ],
    [
      { EMBEDDING_PROVIDER: 'local', EMBEDDING_MODEL_DIR: '/m', EMBEDDING_DIMENSION: '76.8' },
      'EMBEDDING_DIMENSION',
    ],
    [
      { EMBEDDING_PROVIDER: 'http', EMBEDDING_URL: 'http://h/embed', EMBEDDING_TIMEOUT_MS: '-1' },
      'EMBEDDING_TIMEOUT_MS',
    ],
    [
      { EMBEDDING_PROVIDER: 'local', EMBEDDING_MODEL_DIR: '/m', EMBEDDING_BATCH_SIZE: 'many' },
      'EMBEDDING_BATCH_SIZE',
    ],
  ])('%o → CONFIG naming %s, with a hint', (env, variable) => {
    const error = configError(env);
    expect(error.subject).toBe(variable);
    expect(error.message).toContain(variable);
    expect(error.hint).toBeTruthy();
  });

  it('a URL with a password is refused without echoing it', () => {
    const error = configError({
      EMBEDDING_PROVIDER: 'http',
      EMBEDDING_URL: 'https://user:hunter2@h/v1/embeddings',
    });
    expect(error.subject).toBe('EMBEDDING_URL');
    expect(`${error.message} ${error.hint}`).not.toContain('hunter2');
  });

  it('the setup hint names both providers and their variables', () => {
    for (const name of [
      'EMBEDDING_PROVIDER=local',
      'EMBEDDING_MODEL_DIR',
      'EMBEDDING_PROVIDER=http',
      'EMBEDDING_URL',
    ]) {
      expect(EMBEDDING_SETUP_HINT).toContain(name);
    }
  });
});
