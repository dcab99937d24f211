import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { VtepNodeStateStatus } from '../../../../src/api/index.js';
import { KubeApiError, KubeUnreachableError } from '../../../../src/agent/kube/api.js';
import { ApiserverHealth } from '../../../../src/agent/kube/apiserver-health.js';
import { KubeEdgeMetrics } from '../../../../src/agent/kube/metrics.js';
import { AGENT_FIELD_MANAGER, StatusWriter, statusKey } from '../../../../src/agent/kube/status-writer.js';
import { silentLogger } from '../../../../src/util/log.js';
import { createMetricsRegistry } from '../../../../src/util/metrics.js';
import { FakeTransport, type RecordedRequest } from './fake-transport.js';

const PATH = '/apis/evpn.ecmp.dev/v1alpha1/vtepnodestates/node-a/status';

function status(ecmp: number, extra: Partial<VtepNodeStateStatus> = {}): VtepNodeStateStatus {
  return {
    observedGeneration: 3,
    conditions: [{ type: 'Ready', status: 'True', reason: 'Synced', message: '', lastTransitionTime: '2026-11-21T06:00:00Z' }],
    learned: { ecmp, singlePath: 0 },
    lastSyncTime: '2026-11-21T06:00:01Z',
    ...extra,
  };
}

/** The status a JSON Patch `add /status` request carries, without the time of the write. */
const sent = (r: RecordedRequest): VtepNodeStateStatus => {
  const { lastReportTime: _t, ...rest } = (r.options.body as Array<{ value: VtepNodeStateStatus }>)[0]!.value;
  return rest;
};

