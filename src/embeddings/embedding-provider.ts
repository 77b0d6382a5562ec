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
   * One vector per text, in order, each L2-normalised. Batches internally as the provider needs; retries
   * what is safe to retry; throws AcxError (CONNECTION, CONFIG, STORE-like failures as `EMBEDDING`-worded
   * STORE errors) naming the provider and giving a hint. Honours `signal` (INTERRUPTED).
   */
  embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]>;
  /** Releases the model or connections; idempotent. */
  close(): Promise<void>;
}
