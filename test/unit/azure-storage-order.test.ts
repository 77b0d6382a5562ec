import { describe, expect, it } from 'vitest';
import { inByteOrder } from '../../src/storage/azure/azure-storage-order.ts';
import { compareKeys } from '../../src/storage/storage-keys.ts';

/** A listing as Azure answers it: UTF-16 code-unit order (JavaScript's default sort). */
function serviceListing(names: string[]) {
  const sorted = [...names].sort();
  let listings = 0;
  const list = (prefix: string) => {
    listings++;
    return (async function* () {
      for (const name of sorted) if (name.startsWith(prefix)) yield name;
    })();
  };
  return { list, listings: () => listings };
}

async function reordered(names: string[], prefix = ''): Promise<{ order: string[]; listings: number }> {
  const service = serviceListing(names);
  const order: string[] = [];
  for await (const name of inByteOrder(service.list(prefix), (n) => n, service.list, prefix.length))
    order.push(name);
  return { order, listings: service.listings() };
}

const ALPHABET = ['a', 'b', '/', 'é', '\uE000', 'ﬀ', '\uFFFF', '😀', '𝄞', '\u{10FFFF}'];

function randomNames(count: number, seed: number): string[] {
  let state = seed;
  const next = () => ((state = (state * 1_103_515_245 + 12_345) % 2 ** 31), state);
  const names = new Set<string>();
  while (names.size < count) {
    let name = '';
    for (let n = 1 + (next() % 6); n > 0; n--) name += ALPHABET[next() % ALPHABET.length];
    names.add(name);
  }
  return [...names];
}

describe('Azure listing order repaired to UTF-8 byte order', () => {
  it('differs from the service order exactly where surrogates meet U+E000–U+FFFF, and is repaired', async () => {
    const names = ['z', 'é', 'ﬀ', '😀', 'a/😀', 'a/ﬀ', 'a/b'];
    expect([...names].sort()).not.toEqual([...names].sort(compareKeys));
    expect((await reordered(names)).order).toEqual([...names].sort(compareKeys));
  });

  it('yields byte order for random names with nested blocks, each name once', async () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const names = randomNames(400, seed);
      expect((await reordered(names)).order).toEqual([...names].sort(compareKeys));
      const under = names.filter((name) => name.startsWith('a'));
      expect((await reordered(names, 'a')).order).toEqual(under.sort(compareKeys));
    }
  });

  it('lists once when no name holds a character above U+FFFF', async () => {
    const names = ['a', 'b/c', 'ﬀ', '\uFFFF', 'é'];
    expect(await reordered(names)).toEqual({ order: [...names].sort(compareKeys), listings: 1 });
  });
});
