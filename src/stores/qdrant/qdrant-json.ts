/** Qdrant's REST API speaks JSON with u64 point ids: parsed and written exactly (see model/exact-json.ts). */
export {
  parseExactJson as parseQdrantJson,
  stringifyExactJson as stringifyQdrantJson,
} from '../../model/exact-json.ts';
