/**
 * The local provider on the generated tiny BERT (test/fixtures/models/tiny-hubert, made by
 * scripts/models/make-tiny-bert.py): its vectors equal an independent numpy forward pass with mean
 * pooling and L2 normalisation, whatever the batching, with production's 512-token truncation.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalEmbeddingProvider } from '../../src/embeddings/local-provider.ts';
import { acxErrorOf } from '../support/acx-error.ts';

const MODEL_DIR = resolve('test/fixtures/models/tiny-hubert');

interface ExpectedCase {
  text: string;
  input_ids: number[];
  vector: number[];
}
const expected = JSON.parse(readFileSync(join(MODEL_DIR, 'expected.json'), 'utf8')) as {
  cases: ExpectedCase[];
};
const texts = expected.cases.map((c) => c.text);

function maxDifference(actual: Float32Array, wanted: readonly number[]): number {
  expect(actual.length).toBe(wanted.length);
  let max = 0;
  wanted.forEach((value, i) => (max = Math.max(max, Math.abs((actual[i] ?? NaN) - value))));
  return max;
}

function norm(vector: Float32Array): number {
  return Math.sqrt(vector.reduce((sum, x) => sum + x * x, 0));
}

const provider = new LocalEmbeddingProvider({ directory: MODEL_DIR, name: 'tiny-hubert', dimension: 768 });
let all: Float32Array[] = [];
beforeAll(async () => {
  all = await provider.embed(texts); // one batch: every text padded to the longest
}, 60_000);
afterAll(() => provider.close());

describe('local embedding provider (tiny-hubert)', () => {
  it('the fixture covers Hungarian accents, English, an empty string and a text over 512 tokens', () => {
    expect(texts).toContain('');
    expect(texts.some((t) => /[őű]/i.test(t))).toBe(true);
    expect(expected.cases.some((c) => c.input_ids.length === 512 && c.text.split(' ').length > 512)).toBe(
      true,
    );
  });

  it('returns the independently computed vector of every text (one batch)', () => {
    expect(all).toHaveLength(texts.length);
    expected.cases.forEach((c, i) => expect(maxDifference(all[i]!, c.vector)).toBeLessThan(1e-5));
  });

  it('gives the same vectors one text at a time and in batches of 4 as all at once', async () => {
    const small = new LocalEmbeddingProvider({
      directory: MODEL_DIR,
      name: 'tiny',
      dimension: 768,
      batchSize: 4,
    });
    try {
      const batched = await small.embed(texts);
      for (const [i, text] of texts.entries()) {
        const [single] = await small.embed([text]);
        expect(maxDifference(single!, Array.from(all[i]!))).toBeLessThan(1e-6);
        expect(maxDifference(batched[i]!, Array.from(all[i]!))).toBeLessThan(1e-6);
      }
    } finally {
      await small.close();
    }
  }, 60_000);

  it('truncates a text over 512 tokens to [CLS] + 510 pieces + [SEP] without an error', async () => {
    const long = expected.cases.find((c) => c.input_ids.length === 512)!;
    expect(long.input_ids.at(-1)).toBe(3); // [SEP] kept, as the Python tokenizer does
    const [vector] = await provider.embed([long.text + ' ' + long.text]);
    expect(maxDifference(vector!, long.vector)).toBeLessThan(1e-5);
  }, 60_000);

  it('returns unit vectors of 768 components, and nothing for no texts', async () => {
    for (const vector of all) {
      expect(vector).toBeInstanceOf(Float32Array);
      expect(vector.length).toBe(768);
      expect(Math.abs(norm(vector) - 1)).toBeLessThan(1e-6);
    }
    expect(await provider.embed([])).toEqual([]);
    expect(provider.model).toBe('local:tiny-hubert');
  }, 60_000);

  it('refuses a model whose dimension is not EMBEDDING_DIMENSION with CONFIG naming both', async () => {
    const wrong = new LocalEmbeddingProvider({ directory: MODEL_DIR, name: 'tiny-hubert', dimension: 384 });
    try {
      const error = await acxErrorOf(wrong.embed(['motor']));
      expect(error.code).toBe('CONFIG');
      expect(error.message).toContain('local:tiny-hubert');
      expect(error.message).toContain('768');
      expect(error.message).toContain('EMBEDDING_DIMENSION is 384');
    } finally {
      await wrong.close();
    }
  }, 60_000);

  it('a missing directory or file is CONFIG naming it, raised by embed (constructing is cheap)', async () => {
    const missing = join(tmpdir(), 'acx-no-such-model-dir');
    const absent = new LocalEmbeddingProvider({ directory: missing, name: 'x', dimension: 768 });
    const error = await acxErrorOf(absent.embed(['motor']));
    expect(error.code).toBe('CONFIG');
    expect(error.message).toContain(missing);
    expect(error.hint).toContain('EMBEDDING_MODEL_DIR');

    const partial = mkdtempSync(join(tmpdir(), 'acx-model-'));
    try {
      cpSync(MODEL_DIR, partial, { recursive: true });
      rmSync(join(partial, 'onnx', 'model.onnx'));
      const lacking = await acxErrorOf(
        new LocalEmbeddingProvider({ directory: partial, name: 'p', dimension: 768 }).embed(['a']),
      );
      expect(lacking.code).toBe('CONFIG');
      expect(lacking.message).toContain('onnx/model.onnx');
    } finally {
      rmSync(partial, { recursive: true, force: true });
    }
  });

  it('an aborted signal ends with INTERRUPTED; a closed provider refuses', async () => {
    const error = await acxErrorOf(provider.embed(['motor'], AbortSignal.abort()));
    expect(error.code).toBe('INTERRUPTED');
    const closing = new LocalEmbeddingProvider({ directory: MODEL_DIR, name: 't', dimension: 768 });
    await closing.embed(['motor']);
    await closing.close();
    await closing.close();
    expect((await acxErrorOf(closing.embed(['motor']))).code).toBe('INTERNAL');
  }, 60_000);

  it('writes no cache next to the library', () => {
    expect(existsSync(resolve('node_modules/@huggingface/transformers/.cache'))).toBe(false);
  });
});
