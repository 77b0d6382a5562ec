/**
 * Which embedding provider the environment configures, if any (README, "Embeddings"). Production's
 * names where they exist (`HUBERT_MODEL`, `EMBEDDING_DIMENSION`); the rest are ours:
 *
 *   EMBEDDING_PROVIDER    local | http; unset or empty: none configured
 *   HUBERT_MODEL          local: a model id under EMBEDDING_MODEL_DIR, or an absolute directory;
 *                         http: the `model` sent to OpenAI-style servers (default SZTAKI-HLT/hubert-base-cc)
 *   EMBEDDING_MODEL_DIR   local: where model ids are looked up (`<dir>/<id>/onnx/model.onnx` …)
 *   EMBEDDING_DIMENSION   components per vector (default 768)
 *   EMBEDDING_URL         http: the full endpoint, …/v1/embeddings (OpenAI-style) or …/embed (TEI)
 *   EMBEDDING_API         http: openai | tei, when the path does not tell
 *   EMBEDDING_API_KEY     http: sent as a Bearer token, never printed
 *   EMBEDDING_TIMEOUT_MS  http: one request's limit (default 60000)
 *   EMBEDDING_BATCH_SIZE  texts per forward pass or request (default 16 local, 32 http)
 *
 * A bad value is a CONFIG error naming the variable (never echoing a key), raised here, before any
 * model is loaded or server called.
 */
import { isAbsolute, join, normalize, resolve, basename } from 'node:path';
import { AcxError } from '../errors.ts';
import type { EmbeddingProvider } from './embedding-provider.ts';
import { EMBEDDING_APIS, HttpEmbeddingProvider, type EmbeddingApi } from './http-provider.ts';
import { LocalEmbeddingProvider } from './local-provider.ts';

type Env = Record<string, string | undefined>;

export const EMBEDDING_PROVIDERS = ['local', 'http'] as const;
export const DEFAULT_HUBERT_MODEL = 'SZTAKI-HLT/hubert-base-cc';
export const DEFAULT_EMBEDDING_DIMENSION = 768;

/** How to configure a provider: shown when a command needs vectors and none is configured. */
export const EMBEDDING_SETUP_HINT =
  'configure an embedding provider: either EMBEDDING_PROVIDER=local with EMBEDDING_MODEL_DIR (a directory ' +
  'holding huBERT exported to ONNX under <dir>/SZTAKI-HLT/hubert-base-cc/, or HUBERT_MODEL set to the ' +
  "export's absolute path), or EMBEDDING_PROVIDER=http with EMBEDDING_URL (an OpenAI-style …/v1/embeddings " +
  'or a text-embeddings-inference …/embed endpoint, EMBEDDING_API_KEY if it wants one); EMBEDDING_DIMENSION ' +
  '(default 768) must match the Qdrant collection. The README\'s "Embeddings" section shows how; ' +
  '`eval "$(npm run -s stack:env)"` configures the local stack\'s test model.';

function value(env: Env, name: string): string | undefined {
  const raw = env[name]?.trim();
  return raw === undefined || raw === '' ? undefined : raw;
}

function configError(name: string, problem: string, hint: string): AcxError {
  return new AcxError('CONFIG', `${name} ${problem}`, { subject: name, hint });
}

function positiveInteger(env: Env, name: string, fallback: number, max: number): number {
  const raw = value(env, name);
  if (raw === undefined) return fallback;
  const parsed = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(parsed) || parsed < 1 || parsed > max) {
    throw configError(
      name,
      `must be a whole number from 1 to ${max}`,
      `unset it for the default, ${fallback}`,
    );
  }
  return parsed;
}

/** The provider the environment configures; undefined when EMBEDDING_PROVIDER is unset or empty. */
export function providerFromEnv(env: Env = process.env): EmbeddingProvider | undefined {
  const kind = value(env, 'EMBEDDING_PROVIDER');
  if (kind === undefined) return undefined;
  if (kind === 'local') return localFromEnv(env);
  if (kind === 'http') return httpFromEnv(env);
  throw configError(
    'EMBEDDING_PROVIDER',
    `must be one of ${EMBEDDING_PROVIDERS.join(', ')}`,
    EMBEDDING_SETUP_HINT,
  );
}

