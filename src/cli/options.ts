/** Options several commands take, defined once so their names, help and checks agree. */
import { Option } from 'commander';
import { LABEL_SCHEMES } from '../model/labels.ts';

/** `--label-scheme production|legacy` (default production); commander refuses other values. */
export function labelSchemeOption(): Option {
  return new Option('--label-scheme <scheme>', 'Neo4j labels: production (DTC, …) or legacy (DTCNode, …)')
    .choices(LABEL_SCHEMES)
    .default('production');
}
