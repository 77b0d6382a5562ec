/**
 * Azure lists blob names in UTF-16 code-unit order (documented as "alphabetical"; measured on the real
 * service by blobfile/blobfile#238, and Azurite 3.37 does the same), while every Storage lists in UTF-8
 * byte order (`compareKeys`). The two orders differ in one way only: at the first code unit where two
 * names differ, a surrogate (D800–DFFF, a character above U+FFFF) sorts before E000–FFFF in UTF-16 and
 * after it in UTF-8. Everything else is the same order.
 *
 * `inByteOrder` repairs that with bounded memory, without buffering a listing. Walking the service's
 * listing, the first name N with a surrogate at index i (Q = N[0, i)) opens a "deferred block": every
 * name starting with Q followed by a surrogate is skipped (they come contiguously, before Q's E000–FFFF
 * names, which are yielded as they come). Once the listing leaves the names starting with Q, the
 * skipped block is yielded from a second listing of prefix Q, read past its names below D800 up to its
 * surrogate block, and repaired the same way inside. Deferred blocks nest (a stack of prefixes), so
 * memory is one listing page per open block, whatever the number of names; the price is listing the
 * part of prefix Q before its surrogate block a second time. Names without characters above U+FFFF
 * (every repository key acx-data writes) never open a block and cost nothing.
 */

const isSurrogate = (unit: number) => unit >= 0xd800 && unit <= 0xdfff;

/** The first index ≥ `from` holding a surrogate, or -1. */
function firstSurrogate(name: string, from: number): number {
  for (let i = from; i < name.length; i++) if (isSurrogate(name.charCodeAt(i))) return i;
  return -1;
}

/** Whether `name` is in the block of names that continue `prefix` with a surrogate. */
function inSurrogateBlock(name: string, prefix: string): boolean {
  return (
    name.length > prefix.length && name.startsWith(prefix) && isSurrogate(name.charCodeAt(prefix.length))
  );
}

/** A listing in the service's (UTF-16) order of every name starting with `prefix`. */
export type NameLister<T> = (prefix: string) => AsyncIterable<T>;

/**
 * `items` (the service's listing, UTF-16 order, names from `nameOf`) in UTF-8 byte order. `list`
 * lists again under a prefix, the same way `items` was listed. `from`: the index from which names may
 * differ (names before it are known equal, e.g. the listing's prefix); a surrogate before it is common.
 */
export async function* inByteOrder<T>(
  items: AsyncIterable<T>,
  nameOf: (item: T) => string,
  list: NameLister<T>,
  from = 0,
): AsyncGenerator<T> {
  const deferred: string[] = [];
  for await (const item of items) {
    const name = nameOf(item);
    while (deferred.length > 0 && !name.startsWith(deferred.at(-1)!))
      yield* surrogateBlock(deferred.pop()!, nameOf, list);
    const top = deferred.at(-1);
    if (top !== undefined && inSurrogateBlock(name, top)) continue;
    const at = firstSurrogate(name, top === undefined ? from : top.length + 1);
    if (at === -1) {
      yield item;
      continue;
    }
    deferred.push(name.slice(0, at)); // this name is the first of its block: listed again later
  }
  while (deferred.length > 0) yield* surrogateBlock(deferred.pop()!, nameOf, list);
}

/** The names under `prefix` followed by a surrogate, from a new listing, repaired inside. */
async function* surrogateBlock<T>(
  prefix: string,
  nameOf: (item: T) => string,
  list: NameLister<T>,
): AsyncGenerator<T> {
  async function* block(): AsyncGenerator<T> {
    for await (const item of list(prefix)) {
      const name = nameOf(item);
      if (inSurrogateBlock(name, prefix)) yield item;
      else if (name.length > prefix.length && name.charCodeAt(prefix.length) > 0xdfff) return;
    }
  }
  // Inside the block the surrogate pair at `prefix.length` is a plain character: differences start after.
  yield* inByteOrder(block(), nameOf, list, prefix.length + 2);
}
