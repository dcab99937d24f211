import { describe, expect, it } from 'vitest';
import { collectStartupGarbage } from '../../../src/agent/startup-heap.js';

describe('collectStartupGarbage', () => {
  it('runs a full collection: an unreachable object is gone afterwards', async () => {
    let garbage: number[] | undefined = new Array<number>(1_000_000).fill(1);
    const ref = new WeakRef(garbage);
    garbage = undefined;
    // A WeakRef's target stays alive until the job that created it ends.
    await new Promise((resolve) => setTimeout(resolve, 0));
    const ms = collectStartupGarbage();
    expect(typeof ms).toBe('number');
    expect(ref.deref()).toBeUndefined();
    expect(garbage).toBeUndefined();
  });
});
