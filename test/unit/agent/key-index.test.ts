import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { KeyIndex } from '../../../src/agent/engine/nodes/key-index.js';

/** The reference the index must behave like: a Map of Sets. */
function reference(ops: Array<{ add: boolean; id: number; key: string }>): Map<number, Set<string>> {
  const ref = new Map<number, Set<string>>();
  for (const op of ops) {
    const set = ref.get(op.id) ?? new Set<string>();
    if (op.add) set.add(op.key);
    else set.delete(op.key);
    if (set.size > 0) ref.set(op.id, set);
    else ref.delete(op.id);
  }
  return ref;
}

describe('KeyIndex', () => {
  it('behaves as a Map of Sets through adds and deletes, across the array/Set boundary', () => {
    // Few ids and up to 80 keys each, so bags cross the 32-key boundary both ways.
    const op = fc.record({ add: fc.boolean(), id: fc.integer({ min: 0, max: 3 }), key: fc.integer({ min: 0, max: 79 }).map((k) => `k${k}`) });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 600 }), (ops) => {
        const index = new KeyIndex<number>();
        for (const o of ops) {
          if (o.add) index.add(o.id, o.key);
          else index.delete(o.id, o.key);
        }
        const ref = reference(ops);
        expect(new Set(index.ids())).toEqual(new Set(ref.keys()));
        expect(index.size).toBe(ref.size);
        for (const id of [0, 1, 2, 3]) {
          // Same keys in the same (insertion) order as the Set.
          expect([...(index.get(id) ?? [])]).toEqual([...(ref.get(id) ?? [])]);
          expect(index.count(id)).toBe(ref.get(id)?.size ?? 0);
          expect(index.has(id)).toBe(ref.has(id));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('keeps 10,000 keys of one id and removes them one by one', () => {
    const index = new KeyIndex<number>();
    for (let i = 0; i < 10_000; i++) index.add(7, `m${i}`);
    index.add(7, 'm0');
    expect(index.count(7)).toBe(10_000);
    for (let i = 0; i < 10_000; i++) index.delete(7, `m${i}`);
    expect(index.has(7)).toBe(false);
    expect(index.size).toBe(0);
  });
});
