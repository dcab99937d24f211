import { describe, expect, it } from 'vitest';
import { EventRecorder, type CoreEvent, type EventSink } from '../../../src/operator/events.js';
import { silentLogger } from '../../../src/util/log.js';

/** Records what the recorder sends, as the apiserver would store it. */
class StoredEvents implements EventSink {
  readonly byName = new Map<string, CoreEvent>();
  requests = 0;
  fail = false;
  create(event: CoreEvent): Promise<CoreEvent> {
    this.requests++;
    if (this.fail) return Promise.reject(new Error('apiserver unavailable'));
    this.byName.set(event.metadata.name, event);
    return Promise.resolve(event);
  }
  patch(name: string, body: unknown): Promise<CoreEvent> {
    this.requests++;
    const updated = { ...this.byName.get(name)!, ...(body as Partial<CoreEvent>) };
    this.byName.set(name, updated);
    return Promise.resolve(updated);
  }
}

const web = { apiVersion: 'evpn.ecmp.dev/v1alpha1', kind: 'VtepGroup', name: 'web', uid: 'u1' };
const db = { apiVersion: 'evpn.ecmp.dev/v1alpha1', kind: 'VtepGroup', name: 'db', uid: 'u2' };

function recorder(sink: StoredEvents, clock: { t: number }, outcomes: string[] = []) {
  return new EventRecorder({ events: sink, component: 'evpn-ecmp-operator', instance: 'op-1', log: silentLogger, burst: 5, refillMs: 60_000, now: () => clock.t, onOutcome: (o) => outcomes.push(o) });
}

describe('EventRecorder', () => {
  it('creates an Event in "default" naming the object, reason and source', async () => {
    const sink = new StoredEvents();
    const r = recorder(sink, { t: Date.parse('2026-11-21T06:00:00Z') });
    r.warning(web, 'MacConflict', 'VNI 100: 02:00:00:00:00:aa also in shop');
    await r.flush();
    const [e] = [...sink.byName.values()];
    expect(e).toMatchObject({
      metadata: { namespace: 'default', name: expect.stringMatching(/^web\.[0-9a-f]{16}$/) },
      involvedObject: web,
      type: 'Warning',
      reason: 'MacConflict',
      count: 1,
      firstTimestamp: '2026-11-21T06:00:00Z',
      source: { component: 'evpn-ecmp-operator' },
      reportingInstance: 'op-1',
    });
  });

  it('aggregates identical Events into one object with a count', async () => {
    const sink = new StoredEvents();
    const clock = { t: 0 };
    const r = recorder(sink, clock);
    for (let i = 0; i < 3; i++) {
      r.normal(web, 'Ready', 'programmed on all 3 node(s) at generation 1');
      clock.t += 1000;
    }
    await r.flush();
    expect(sink.byName.size).toBe(1);
    expect([...sink.byName.values()][0]!.count).toBe(3);
    // After the aggregation window a fresh Event starts.
    clock.t += 11 * 60_000;
    r.normal(web, 'Ready', 'programmed on all 3 node(s) at generation 1');
    await r.flush();
    expect(sink.byName.size).toBe(2);
  });

  it('a flapping object is cut off by its token bucket; other objects are not', async () => {
    const sink = new StoredEvents();
    const clock = { t: 0 };
    const outcomes: string[] = [];
    const r = recorder(sink, clock, outcomes);
    for (let i = 0; i < 100; i++) r.normal(web, i % 2 ? 'Ready' : 'NotReady', `flap ${i}`);
    r.warning(db, 'MacConflict', 'x');
    await r.flush();
    expect(sink.requests).toBe(6); // burst of 5 for web + 1 for db
    expect(outcomes.filter((o) => o === 'dropped')).toHaveLength(95);
    clock.t += 60_000; // one token back
    r.normal(web, 'Ready', 'again');
    r.normal(web, 'Ready', 'again 2');
    await r.flush();
    expect(sink.requests).toBe(7);
  });

  it('a failing apiserver costs a log line, never an exception', async () => {
    const sink = new StoredEvents();
    sink.fail = true;
    const outcomes: string[] = [];
    const r = recorder(sink, { t: 0 }, outcomes);
    expect(() => r.warning(web, 'MacConflict', 'x')).not.toThrow();
    await r.flush();
    expect(outcomes).toEqual(['failed']);
  });
});