function localFromEnv(env: Env): LocalEmbeddingProvider {
  const id = value(env, 'HUBERT_MODEL') ?? DEFAULT_HUBERT_MODEL;
  const dimension = positiveInteger(env, 'EMBEDDING_DIMENSION', DEFAULT_EMBEDDING_DIMENSION, 65_536);
  const batchSize = positiveInteger(env, 'EMBEDDING_BATCH_SIZE', 16, 1024);
  if (isAbsolute(id))
    return new LocalEmbeddingProvider({ directory: normalize(id), name: basename(id), dimension, batchSize });
  if (id.split(/[\\/]/).some((part) => part === '..' || part === '')) {
    throw configError(
      'HUBERT_MODEL',
      'must be a model id (like SZTAKI-HLT/hubert-base-cc) or an absolute directory',
      'a relative path is looked up under EMBEDDING_MODEL_DIR and may not leave it',
    );
  }
  const root = value(env, 'EMBEDDING_MODEL_DIR');
  if (root === undefined) {
    throw configError(
      'EMBEDDING_MODEL_DIR',
      `must be set for EMBEDDING_PROVIDER=local (the directory holding ${id}/)`,
      'or set HUBERT_MODEL to the absolute path of the exported model; README, "Embeddings"',
    );
  }
  return new LocalEmbeddingProvider({ directory: join(resolve(root), id), name: id, dimension, batchSize });
}

function httpFromEnv(env: Env): HttpEmbeddingProvider {
  const url = endpointUrl(env);
  const api = apiOf(env, url);
  const dimension = positiveInteger(env, 'EMBEDDING_DIMENSION', DEFAULT_EMBEDDING_DIMENSION, 65_536);
  const batchSize = positiveInteger(env, 'EMBEDDING_BATCH_SIZE', 32, 4096);
  const timeoutMs = positiveInteger(env, 'EMBEDDING_TIMEOUT_MS', 60_000, 3_600_000);
  // The model's name is also its identity in every point written (`_embedding_model_version`): never the
  // server's address, which changes when the server moves while the vectors stay valid.
  const modelName = value(env, 'HUBERT_MODEL') ?? DEFAULT_HUBERT_MODEL;
  const apiKey = value(env, 'EMBEDDING_API_KEY');
  return new HttpEmbeddingProvider({
    url: url.href,
    api,
    modelName,
    apiKey,
    dimension,
    batchSize,
    timeoutMs,
  });
}

function endpointUrl(env: Env): URL {
  const raw = value(env, 'EMBEDDING_URL');
  const example = 'e.g. http://localhost:8080/embed (TEI) or https://host/v1/embeddings (OpenAI-style)';
  if (raw === undefined)
    throw configError('EMBEDDING_URL', 'must be set for EMBEDDING_PROVIDER=http', example);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw configError('EMBEDDING_URL', 'is not a URL', example);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw configError('EMBEDDING_URL', 'must be an http:// or https:// URL', example);
  }
  if (url.username !== '' || url.password !== '') {
    throw configError(
      'EMBEDDING_URL',
      'must not hold a user or password',
      'put the key in EMBEDDING_API_KEY',
    );
  }
  return url;
}

function apiOf(env: Env, url: URL): EmbeddingApi {
  const chosen = value(env, 'EMBEDDING_API');
  if (chosen !== undefined) {
    if ((EMBEDDING_APIS as readonly string[]).includes(chosen)) return chosen as EmbeddingApi;
    throw configError(
      'EMBEDDING_API',
      `must be one of ${EMBEDDING_APIS.join(', ')}`,
      'or unset it: the path decides',
    );
  }
  const path = url.pathname.replace(/\/+$/, '');
  if (path.endsWith('/embeddings')) return 'openai';
  if (path.endsWith('/embed')) return 'tei';
  throw configError(
    'EMBEDDING_URL',
    'does not end in /v1/embeddings or /embed, so the API is unknown',
    'give the full endpoint URL, or set EMBEDDING_API=openai or EMBEDDING_API=tei',
  );
}
