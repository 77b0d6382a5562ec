/**
 * The embedding-provider interface: turns DTC texts into vectors for the Qdrant collection (sync,
 * docs/design.md §10). Providers are siblings with this one shape (`local-provider.ts`: a BERT-family
 * ONNX model in-process; `http-provider.ts`: an embedding server). `providerFromEnv` in `from-env.ts`
 * picks one from the environment, or none.
 */

export interface EmbeddingProvider {
  /**
   * What produced the vectors, recorded with every point written (`_embedding_model_version`): the model
   * name and the provider kind, never a secret or a credential-bearing URL. Changing it re-embeds.
   */
  readonly model: string;
  /** Components per vector (`EMBEDDING_DIMENSION`, 768 for huBERT). Every vector returned has exactly this many. */
  readonly dimension: number;
  /**
   * One vector per text, in order, each L2-normalised float32 of `dimension` components; `[]` for no
   * texts. Batches internally as the provider needs; retries what is safe to retry (embedding is a pure
   * function of the text). Throws AcxError naming the provider (`subject` = `model`) with a hint:
   * CONFIG (a missing or unloadable model, a vector whose size is not `dimension`), CONNECTION (a server
   * unreachable, timed out, refusing the key, or still failing with 429/5xx after the retries), STORE (a
   * server refusing the request or answering nonsense, a model failing on a batch). Honours `signal`
   * between batches and during requests (INTERRUPTED).
   */
  embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]>;
  /** Releases the model or connections; idempotent. */
  close(): Promise<void>;
}
