/**
 * Hash-slot layouts for dp_hash select groups.
 *
 * Open vSwitch sends a dp_hash packet to `table[dp_hash & (n - 1)]`, a table
 * of n slots (a power of two, at least 16, at most 256) that it fills from
 * the buckets' weights with Webster's method, in bucket order. It rebuilds
 * the whole table on any change to the buckets, so a fifth VTEP joining
 * four moves ~75 % of flows where 20 % would do (BENCHMARKS.md, B8).
 *
 * Given n buckets of equal weight, n a power of two in that range, the
 * table is simply slot i → bucket i. So the agent writes one bucket per
 * slot and decides itself which VTEP each slot goes to: each VTEP gets a
 * number of slots in proportion to its weight, and a change re-deals only
 * the slots whose VTEP must change (the least any layout with those slot
 * counts can move).
 *
 * Everything here is pure and deterministic; ofDesired keeps the layout a
 * group had and asks for the next one.
 */
import type { OfGroup } from './model.js';

export const MIN_SLOTS = 16;
/** Open vSwitch's limit for a dp_hash table (MAX_SELECT_GROUP_HASH_VALUES). */
export const MAX_SLOTS = 256;
/**
 * The largest difference between a VTEP's share of slots and its share of
 * weight: 1.5 percentage points, the bound the project holds dp_hash to
 * (lab test, B7). Finer costs more than buckets: the datapath caches a
 * flow per slot in use, so a table twice the size can mean twice the
 * megaflows per group.
 */
export const SHARE_TOLERANCE = 0.015;

export interface SlotMember {
  vtep: string;
  weight: number;
}

/**
 * Slots per VTEP for `slots` slots: largest remainder (Hamilton). Ties on
 * the remainder go first to a VTEP already holding the extra slot (so it
 * does not move, and a layout that fits stays as it is), then to the one
 * listed first. Every VTEP gets at least one slot when there are enough.
 * Weights of a VTEP listed twice add up.
 */
export function slotQuotas(members: readonly SlotMember[], slots: number, holding: ReadonlyMap<string, number> = new Map()): Map<string, number> {
  const weights = mergedWeights(members);
  const total = [...weights.values()].reduce((a, b) => a + b, 0);
  const quotas = new Map<string, number>();
  if (total <= 0) return quotas;
  const order = [...weights.keys()];
  let left = slots;
  const remainders: Array<{ vtep: string; rest: number; holdsExtra: number; index: number }> = [];
  order.forEach((vtep, index) => {
    // Integers throughout (slots × weight < 2^53), so equal remainders tie exactly.
    const share = slots * weights.get(vtep)!;
    const whole = Math.floor(share / total);
    quotas.set(vtep, whole);
    left -= whole;
    remainders.push({ vtep, rest: share - whole * total, holdsExtra: (holding.get(vtep) ?? 0) > whole ? 1 : 0, index });
  });
  remainders.sort((a, b) => b.rest - a.rest || b.holdsExtra - a.holdsExtra || a.index - b.index);
  for (let i = 0; i < left; i++) {
    const r = remainders[i]!;
    quotas.set(r.vtep, quotas.get(r.vtep)! + 1);
  }
  // A VTEP rounded down to nothing (weights 256:256:1 in 256 slots) would get
  // no traffic at all: it takes a slot from the VTEP most above its share.
  if (order.length <= slots) {
    for (const vtep of order) {
      if (quotas.get(vtep)! > 0) continue;
      let donor = order[0]!;
      let most = -Infinity;
      for (const v of order) {
        const above = quotas.get(v)! * total - slots * weights.get(v)!;
        if (quotas.get(v)! > 1 && above > most) [donor, most] = [v, above];
      }
      quotas.set(donor, quotas.get(donor)! - 1);
      quotas.set(vtep, 1);
    }
  }
  return quotas;
}

/**
 * The fewest slots (a power of two from MIN_SLOTS to MAX_SLOTS) that give
 * every VTEP at least one slot and a share within SHARE_TOLERANCE of its
 * weight; MAX_SLOTS when none does; undefined when there are more VTEPs
 * than MAX_SLOTS (no layout can hold them).
 */
export function slotCountFor(members: readonly SlotMember[]): number | undefined {
  const weights = mergedWeights(members);
  if (weights.size === 0 || weights.size > MAX_SLOTS) return undefined;
  const total = [...weights.values()].reduce((a, b) => a + b, 0);
  for (let slots = MIN_SLOTS; slots < MAX_SLOTS; slots *= 2) {
    const quotas = slotQuotas(members, slots);
    const fits = [...weights].every(([vtep, w]) => {
      const q = quotas.get(vtep) ?? 0;
      return q >= 1 && Math.abs(q / slots - w / total) <= SHARE_TOLERANCE;
    });
    if (fits) return slots;
  }
  return MAX_SLOTS;
}

/** A table size the layout can keep: a power of two within range. */
export function isSlotCount(n: number): boolean {
  return n >= MIN_SLOTS && n <= MAX_SLOTS && (n & (n - 1)) === 0;
}

