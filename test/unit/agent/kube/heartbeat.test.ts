import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { KubeApiError, KubeUnreachableError } from '../../../../src/agent/kube/api.js';
import { ApiserverHealth } from '../../../../src/agent/kube/apiserver-health.js';
import { Heartbeat } from '../../../../src/agent/kube/heartbeat.js';
import { KubeEdgeMetrics } from '../../../../src/agent/kube/metrics.js';
import { heartbeatLeaseDurationSeconds } from '../../../../src/kube/heartbeat.js';
import { silentLogger } from '../../../../src/util/log.js';
import { createMetricsRegistry } from '../../../../src/util/metrics.js';
import { FakeTransport, type RecordedRequest } from './fake-transport.js';

const LEASE = '/apis/coordination.k8s.io/v1/namespaces/evpn-system/leases/node-a';

describe('Heartbeat (the node Lease)', () => {
  let api: FakeTransport;
  let health: ApiserverHealth;
  let metrics: KubeEdgeMetrics;
  let hb: Heartbeat;
  let leases: Map<string, Record<string, any>>;

  beforeEach(() => {
    vi.useFakeTimers({ now: new Date('2026-12-07T10:00:00.000Z') });
    api = new FakeTransport();
    leases = new Map();
    // A tiny Lease store with the apiserver's answers: 404 for a missing object, 422 for a failed JSON Patch test.
    api.handler = (req: RecordedRequest) => {
      if (req.method === 'POST') {
        const obj = req.options.body as Record<string, any>;
        leases.set(obj.metadata.name, obj);
        return obj;
      }
      const name = req.path.split('/').at(-1)!;
      const have = leases.get(name);
      if (!have) throw new KubeApiError('PATCH', req.path, 404, 'NotFound', 'not found');
      const [test, add] = req.options.body as Array<{ op: string; path: string; value: any }>;
      expect(test!.path).toBe('/metadata/labels/evpn.ecmp.dev~1heartbeat');
      if (have.metadata.labels?.['evpn.ecmp.dev/heartbeat'] !== test!.value) throw new KubeApiError('PATCH', req.path, 422, 'Invalid', 'the server rejected our request due to an error in our request');
      have.spec = add!.value;
      return have;
    };
    health = new ApiserverHealth(silentLogger);
    metrics = new KubeEdgeMetrics(createMetricsRegistry({ processMetrics: false }));
    hb = new Heartbeat({ transport: api, node: 'node-a', namespace: 'evpn-system', intervalMs: 10_000, log: silentLogger, health, metrics });
  });
  afterEach(async () => {
    await hb.stop();
    vi.useRealTimers();
  });

  const counter = async (c: { get(): Promise<{ values: Array<{ value: number; labels: Record<string, unknown> }> }> }, labels: Record<string, string> = {}) =>
    (await c.get()).values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((n, v) => n + v.value, 0);

  it('creates the labelled Lease, then renews it every interval with three intervals as its duration', async () => {
    expect(heartbeatLeaseDurationSeconds(10_000)).toBe(30);
    expect(heartbeatLeaseDurationSeconds(2_500)).toBe(8);
    hb.start();
    await vi.advanceTimersByTimeAsync(0);
    const lease = leases.get('node-a')!;
    expect(lease.metadata).toEqual({ name: 'node-a', namespace: 'evpn-system', labels: { 'evpn.ecmp.dev/heartbeat': 'agent' } });
    expect(lease.spec).toEqual({ holderIdentity: 'node-a', leaseDurationSeconds: 30, renewTime: '2026-12-07T10:00:00.000000Z', acquireTime: '2026-12-07T10:00:00.000000Z' });
    expect(api.requests.map((r) => `${r.method} ${r.path}`)).toEqual([`PATCH ${LEASE}`, 'POST /apis/coordination.k8s.io/v1/namespaces/evpn-system/leases']);

    await vi.advanceTimersByTimeAsync(10_000);
    expect(leases.get('node-a')!.spec).toEqual({ holderIdentity: 'node-a', leaseDurationSeconds: 30, renewTime: '2026-12-07T10:00:10.000000Z' });
    await vi.advanceTimersByTimeAsync(20_000);
    // One request per renewal once the Lease exists.
    expect(api.requests.slice(2).map((r) => r.method)).toEqual(['PATCH', 'PATCH', 'PATCH']);
    expect(leases.get('node-a')!.spec.renewTime).toBe('2026-12-07T10:00:30.000000Z');
    expect(await counter(metrics.heartbeats)).toBe(4);
  });

  it('never touches a Lease of the same name that is not a heartbeat', async () => {
    leases.set('node-a', { metadata: { name: 'node-a', labels: {} }, spec: { holderIdentity: 'leader-1', renewTime: 'x' } });
    hb.start();
    await vi.advanceTimersByTimeAsync(20_000);
    expect(leases.get('node-a')!.spec).toEqual({ holderIdentity: 'leader-1', renewTime: 'x' });
    expect(await counter(metrics.heartbeatErrors, { reason: 'NotOurs' })).toBe(3);
  });

  it('rides out an outage: counts it, keeps the cadence, renews when the apiserver answers', async () => {
    const handler = api.handler;
    api.handler = (req) => {
      throw new KubeUnreachableError(req.method, req.path, new Error('connect ECONNREFUSED'));
    };
    hb.start();
    await vi.advanceTimersByTimeAsync(20_000);
    expect(health.reachable).toBe(false);
    expect(await counter(metrics.heartbeatErrors, { reason: 'Unreachable' })).toBe(3);
    api.handler = handler;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(health.reachable).toBe(true);
    expect(leases.get('node-a')!.spec.renewTime).toBe('2026-12-07T10:00:30.000000Z');
  });

  it('stops renewing when stopped', async () => {
    hb.start();
    await vi.advanceTimersByTimeAsync(0);
    await hb.stop();
    const n = api.requests.length;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(api.requests).toHaveLength(n);
  });
});
