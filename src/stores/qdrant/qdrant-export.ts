/**
 * Qdrant as export collections: configuration plus every point (id, vectors, payload), scrolled in id
 * order. With a DTC selection, `type: "dtc"` points outside it are left out; other points are kept.
 */
import type { VectorCollection, VectorPoint } from '../../model/dataset.ts';
import type { QdrantClient } from './qdrant-client.ts';

export interface QdrantExportOptions {
  /** Selected DTC codes (undefined: every point). */
  codes?: string[];
  withVectors: boolean;
}

export async function qdrantExportCollections(
  client: QdrantClient,
  options: QdrantExportOptions,
): Promise<VectorCollection[]> {
  const selected = options.codes ? new Set(options.codes) : undefined;
  const keep = (payload: Record<string, unknown> | null | undefined): boolean =>
    !selected || payload?.type !== 'dtc' || selected.has(String(payload.code));
  const collections: VectorCollection[] = [];
  for (const name of (await client.listCollections()).sort()) {
    const info = await client.getCollection(name);
    collections.push({
      name,
      config: (info.config ?? {}) as Record<string, unknown>,
      payloadSchema: (info.payload_schema ?? {}) as Record<string, unknown>,
      async *points(): AsyncGenerator<VectorPoint> {
        for await (const page of client.scrollAll(name, { withVector: options.withVectors })) {
          for (const p of page) {
            if (!keep(p.payload)) continue;
            yield {
              id: p.id,
              vector: options.withVectors ? p.vector : undefined,
              payload: p.payload ?? null,
            };
          }
        }
      },
    });
  }
  return collections;
}