describe('StatusWriter (coalesced status subresource writes)', () => {
  let api: FakeTransport;
  let health: ApiserverHealth;
  let metrics: KubeEdgeMetrics;
  let writer: StatusWriter;
  let rv = 100;
  let answer: (req: RecordedRequest) => unknown;

  beforeEach(() => {
    vi.useFakeTimers();
    api = new FakeTransport();
    rv = 100;
    answer = (req) => ({ metadata: { resourceVersion: String(++rv) }, status: sent(req) });
    api.handler = (req) => answer(req);
    health = new ApiserverHealth(silentLogger);
    metrics = new KubeEdgeMetrics(createMetricsRegistry({ processMetrics: false }));
    writer = new StatusWriter({ transport: api, node: 'node-a', log: silentLogger, health, metrics, now: () => Date.now() });
  });
  afterEach(() => {
    writer.stop();
    vi.useRealTimers();
  });

  const writes = () => api.requests.filter((r) => r.method === 'PATCH');
  const counter = async (c: { get(): Promise<{ values: Array<{ value: number; labels: Record<string, unknown> }> }> }, labels: Record<string, string> = {}) =>
    (await c.get()).values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((n, v) => n + v.value, 0);

  it('replaces the whole status with a JSON Patch on the status subresource, as evpn-ecmp-agent', async () => {
    writer.write(status(1));
    await vi.advanceTimersByTimeAsync(0);
    expect(writes()).toHaveLength(1);
    const r = writes()[0]!;
    expect(r.path).toBe(PATH);
    expect(r.options.contentType).toBe('application/json-patch+json');
    expect(r.options.query).toEqual({ fieldManager: AGENT_FIELD_MANAGER });
    // Stamped with the time of the write: the REPORTED column, and the operator's sign of life.
    expect(r.options.body).toEqual([{ op: 'add', path: '/status', value: { ...status(1), lastReportTime: new Date().toISOString() } }]);
    expect(await counter(metrics.statusWrites)).toBe(1);
    expect(health.reachable).toBe(true);
  });

  it('coalesces a churn into at most one write per second, the latest status winning', async () => {
    for (let i = 0; i < 300; i++) {
      writer.write(status(i));
      await vi.advanceTimersByTimeAsync(10); // 100 statuses per second for 3 s
    }
    await vi.advanceTimersByTimeAsync(1500);
    const w = writes();
    expect(w.length).toBeGreaterThanOrEqual(3);
    expect(w.length).toBeLessThanOrEqual(4);
    expect(sent(w.at(-1)!).learned?.ecmp).toBe(299);
    // Nothing more once the last one is written.
    await vi.advanceTimersByTimeAsync(10_000);
    expect(writes()).toHaveLength(w.length);
  });

  it('writes nothing when the apiserver already holds the status, ignoring lastSyncTime, lastReportTime and transition times', async () => {
    writer.observe({
      exists: true,
      resourceVersion: '50',
      status: { ...status(2), lastSyncTime: '2026-11-21T05:00:00Z', lastReportTime: '2026-11-21T05:00:00.000Z', conditions: [{ ...status(2).conditions![0]!, lastTransitionTime: '2026-11-20T00:00:00Z' }] },
    });
    writer.write(status(2));
    await vi.advanceTimersByTimeAsync(5000);
    expect(writes()).toHaveLength(0);
    // A real difference is written.
    writer.write(status(3));
    await vi.advanceTimersByTimeAsync(0);
    expect(writes()).toHaveLength(1);
  });

  it('rewrites a status someone else overwrote, once; a form the apiserver stores differently is not rewritten in a loop', async () => {
    answer = (req) => ({ metadata: { resourceVersion: String(++rv) }, status: { ...sent(req), summary: { groups: 0, paths: 0, macs: 0, invalid: 0 } } });
    writer.write(status(1));
    await vi.advanceTimersByTimeAsync(0);
    expect(writes()).toHaveLength(1);
    // The watch echoes our write in the apiserver's form: not a reason to write.
    writer.observe({ exists: true, resourceVersion: String(rv), status: { ...status(1), summary: { groups: 0, paths: 0, macs: 0, invalid: 0 } } });
    await vi.advanceTimersByTimeAsync(5000);
    expect(writes()).toHaveLength(1);
    // An older event arriving late says nothing new.
    writer.observe({ exists: true, resourceVersion: '60', status: status(0) });
    await vi.advanceTimersByTimeAsync(5000);
    expect(writes()).toHaveLength(1);
    // Someone overwrote it: rewritten once.
    writer.observe({ exists: true, resourceVersion: String(rv + 5), status: { observedGeneration: 1 } });
    await vi.advanceTimersByTimeAsync(1000);
    expect(writes()).toHaveLength(2);
    expect(sent(writes()[1]!)).toEqual(status(1));
    await vi.advanceTimersByTimeAsync(10_000);
    expect(writes()).toHaveLength(2);
  });

  it('during an outage retries with backoff (1, 2, 4 … 16 s), counts failures, and writes at once when the apiserver answers again', async () => {
    answer = () => {
      throw new KubeUnreachableError('PATCH', PATH, new Error('connect ECONNREFUSED'));
    };
    writer.write(status(1));
    await vi.advanceTimersByTimeAsync(0);
    expect(writes()).toHaveLength(1);
    expect(health.reachable).toBe(false);
    const at: number[] = [];
    const start = Date.now();
    for (let t = 0; t < 40_000; t += 100) {
      const before = writes().length;
      await vi.advanceTimersByTimeAsync(100);
      if (writes().length > before) at.push(Date.now() - start);
    }
    // Gaps double up to the 16 s cap.
    const gaps = at.map((t, i) => t - (at[i - 1] ?? 0));
    expect(gaps.slice(0, 5).map((g) => Math.round(g / 1000))).toEqual([1, 2, 4, 8, 16]);
    expect(await counter(metrics.statusWriteErrors, { reason: 'Unreachable' })).toBe(writes().length);
    // Newer statuses meanwhile replace the pending one; the spec watch gets an answer: write now.
    writer.write(status(7));
    answer = (req) => ({ metadata: { resourceVersion: String(++rv) }, status: sent(req) });
    const n = writes().length;
    health.answered();
    await vi.advanceTimersByTimeAsync(1000);
    expect(writes()).toHaveLength(n + 1);
    expect(sent(writes().at(-1)!).learned?.ecmp).toBe(7);
    expect(await counter(metrics.statusWrites)).toBe(1);
  });

  it('holds a starting agent\'s statuses until it first reports Ready (or 5 s passed)', async () => {
    const starting = (message: string) => status(0, { conditions: [{ type: 'Ready', status: 'False', reason: 'Pending', message, lastTransitionTime: '2026-11-21T06:00:00Z' }] });
    writer.write(starting('no desired state yet'));
    writer.write(starting('Open vSwitch not connected yet'));
    await vi.advanceTimersByTimeAsync(1000);
    expect(writes()).toHaveLength(0);
    writer.write(status(4));
    await vi.advanceTimersByTimeAsync(0);
    expect(writes()).toHaveLength(1);
    expect(sent(writes()[0]!).learned?.ecmp).toBe(4);
    // Once released, a later not-ready status is news and is written.
    writer.write(starting('kernel write refused'));
    await vi.advanceTimersByTimeAsync(1000);
    expect(writes()).toHaveLength(2);
  });

  it('an agent that never gets Ready still writes why, after the hold', async () => {
    writer.write(status(0, { conditions: [{ type: 'Ready', status: 'False', reason: 'OvsUnreachable', message: 'connect: no such file', lastTransitionTime: '2026-11-21T06:00:00Z' }] }));
    await vi.advanceTimersByTimeAsync(4900);
    expect(writes()).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(200);
    expect(writes()).toHaveLength(1);
  });

  it('404: waits for the object to exist instead of retrying blindly', async () => {
    answer = () => {
      throw new KubeApiError('PATCH', PATH, 404, 'NotFound', 'vtepnodestates "node-a" not found');
    };
    writer.write(status(1));
    await vi.advanceTimersByTimeAsync(60_000);
    expect(writes()).toHaveLength(1);
    expect(await counter(metrics.statusWriteErrors, { reason: 'NotFound' })).toBe(1);
    answer = (req) => ({ metadata: { resourceVersion: String(++rv) }, status: sent(req) });
    writer.observe({ exists: true, resourceVersion: '500', status: undefined });
    await vi.advanceTimersByTimeAsync(1000);
    expect(writes()).toHaveLength(2);
  });

  it('a refused write (422) is retried with backoff, not in a tight loop', async () => {
    answer = () => {
      throw new KubeApiError('PATCH', PATH, 422, 'Invalid', 'status.learned.ecmp: Invalid value');
    };
    writer.write(status(1));
    await vi.advanceTimersByTimeAsync(30_000);
    expect(writes().length).toBeLessThanOrEqual(5);
    expect(health.reachable).toBe(true); // an answer, not an outage
  });

  it('flush at shutdown sends a pending status without waiting out the rate limit', async () => {
    writer.write(status(1));
    await vi.advanceTimersByTimeAsync(0);
    writer.write(status(2));
    const flushed = writer.flush(3000);
    await vi.advanceTimersByTimeAsync(0);
    await flushed;
    expect(writes()).toHaveLength(2);
    expect(sent(writes()[1]!).learned?.ecmp).toBe(2);
  });
});

describe('statusKey', () => {
  it('ignores lastSyncTime, transition times and key order; sees everything else', () => {
    const a = status(1);
    const b = { learned: { singlePath: 0, ecmp: 1 }, lastSyncTime: 'x', observedGeneration: 3, conditions: [{ message: '', reason: 'Synced', status: 'True', type: 'Ready', lastTransitionTime: 'y' }] };
    expect(statusKey(b)).toBe(statusKey(a));
    expect(statusKey(status(2))).not.toBe(statusKey(a));
    expect(statusKey({ ...a, learned: { ecmp: 1, singlePath: 0, invalid: { UnknownNexthop: 1 } } })).not.toBe(statusKey(a));
    expect(statusKey(undefined)).toBe('');
  });
});
