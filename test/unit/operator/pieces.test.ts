import { describe, expect, it } from 'vitest';
import { containsDesired } from '../../../src/operator/compare.js';
import { formatTime, listForMessage, mergeConditions } from '../../../src/operator/conditions.js';
import { TokenBucket } from '../../../src/operator/events.js';
import { formatMicroTime } from '../../../src/operator/leader.js';

describe('containsDesired', () => {
  it('accepts extra fields the server added and rejects any difference in ours', () => {
    expect(containsDesired({ a: 1, b: { c: 2, d: 3 }, extra: true }, { a: 1, b: { c: 2 } })).toBe(true);
    expect(containsDesired({ a: 1, b: { c: 2 } }, { a: 1, b: { c: 3 } })).toBe(false);
    expect(containsDesired({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(containsDesired(undefined, { a: 1 })).toBe(false);
  });

  it('compares arrays element-wise and in length (a removed group is a difference)', () => {
    expect(containsDesired({ l: [{ n: 'a', x: 1 }, { n: 'b' }] }, { l: [{ n: 'a' }, { n: 'b' }] })).toBe(true);
    expect(containsDesired({ l: [{ n: 'a' }, { n: 'b' }] }, { l: [{ n: 'a' }] })).toBe(false);
    expect(containsDesired({ l: [{ n: 'b' }, { n: 'a' }] }, { l: [{ n: 'a' }, { n: 'b' }] })).toBe(false);
  });

  it('treats an empty list we send as equal to one the server omitted', () => {
    expect(containsDesired({}, { groups: [] })).toBe(true);
    expect(containsDesired({ groups: [1] }, { groups: [] })).toBe(false);
  });
});

describe('conditions', () => {
  const t0 = new Date('2026-11-21T06:00:00.999Z');
  const t1 = new Date('2026-11-21T07:00:00Z');
  it('keeps lastTransitionTime while status stays, moves it when status changes', () => {
    const first = mergeConditions(undefined, [{ type: 'Ready', status: 'False', reason: 'Progressing', message: '0/3' }], t0);
    expect(first[0]!.lastTransitionTime).toBe('2026-11-21T06:00:00Z');
    const same = mergeConditions(first, [{ type: 'Ready', status: 'False', reason: 'Progressing', message: '1/3' }], t1);
    expect(same[0]).toMatchObject({ message: '1/3', lastTransitionTime: '2026-11-21T06:00:00Z' });
    const flipped = mergeConditions(same, [{ type: 'Ready', status: 'True', reason: 'Programmed', message: '3/3' }], t1);
    expect(flipped[0]!.lastTransitionTime).toBe('2026-11-21T07:00:00Z');
  });
  it('formats times and bounded lists', () => {
    expect(formatTime(t0)).toBe('2026-11-21T06:00:00Z');
    expect(listForMessage(['a', 'b', 'c'], 2)).toBe('a, b and 1 more');
    expect(listForMessage(['a'], 2)).toBe('a');
  });
});

describe('TokenBucket (Event spam filter)', () => {
  it('allows a burst, then one per refill period', () => {
    const b = new TokenBucket(3, 1000, 0);
    expect([b.take(0), b.take(0), b.take(0), b.take(0)]).toEqual([true, true, true, false]);
    expect(b.take(999)).toBe(false);
    expect(b.take(1000)).toBe(true);
    expect(b.take(1500)).toBe(false);
    expect(b.take(10_000)).toBe(true); // refilled (capped at the burst)
    expect([b.take(10_000), b.take(10_000), b.take(10_000)]).toEqual([true, true, false]);
  });
});

describe('formatMicroTime', () => {
  it('writes metav1.MicroTime with six fractional digits', () => {
    expect(formatMicroTime(Date.parse('2026-11-21T06:00:00.123Z'))).toBe('2026-11-21T06:00:00.123000Z');
  });
});
