/**
 * The element ids of the nodes a backup wrote, so that its relationships file holds only relationships
 * between them (design §7.8): Neo4j Community reads with read-committed isolation, so a node created
 * after the node scan passed its place, with a relationship, would otherwise leave that relationship
 * pointing at a node the snapshot does not hold, and the snapshot could not be restored.
 *
 * Neo4j 5's element ids are `<kind>:<database id>:<record id>`; record ids are small and dense, so they
 * are kept as a bitmap (1 bit per record id: 1 MiB for 8 million nodes). Ids of any other shape are kept
 * as strings.
 */
export class NodeIdSet {
  private prefix: string | undefined;
  private bits = new Uint8Array(1024);
  private readonly others = new Set<string>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(elementId: string): void {
    const record = this.recordOf(elementId, true);
    if (record === undefined) {
      if (!this.others.has(elementId)) this.count++;
      this.others.add(elementId);
      return;
    }
    if (record >= this.bits.length * 8) {
      const grown = new Uint8Array(Math.max(this.bits.length * 2, (record >> 3) + 1));
      grown.set(this.bits);
      this.bits = grown;
    }
    const mask = 1 << (record & 7);
    if ((this.bits[record >> 3]! & mask) === 0) this.count++;
    this.bits[record >> 3]! |= mask;
  }

  has(elementId: string): boolean {
    const record = this.recordOf(elementId, false);
    if (record === undefined) return this.others.has(elementId);
    return record < this.bits.length * 8 && (this.bits[record >> 3]! & (1 << (record & 7))) !== 0;
  }

  /** The record id, when the id has the usual shape and this set's database prefix. */
  private recordOf(elementId: string, adopt: boolean): number | undefined {
    const colon = elementId.lastIndexOf(':');
    const digits = elementId.length - colon - 1;
    if (colon < 0 || digits < 1 || digits > 9) return undefined;
    let record = 0;
    for (let i = colon + 1; i < elementId.length; i++) {
      const digit = elementId.charCodeAt(i) - 48;
      if (digit < 0 || digit > 9) return undefined;
      record = record * 10 + digit;
    }
    if (this.prefix === undefined) {
      if (!adopt) return undefined;
      this.prefix = elementId.slice(0, colon);
    }
    return colon === this.prefix.length && elementId.startsWith(this.prefix) ? record : undefined;
  }
}
