/**
 * What every provider does to the vectors it returns, whoever computed them: check the dimension
 * against EMBEDDING_DIMENSION (the Qdrant collection's size) and L2-normalise (cosine distance, and a
 * norm `--verify` can check).
 */
import { AcxError } from '../errors.ts';

/**
 * Throws CONFIG when `vector` does not have `dimension` components: the model and EMBEDDING_DIMENSION
 * disagree, and every point written would be refused by (or silently wrong in) the collection.
 */
export function checkDimension(vector: ArrayLike<number>, dimension: number, model: string): void {
  if (vector.length === dimension) return;
  throw new AcxError(
    'CONFIG',
    `the embedding model ${model} returns ${vector.length}-component vectors but EMBEDDING_DIMENSION is ${dimension}`,
    {
      subject: model,
      hint: `set EMBEDDING_DIMENSION=${vector.length} (and a collection of that size), or configure a model with ${dimension} dimensions`,
    },
  );
}

/**
 * The vector scaled to unit length, as float32. Sums in float64. A zero vector (or one holding a
 * non-finite component) cannot be normalised: STORE error naming the model, so that no point is
 * written without a usable vector.
 */
export function l2Normalise(vector: ArrayLike<number>, model: string): Float32Array {
  let sum = 0;
  for (let i = 0; i < vector.length; i++) sum += (vector[i] ?? 0) * (vector[i] ?? 0);
  const norm = Math.sqrt(sum);
  if (!Number.isFinite(norm) || norm === 0) {
    throw new AcxError('STORE', `the embedding model ${model} returned a vector of norm ${norm}`, {
      subject: model,
      hint: 'check the model (or the embedding server): a usable vector has a finite, non-zero norm',
    });
  }
  const out = new Float32Array(vector.length);
  for (let i = 0; i < vector.length; i++) out[i] = (vector[i] ?? 0) / norm;
  return out;
}

/** `texts` in consecutive slices of at most `size` (the last one may be shorter). */
export function batchesOf<T>(items: readonly T[], size: number): T[][] {
  const batches: T[][] = [];
  for (let start = 0; start < items.length; start += size) batches.push(items.slice(start, start + size));
  return batches;
}
