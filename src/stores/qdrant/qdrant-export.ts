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
        // Typed vectors: read from the answer's bytes as Float64Arrays (qdrant-scroll-page.ts). The
        // general reading goes through parseExactJson, which copies a page holding 63-bit ids three
        // times and boxes every float (issue #15: export --qdrant at 381 MiB peak RSS).
        const pages = client.scrollAll(name, {
          withVector: options.withVectors,
          typedVectors: options.withVectors,
        });
        for await (const page of pages) {
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
