/**
 * The local provider: a BERT-family model in ONNX form run in-process (`@huggingface/transformers` on
 * onnxruntime-node), read from a local directory only — never the network, never a cache outside it.
 *
 * Production's recipe (huBERT, `SZTAKI-HLT/hubert-base-cc`): at most 512 tokens (`[CLS]` + the first
 * 510 word pieces + `[SEP]`, as the Python tokenizer truncates), the last hidden state mean-pooled over
 * the attention mask, L2-normalised. The directory has transformers.js's layout: `config.json`,
 * `tokenizer.json`, `tokenizer_config.json`, `onnx/model.onnx`.
 */
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { PreTrainedModel, PreTrainedTokenizer, Tensor } from '@huggingface/transformers';
import { AcxError } from '../errors.ts';
import { throwIfAborted } from '../model/abort.ts';
import type { EmbeddingProvider } from './embedding-provider.ts';
import { batchesOf, checkDimension, l2Normalise } from './embedding-vectors.ts';

export interface LocalProviderOptions {
  /** Absolute path of the model directory (transformers.js layout). */
  directory: string;
  /** The model's name in `model` (`local:<name>`): the HUBERT_MODEL id or the directory's basename. */
  name: string;
  /** EMBEDDING_DIMENSION: every vector must have this many components. */
  dimension: number;
  /** Texts per forward pass (default 16). */
  batchSize?: number;
  /** Token limit including `[CLS]` and `[SEP]` (default 512, BERT's position table). */
  maxTokens?: number;
}

/** The files the directory must hold, relative to it. */
export const LOCAL_MODEL_FILES = [
  'config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'onnx/model.onnx',
];

const EXPORT_HINT =
  'export the model to ONNX (README, "Embeddings") and point EMBEDDING_MODEL_DIR and HUBERT_MODEL at it';

interface Loaded {
  tokenizer: PreTrainedTokenizer;
  model: PreTrainedModel;
}

export class LocalEmbeddingProvider implements EmbeddingProvider {
  readonly model: string;
  readonly dimension: number;
  private readonly batchSize: number;
  private readonly maxTokens: number;
  private loading: Promise<Loaded> | undefined;
  private closed = false;

  private readonly options: LocalProviderOptions;

  /** Cheap: checks nothing and loads nothing; the first `embed` loads the model. */
  constructor(options: LocalProviderOptions) {
    this.options = options;

    this.model = `local:${options.name}`;
    this.dimension = options.dimension;
    this.batchSize = options.batchSize ?? 16;
    this.maxTokens = options.maxTokens ?? 512;
  }

  async embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]> {
    if (this.closed) throw new AcxError('INTERNAL', `the embedding provider ${this.model} is closed`);
    if (texts.length === 0) return [];
    throwIfAborted(signal, 'embedding', this.model);
    const loaded = await this.load();
    const vectors: Float32Array[] = [];
    for (const batch of batchesOf(texts, this.batchSize)) {
      throwIfAborted(signal, 'embedding', this.model);
      vectors.push(...(await this.embedBatch(loaded, batch)));
    }
    return vectors;
  }

  async close(): Promise<void> {
    this.closed = true;
    const loading = this.loading;
    this.loading = undefined;
    if (loading) await loading.then((l) => l.model.dispose()).catch(() => undefined);
  }

  private load(): Promise<Loaded> {
    this.loading ??= loadModel(this.options.directory, this.model).catch((error: unknown) => {
      this.loading = undefined; // a fixed directory can be tried again
      throw error;
    });
    return this.loading;
  }

  private async embedBatch(loaded: Loaded, batch: string[]): Promise<Float32Array[]> {
    const inputs = loaded.tokenizer(batch, { padding: true, truncation: true, max_length: this.maxTokens });
    const ids = inputs.input_ids as Tensor;
    if (ids.dims[1] === this.maxTokens)
      keepFinalSeparator(ids, inputs.attention_mask as Tensor, loaded.tokenizer.sep_token_id);
    let output: Record<string, Tensor>;
    try {
      output = (await loaded.model(inputs)) as Record<string, Tensor>;
    } catch (error) {
      throw new AcxError(
        'STORE',
        `the embedding model ${this.model} failed on a batch of ${batch.length} texts`,
        {
          subject: this.model,
          hint: 'check that the model is a BERT-family feature-extraction export',
          cause: error,
        },
      );
    }
    const hidden = output.last_hidden_state;
    if (!hidden) throw outputError(this.model);
    return meanPool(hidden, inputs.attention_mask as Tensor).map((pooled) => {
      checkDimension(pooled, this.dimension, this.model);
      return l2Normalise(pooled, this.model);
    });
  }
}