/**
 * The next layout (slot → VTEP) for these members, moving as few slots of
 * `previous` as possible. The table never shrinks while the group lives: a
 * smaller one would re-map the flows of the slots it drops. It grows by
 * repeating the previous table (slot s of 2n serves the hashes that slot
 * s mod n served), which moves nothing by itself. Slots of VTEPs that left,
 * and each VTEP's slots beyond its quota (the highest ones), go to the
 * VTEPs below quota, in member order. Undefined when one bucket per VTEP
 * is the layout to write: for a single VTEP (nothing to deal), or for more
 * than MAX_SLOTS of them (no table can hold them).
 */
export function layoutSlots(members: readonly SlotMember[], previous?: readonly string[]): string[] | undefined {
  const needed = slotCountFor(members);
  if (needed === undefined || new Set(members.map((m) => m.vtep)).size < 2) return undefined;
  const prev = previous !== undefined && isSlotCount(previous.length) ? previous : [];
  const size = Math.max(needed, prev.length);
  const table: Array<string | undefined> = prev.length === 0 ? new Array<string | undefined>(size).fill(undefined) : Array.from({ length: size }, (_, s) => prev[s % prev.length]);
  const holding = new Map<string, number>();
  for (const vtep of table) if (vtep !== undefined) holding.set(vtep, (holding.get(vtep) ?? 0) + 1);
  const quotas = slotQuotas(members, size, holding);
  const kept = new Map<string, number>();
  const free: number[] = [];
  table.forEach((vtep, slot) => {
    const n = vtep === undefined ? 0 : (kept.get(vtep) ?? 0);
    if (vtep !== undefined && n < (quotas.get(vtep) ?? 0)) kept.set(vtep, n + 1);
    else free.push(slot);
  });
  let next = 0;
  for (const [vtep, quota] of quotas) {
    for (let n = kept.get(vtep) ?? 0; n < quota; n++) table[free[next++]!] = vtep;
  }
  return table as string[];
}

/**
 * The table Open vSwitch builds for dp_hash buckets of these weights, in
 * bucket order (slot → bucket index), or undefined when it would not use
 * dp_hash at all (no weight, or more than MAX_SLOTS slots needed; it then
 * falls back to its default hashing). Used to read the layout of a group
 * the agent did not lay out itself (one bucket per VTEP with its weight),
 * so taking it over moves as few flows as possible, and by `inspect ovs` to
 * show each VTEP's real share.
 */
export function ovsDpHashTable(weights: readonly number[]): number[] | undefined {
  const positive = weights.filter((w) => w > 0);
  if (positive.length === 0) return undefined;
  const total = positive.reduce((a, b) => a + b, 0);
  const minimum = Math.min(...positive);
  let size = MIN_SLOTS;
  while (size < Math.ceil(total / minimum)) size *= 2;
  if (size > MAX_SLOTS) return undefined;
  // Equal weights (every table the agent lays out): Webster deals round-robin,
  // earliest first, so slot s → bucket s mod n without the O(n × size) loop.
  if (positive.length === weights.length && positive.every((w) => w === minimum)) {
    return Array.from({ length: size }, (_, s) => s % weights.length);
  }
  const divisors = weights.map(() => 1);
  const values = [...weights];
  const table: number[] = [];
  for (let slot = 0; slot < size; slot++) {
    let winner = 0;
    for (let i = 1; i < values.length; i++) if (values[i]! > values[winner]!) winner = i;
    table.push(winner);
    divisors[winner]! += 2;
    values[winner] = weights[winner]! / divisors[winner]!;
  }
  return table;
}

/**
 * The slot tables of installed dp_hash groups (group id → slot → VTEP), as
 * Open vSwitch maps hashes to their buckets: the starting point of the next
 * layout after a restart, whatever wrote the group.
 */
export function installedSlotTables(groups: Iterable<OfGroup>): Map<number, readonly string[]> {
  const tables = new Map<number, readonly string[]>();
  for (const g of groups) {
    const table = slotTableOf(g);
    if (table) tables.set(g.groupId, table);
  }
  return tables;
}

/** Slot → VTEP of one dp_hash group as Open vSwitch deals it; undefined for other groups. */
export function slotTableOf(g: OfGroup): string[] | undefined {
  if (g.type !== 'select' || g.foreign !== undefined || g.selectionMethod !== 'dp_hash' || g.buckets.some((b) => b.tunDst === undefined)) return undefined;
  return ovsDpHashTable(g.buckets.map((b) => b.weight))?.map((i) => g.buckets[i]!.tunDst!);
}

/**
 * The share of hash slots (so of flows) two tables send to different VTEPs,
 * comparing slot s of the larger with slot s mod n of the smaller (what a
 * hash that reached it before reaches now).
 */
export function redealtShare(before: readonly string[], after: readonly string[]): number {
  const size = Math.max(before.length, after.length);
  let moved = 0;
  for (let s = 0; s < size; s++) if (before[s % before.length] !== after[s % after.length]) moved++;
  return moved / size;
}

/** Slots per VTEP of a layout, in first-seen order. */
export function slotCounts(table: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const vtep of table) counts.set(vtep, (counts.get(vtep) ?? 0) + 1);
  return counts;
}

function mergedWeights(members: readonly SlotMember[]): Map<string, number> {
  const weights = new Map<string, number>();
  for (const m of members) if (m.weight > 0) weights.set(m.vtep, (weights.get(m.vtep) ?? 0) + m.weight);
  return weights;
}
