/**
 * The fingerprints a backup records in its manifest (design §7.3) against the stores' own (§5): the
 * property a restore drill rests on.
 */
import { diffFingerprints, type Fingerprint } from '../../src/model/content-hash.ts';

/** The datasets a backup records a fingerprint of: tables, nodes by label, relationships by type, points. */
const DATA_KEY = /^(postgres\/table\/|neo4j\/(nodes|relationships)\/|qdrant\/collections\/.+\/points$)/;

interface ManifestStores {
  stores: Record<string, { fingerprints?: Fingerprint } | undefined>;
}

/** Every store section's recorded fingerprints, as one fingerprint. */
export function recordedFingerprints(manifest: ManifestStores): Fingerprint {
  return Object.assign(
    {},
    ...Object.values(manifest.stores).map((s) => s?.fingerprints ?? {}),
  ) as Fingerprint;
}

const nonEmptyData = (fp: Fingerprint): Fingerprint =>
  Object.fromEntries(Object.entries(fp).filter(([key, v]) => DATA_KEY.test(key) && v.records > 0));

/**
 * The datasets whose recorded fingerprint differs from the stores' (`fp`), or that one side lacks;
 * empty datasets are left out on both sides (a label without nodes may or may not be listed).
 */
export function recordedDiff(manifest: ManifestStores, fp: Fingerprint): string[] {
  return diffFingerprints(nonEmptyData(recordedFingerprints(manifest)), nonEmptyData(fp));
}