/** CONFIG naming the directory (or the first file it lacks) before any loading. */
function requireModelFiles(directory: string, model: string): void {
  if (!existsSync(directory)) {
    throw new AcxError('CONFIG', `the embedding model directory ${directory} does not exist`, {
      subject: model,
      hint: EXPORT_HINT,
    });
  }
  const missing = LOCAL_MODEL_FILES.find((file) => !existsSync(join(directory, file)));
  if (missing !== undefined) {
    throw new AcxError('CONFIG', `the embedding model directory ${directory} lacks ${missing}`, {
      subject: model,
      hint: EXPORT_HINT,
    });
  }
}

async function loadModel(directory: string, model: string): Promise<Loaded> {
  requireModelFiles(directory, model);
  const transformers = await importTransformers(model);
  const { env } = transformers;
  // Local files only: no hub, no cache written anywhere (the model is read where it lies).
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.useFSCache = false;
  env.useBrowserCache = false;
  env.useWasmCache = false;
  env.logLevel = transformers.LogLevel.ERROR;
  env.localModelPath = dirname(directory) + '/';
  const id = basename(directory);
  try {
    const options = { local_files_only: true } as const;
    const tokenizer = await transformers.AutoTokenizer.from_pretrained(id, options);
    const loaded = await transformers.AutoModel.from_pretrained(id, {
      ...options,
      dtype: 'fp32',
      device: 'cpu',
    });
    return { tokenizer, model: loaded };
  } catch (error) {
    throw new AcxError('CONFIG', `the embedding model in ${directory} could not be loaded`, {
      subject: model,
      hint: `the directory must hold a BERT-family ONNX export (${LOCAL_MODEL_FILES.join(', ')}); ${EXPORT_HINT}`,
      cause: error,
    });
  }
}

/**
 * The library, loaded on first use. Node's build of transformers.js imports onnxruntime-node and sharp
 * (for images, unused here) at load time: both come prebuilt from the npm registry, for the platforms
 * they support.
 */
async function importTransformers(model: string): Promise<typeof import('@huggingface/transformers')> {
  try {
    return await import('@huggingface/transformers');
  } catch (error) {
    throw new AcxError('CONFIG', 'the local embedding provider could not load @huggingface/transformers', {
      subject: model,
      hint: 'run npm ci with optional dependencies (onnxruntime-node and sharp install prebuilt binaries for this platform), or use EMBEDDING_PROVIDER=http',
      cause: error,
    });
  }
}

/**
 * transformers.js truncates after adding the special tokens, which drops `[SEP]` from a text over the
 * limit; the Python tokenizer production uses keeps it (`[CLS]` + 510 pieces + `[SEP]`). A row that
 * fills the limit and does not end in `[SEP]` gets it back in its last position.
 */
function keepFinalSeparator(ids: Tensor, mask: Tensor, sepId: number): void {
  const [rows = 0, width = 0] = ids.dims;
  const data = ids.data as BigInt64Array;
  const maskData = mask.data as BigInt64Array;
  for (let row = 0; row < rows; row++) {
    const last = row * width + width - 1;
    if (maskData[last] === 1n && data[last] !== BigInt(sepId)) data[last] = BigInt(sepId);
  }
}

/** Mean of the hidden states over the tokens whose attention mask is 1, per row (float64 sums). */
function meanPool(hidden: Tensor, mask: Tensor): Float64Array[] {
  const [rows = 0, width = 0, size = 0] = hidden.dims;
  const data = hidden.data as Float32Array;
  const maskData = mask.data as BigInt64Array;
  const pooled: Float64Array[] = [];
  for (let row = 0; row < rows; row++) {
    const sum = new Float64Array(size);
    let count = 0;
    for (let token = 0; token < width; token++) {
      if (maskData[row * width + token] !== 1n) continue;
      count++;
      const offset = (row * width + token) * size;
      for (let i = 0; i < size; i++) sum[i] = (sum[i] ?? 0) + (data[offset + i] ?? 0);
    }
    pooled.push(sum.map((value) => value / Math.max(count, 1)));
  }
  return pooled;
}

function outputError(model: string): AcxError {
  return new AcxError('CONFIG', `the embedding model ${model} has no last_hidden_state output`, {
    subject: model,
    hint: 'export it for the feature-extraction task (README, "Embeddings")',
  });
}
