/**
 * KeyIndex — a multimap from an id (nhid, ifindex) to the string keys of
 * the objects that carry it, for the engine nodes' indexes.
 *
 * Not a node: a data structure the fdb node builds its indexes with.
 *
 * Why not `Map<K, Set<string>>`: most ids hold a handful of keys (at bench
 * scale 10,000 nexthop groups of 10 MACs each), and a V8 Set costs about
 * 600 bytes even for a few elements — 6 MiB for one such index. A small bag
 * is an array (about 150 bytes for 10 keys); a bag that grows past
 * SMALL_BAG keys becomes a Set, so adding and removing stay O(1) for a
 * group that 10,000 MACs use. Iteration order is insertion order in both
 * forms, as with a Set.
 */

/** Largest bag kept as an array; scans of up to this many keys are cheaper than a Set's memory. */
const SMALL_BAG = 32;

export class KeyIndex<K> {
  private readonly bags = new Map<K, string[] | Set<string>>();

  /** Number of ids with at least one key. */
  get size(): number {
    return this.bags.size;
  }

  has(id: K): boolean {
    return this.bags.has(id);
  }

  /** The keys carrying `id` (live: copy before changing the index while iterating). */
  get(id: K): Iterable<string> | undefined {
    return this.bags.get(id);
  }

  /** How many keys carry `id`. */
  count(id: K): number {
    const bag = this.bags.get(id);
    return bag === undefined ? 0 : Array.isArray(bag) ? bag.length : bag.size;
  }

  ids(): IterableIterator<K> {
    return this.bags.keys();
  }

  add(id: K, key: string): void {
    const bag = this.bags.get(id);
    if (bag === undefined) {
      this.bags.set(id, [key]);
    } else if (!Array.isArray(bag)) {
      bag.add(key);
    } else if (!bag.includes(key)) {
      if (bag.length < SMALL_BAG) bag.push(key);
      else this.bags.set(id, new Set(bag).add(key));
    }
  }

  delete(id: K, key: string): void {
    const bag = this.bags.get(id);
    if (bag === undefined) return;
    if (Array.isArray(bag)) {
      const i = bag.indexOf(key);
      if (i >= 0) bag.splice(i, 1);
      if (bag.length === 0) this.bags.delete(id);
    } else {
      bag.delete(key);
      if (bag.size === 0) this.bags.delete(id);
    }
  }

  clear(): void {
    this.bags.clear();
  }
}
