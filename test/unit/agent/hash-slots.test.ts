import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_SLOTS, SHARE_TOLERANCE, layoutSlots, ovsDpHashTable, redealtShare, slotCountFor, slotCounts, slotQuotas, type SlotMember } from '../../../src/agent/hash-slots.js';

const vteps = (n: number, weight = 1): SlotMember[] => Array.from({ length: n }, (_, i) => ({ vtep: `192.0.2.${i + 1}`, weight }));
const moved = (a: readonly string[], b: readonly string[]): number => {
  const size = Math.max(a.length, b.length);
  let n = 0;
  for (let s = 0; s < size; s++) if (a[s % a.length] !== b[s % b.length]) n++;
  return n / size;
};

const membersArb = fc
  .uniqueArray(fc.integer({ min: 1, max: 40 }), { minLength: 2, maxLength: 12 })
  .chain((ids) => fc.tuple(...ids.map((id) => fc.integer({ min: 1, max: 300 }).map((weight) => ({ vtep: `10.0.0.${id}`, weight })))));

describe('hash slot quotas', () => {
  it('deal every slot, each VTEP within one slot of its exact share', () => {
    fc.assert(
      fc.property(membersArb, fc.constantFrom(16, 32, 64, 128, 256), (members, slots) => {
        const quotas = slotQuotas(members, slots);
        const total = members.reduce((a, m) => a + m.weight, 0);
        expect([...quotas.values()].reduce((a, b) => a + b, 0)).toBe(slots);
        for (const m of members) expect(quotas.get(m.vtep)).toBeGreaterThanOrEqual(1);
        // Unless a VTEP had to be lifted to its one slot, rounding is all there is.
        if (members.every((m) => (slots * m.weight) / total >= 1)) {
          for (const m of members) expect(Math.abs(quotas.get(m.vtep)! - (slots * m.weight) / total)).toBeLessThan(1);
        }
      }),
    );
  });

  it('give a tied slot to a VTEP already holding it, whatever the others hold', () => {
    // 2.5 and 7.5 slots of 10: one of them gets the extra; it stays with whoever has it.
    expect(slotQuotas([{ vtep: 'a', weight: 1 }, { vtep: 'b', weight: 3 }], 10, new Map([['a', 3], ['b', 7]]))).toEqual(new Map([['a', 3], ['b', 7]]));
    expect(slotQuotas([{ vtep: 'a', weight: 1 }, { vtep: 'b', weight: 3 }], 10, new Map([['a', 2], ['b', 8]]))).toEqual(new Map([['a', 2], ['b', 8]]));
  });

  it('give a tied slot to the VTEP that holds more now', () => {
    const members = vteps(5);
    const holding = new Map([['192.0.2.5', 9]]);
    expect(slotQuotas(members, 16, holding).get('192.0.2.5')).toBe(4);
    expect(slotQuotas(members, 16).get('192.0.2.1')).toBe(4);
  });

  it('never round a VTEP down to no slot at all', () => {
    const members = [{ vtep: 'a', weight: 256 }, { vtep: 'b', weight: 256 }, { vtep: 'c', weight: 1 }];
    expect(slotQuotas(members, 64)).toEqual(new Map([['a', 31], ['b', 32], ['c', 1]])); // 1.6 % for 0.2 %: within 1.5 points
    expect(slotCountFor(members)).toBe(64);
    expect(slotQuotas(members, 256)).toEqual(new Map([['a', 127], ['b', 128], ['c', 1]]));
  });

  it('add up the weights of a VTEP listed twice', () => {
    expect(slotQuotas([{ vtep: 'a', weight: 1 }, { vtep: 'b', weight: 2 }, { vtep: 'a', weight: 1 }], 16)).toEqual(new Map([['a', 8], ['b', 8]]));
  });
});

describe('hash slot count', () => {
  it('is the native 16 when weights divide it, more when they do not', () => {
    expect(slotCountFor(vteps(4))).toBe(16);
    expect(slotCountFor([{ vtep: 'a', weight: 3 }, { vtep: 'b', weight: 1 }])).toBe(16);
    expect(slotCountFor(vteps(5))).toBe(64); // 13/64 = 20.3 % and 12/64 = 18.75 %; 32 slots give 21.9 %
    expect(slotCountFor(vteps(3))).toBe(64); // 22/64 = 34.4 % and 21/64 = 32.8 %; 32 slots leave one at 31.3 %
    expect(slotCountFor([{ vtep: 'a', weight: 100 }, { vtep: 'b', weight: 1 }])).toBe(64); // 1 slot of 64 for b
    expect(slotCountFor(vteps(64))).toBe(64);
    expect(slotCountFor(vteps(200))).toBe(256);
    expect(slotCountFor(vteps(257))).toBeUndefined();
  });

  it('keeps every share within the tolerance whenever 256 slots or fewer can', () => {
    fc.assert(
      fc.property(membersArb, (members) => {
        const slots = slotCountFor(members)!;
        const table = layoutSlots(members)!;
        expect(table).toHaveLength(slots);
        const total = members.reduce((a, m) => a + m.weight, 0);
        const counts = slotCounts(table);
        for (const m of members) {
          expect(counts.get(m.vtep)).toBeGreaterThanOrEqual(1);
          // At MAX_SLOTS the tolerance may be out of reach (weights 300:1 want 0.85 of a slot).
          if (slots < MAX_SLOTS) expect(Math.abs(counts.get(m.vtep)! / slots - m.weight / total)).toBeLessThanOrEqual(SHARE_TOLERANCE);
        }
      }),
    );
  });
});

