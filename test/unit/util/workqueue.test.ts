import { afterEach, describe, expect, it, vi } from 'vitest';
import { Registry } from 'prom-client';
import { WorkQueue, backoffDelay, runWorkers, workQueueMetrics } from '../../../src/util/workqueue.js';

describe('backoffDelay', () => {
  it('doubles from the base and stops at the cap', () => {
    const opts = { baseDelayMs: 100, maxDelayMs: 1000 };
    expect([0, 1, 2, 3, 4, 5, 100, 5000].map((n) => backoffDelay(n, opts))).toEqual([0, 100, 200, 400, 800, 1000, 1000, 1000]);
  });
});

describe('WorkQueue', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('dedupes a key added several times while waiting', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.add('b');
    q.add('a');
    expect(q.length).toBe(2);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
    expect(q.length).toBe(0);
  });

  it('never hands out a key twice at once; an add during processing requeues after done', async () => {
    const q = new WorkQueue();
    q.add('a');
    expect(await q.get()).toBe('a');
    q.add('a');
    q.add('a');
    expect(q.length).toBe(0); // held back while 'a' is in flight
    q.done('a');
    expect(q.length).toBe(1);
    expect(await q.get()).toBe('a');
    q.done('a');
    expect(q.length).toBe(0);
  });

  it('get waits for an add', async () => {
    const q = new WorkQueue();
    const next = q.get();
    q.add('x');
    expect(await next).toBe('x');
    expect(q.inFlight).toBe(1);
  });

  it('addAfter keeps the earliest deadline per key', async () => {
    vi.useFakeTimers();
    const q = new WorkQueue();
    q.addAfter('a', 1000);
    q.addAfter('a', 300);
    q.addAfter('a', 5000);
    await vi.advanceTimersByTimeAsync(299);
    expect(q.length).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(q.length).toBe(1);
    expect(await q.get()).toBe('a');
    q.done('a');
    await vi.advanceTimersByTimeAsync(10_000);
    expect(q.length).toBe(0); // the later deadlines were dropped, not kept
  });

  it('addRateLimited backs off exponentially per key and forget resets', async () => {
    vi.useFakeTimers();
    const q = new WorkQueue({ baseDelayMs: 10, maxDelayMs: 1000 });
    expect(q.addRateLimited('a')).toBe(10);
    expect(q.addRateLimited('a')).toBe(20);
    expect(q.addRateLimited('a')).toBe(40);
    expect(q.addRateLimited('b')).toBe(10);
    expect(q.numRequeues('a')).toBe(3);
    q.forget('a');
    expect(q.numRequeues('a')).toBe(0);
    expect(q.addRateLimited('a')).toBe(10);
    await vi.advanceTimersByTimeAsync(10);
    expect(q.length).toBe(2);
  });

  it('shutDown releases waiters with undefined and drops delayed keys', async () => {
    const q = new WorkQueue();
    const waiting = q.get();
    q.addAfter('later', 10_000);
    q.shutDown();
    expect(await waiting).toBeUndefined();
    expect(await q.get()).toBeUndefined();
    q.add('x');
    expect(q.length).toBe(0);
  });

  it('shutDownWithDrain waits for keys in flight', async () => {
    const q = new WorkQueue();
    q.add('a');
    await q.get();
    let drained = false;
    const p = q.shutDownWithDrain().then(() => (drained = true));
    await Promise.resolve();
    expect(drained).toBe(false);
    q.done('a');
    await p;
    expect(drained).toBe(true);
  });

  it('updates workqueue_* metrics labelled by queue name', async () => {
    const registry = new Registry();
    const metrics = workQueueMetrics(registry);
    expect(workQueueMetrics(registry).adds).toBe(metrics.adds); // shared per registry
    const q = new WorkQueue({ name: 'groups', metrics });
    q.add('a');
    q.add('a');
    q.add('b');
    q.addRateLimited('c');
    const text = await registry.metrics();
    expect(text).toContain('workqueue_adds_total{name="groups"} 2');
    expect(text).toContain('workqueue_depth{name="groups"} 2');
    expect(text).toContain('workqueue_retries_total{name="groups"} 1');
    q.shutDown();
  });
});

describe('runWorkers', () => {
  it('processes keys, retries failures with backoff, and stops on shutdown', async () => {
    const q = new WorkQueue({ baseDelayMs: 1, maxDelayMs: 5 });
    const seen: string[] = [];
    let failuresLeft = 2;
    const done = runWorkers(q, 2, async (key) => {
      await Promise.resolve();
      seen.push(key);
      if (key === 'flaky' && failuresLeft-- > 0) throw new Error('transient');
      if (key === 'flaky') q.shutDown();
    });
    q.add('ok');
    q.add('flaky');
    await done;
    expect(seen.filter((k) => k === 'flaky')).toHaveLength(3);
    expect(seen).toContain('ok');
    expect(q.numRequeues('flaky')).toBe(0); // forgotten after success
  });

  it('never runs the same key concurrently', async () => {
    const q = new WorkQueue();
    let running = 0;
    let maxRunning = 0;
    let calls = 0;
    const done = runWorkers(q, 4, async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      calls++;
      q.add('k'); // an event arriving while we work
      await new Promise((r) => setTimeout(r, 2));
      running--;
      if (calls >= 5) q.shutDown();
    });
    q.add('k');
    await done;
    expect(maxRunning).toBe(1);
    expect(calls).toBe(5);
  });
});