describe('hash slot layout', () => {
  it('lays out a new group in member order', () => {
    expect(layoutSlots([{ vtep: 'a', weight: 3 }, { vtep: 'b', weight: 1 }])).toEqual([...Array(12).fill('a'), ...Array(4).fill('b')]);
  });

  it('moves one fifth of the hash space when a fifth VTEP joins four', () => {
    const four = layoutSlots(vteps(4))!;
    const five = layoutSlots(vteps(5), four)!;
    expect(five).toHaveLength(64);
    expect(slotCounts(five).get('192.0.2.5')).toBe(12);
    expect(moved(four, five)).toBe(12 / 64);
    // Every slot that moved went to the newcomer.
    five.forEach((vtep, s) => {
      if (vtep !== four[s % 16]) expect(vtep).toBe('192.0.2.5');
    });
  });

  it('moves only the leaving VTEP\'s quarter when one of four leaves', () => {
    const four = layoutSlots(vteps(4))!;
    const three = layoutSlots(vteps(4).slice(1), four)!;
    expect(moved(four, three)).toBe(0.25);
    expect(three).toHaveLength(64);
  });

  it('never shrinks the table, and a layout that fits is kept as it is', () => {
    const five = layoutSlots(vteps(5))!;
    const four = layoutSlots(vteps(4), five)!;
    expect(four).toHaveLength(64);
    expect(layoutSlots(vteps(4), four)).toEqual(four);
  });

  it('leaves a single VTEP to one bucket', () => {
    expect(layoutSlots(vteps(1))).toBeUndefined();
    expect(layoutSlots([{ vtep: 'a', weight: 1 }, { vtep: 'a', weight: 2 }])).toBeUndefined();
  });

  it('starts afresh from a previous table of an impossible size', () => {
    expect(layoutSlots(vteps(2), ['a', 'b', 'c'])).toEqual(layoutSlots(vteps(2)));
  });

  it('moves exactly the slots whose VTEP must change, for any change', () => {
    fc.assert(
      fc.property(membersArb, membersArb, (before, after) => {
        const prev = layoutSlots(before)!;
        const next = layoutSlots(after, prev)!;
        // The least any layout of this size can move: each VTEP's slots above its new quota.
        const size = next.length;
        const tiled = Array.from({ length: size }, (_, s) => prev[s % prev.length]!);
        const quotas = slotCounts(next);
        let least = 0;
        for (const [vtep, n] of slotCounts(tiled)) least += Math.max(0, n - (quotas.get(vtep) ?? 0));
        expect(moved(tiled, next) * size).toBe(least);
        expect(quotas).toEqual(new Map([...slotQuotas(after, size, slotCounts(tiled))].filter(([, q]) => q > 0)));
        expect(layoutSlots(after, next)).toEqual(next);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('re-dealt share', () => {
  it('compares a grown table slot by slot with the one it grew from', () => {
    expect(redealtShare(['a', 'b'], ['a', 'b', 'a', 'c'])).toBe(0.25);
    expect(redealtShare(['a', 'b', 'a', 'c'], ['a', 'b'])).toBe(0.25);
    expect(redealtShare(['a'], ['a', 'a'])).toBe(0);
  });
});

describe("Open vSwitch's own dp_hash table", () => {
  it('is slot i → bucket i for a power of two of equal buckets', () => {
    expect(ovsDpHashTable(Array(64).fill(1))).toEqual([...Array(64).keys()]);
    expect(ovsDpHashTable(Array(4).fill(1))).toEqual([0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3]);
  });

  it('re-deals most slots when a fifth bucket joins four (as measured in B8: 74.4 %)', () => {
    const four = ovsDpHashTable([1, 1, 1, 1])!;
    const five = ovsDpHashTable([1, 1, 1, 1, 1])!;
    expect(four.filter((b, s) => b !== five[s]).length / 16).toBe(0.75);
  });

  it('sizes the table from total / smallest weight, and gives up above 256', () => {
    expect(ovsDpHashTable([100, 1])).toHaveLength(128);
    expect(ovsDpHashTable([300, 1])).toBeUndefined();
    expect(ovsDpHashTable([0, 0])).toBeUndefined();
  });
});
