import { describe, expect, it } from 'vitest';
import { KubeApiError } from '../../../src/operator/kube/client.js';
import { LeaderElector, type Lease, type LeaseStore } from '../../../src/operator/leader.js';
import { silentLogger } from '../../../src/util/log.js';

/** Leases with the apiserver's optimistic concurrency: a write with a stale resourceVersion gets 409. */
class LeaseTable implements LeaseStore {
  lease: Lease | undefined;
  private rv = 0;
  down = false;
  get(name: string): Promise<Lease> {
    if (this.down) return Promise.reject(new KubeApiError('GET', name, 503, 'ServiceUnavailable', 'down'));
    if (!this.lease) return Promise.reject(new KubeApiError('GET', name, 404, 'NotFound', 'not found'));
    return Promise.resolve(structuredClone(this.lease));
  }
  create(lease: Lease): Promise<Lease> {
    if (this.lease) return Promise.reject(new KubeApiError('POST', lease.metadata.name, 409, 'AlreadyExists', 'exists'));
    this.lease = { ...structuredClone(lease), metadata: { ...lease.metadata, resourceVersion: String(++this.rv) } };
    return Promise.resolve(structuredClone(this.lease));
  }
  replace(lease: Lease): Promise<Lease> {
    if (this.down) return Promise.reject(new KubeApiError('PUT', lease.metadata.name, 503, 'ServiceUnavailable', 'down'));
    if (lease.metadata.resourceVersion !== this.lease?.metadata.resourceVersion) {
      return Promise.reject(new KubeApiError('PUT', lease.metadata.name, 409, 'Conflict', 'the object has been modified'));
    }
    this.lease = { ...structuredClone(lease), metadata: { ...lease.metadata, resourceVersion: String(++this.rv) } };
    return Promise.resolve(structuredClone(this.lease));
  }
}

function elector(table: LeaseTable, identity: string, clock: { t: number }, periods = {}) {
  return new LeaderElector({ leases: table, name: 'evpn-ecmp-operator', namespace: 'default', identity, log: silentLogger, now: () => clock.t, ...periods });
}

describe('LeaderElector', () => {
  it('creates the Lease when there is none, renews it, and keeps acquireTime', async () => {
    const table = new LeaseTable();
    const clock = { t: Date.parse('2026-11-21T06:00:00Z') };
    const a = elector(table, 'a', clock);
    expect(await a.tryAcquireOrRenew()).toBe(true);
    expect(table.lease!.spec).toMatchObject({ holderIdentity: 'a', leaseDurationSeconds: 15, leaseTransitions: 0, acquireTime: '2026-11-21T06:00:00.000000Z' });
    clock.t += 2000;
    expect(await a.tryAcquireOrRenew()).toBe(true);
    expect(table.lease!.spec).toMatchObject({ renewTime: '2026-11-21T06:00:02.000000Z', acquireTime: '2026-11-21T06:00:00.000000Z', leaseTransitions: 0 });
  });

  it("waits a full lease duration from when it last saw the holder's record change, whatever the holder's clock says", async () => {
    const table = new LeaseTable();
    const holderClock = { t: Date.parse('2020-01-01T00:00:00Z') }; // years behind: renewTime looks ancient
    const clock = { t: Date.parse('2026-11-21T06:00:00Z') };
    const a = elector(table, 'a', holderClock);
    const b = elector(table, 'b', clock);
    expect(await a.tryAcquireOrRenew()).toBe(true);
    expect(await b.tryAcquireOrRenew()).toBe(false); // first sight of the record
    clock.t += 14_000;
    expect(await b.tryAcquireOrRenew()).toBe(false); // not yet 15 s since it last changed
    holderClock.t += 14_000;
    expect(await a.tryAcquireOrRenew()).toBe(true); // renewal: the record changes
    clock.t += 5_000;
    expect(await b.tryAcquireOrRenew()).toBe(false); // sees the change now: its 15 s start again
    clock.t += 14_999;
    expect(await b.tryAcquireOrRenew()).toBe(false);
    clock.t += 2;
    expect(await b.tryAcquireOrRenew()).toBe(true); // a stopped renewing
    expect(table.lease!.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
  });

  it('of two candidates racing for a free Lease only one wins (409 for the other)', async () => {
    const table = new LeaseTable();
    const clock = { t: 0 };
    const [a, b] = [elector(table, 'a', clock), elector(table, 'b', clock)];
    const results = await Promise.all([a.tryAcquireOrRenew(), b.tryAcquireOrRenew()]);
    expect(results.filter(Boolean)).toHaveLength(1);
    // A released Lease (holder cleared) is taken at once.
    table.lease!.spec!.holderIdentity = null;
    table.lease!.spec!.leaseDurationSeconds = 1;
    const loser = results[0] ? b : a;
    clock.t += 1;
    expect(await loser.tryAcquireOrRenew()).toBe(true);
  });

  it('gives up leadership after failing to renew for the renew deadline', async () => {
    const table = new LeaseTable();
    const a = new LeaderElector({ leases: table, name: 'l', namespace: 'default', identity: 'a', log: silentLogger, leaseDurationMs: 300, renewDeadlineMs: 200, retryPeriodMs: 20 });
    const changes: boolean[] = [];
    const b = new LeaderElector({ leases: table, name: 'l', namespace: 'default', identity: 'b', log: silentLogger, leaseDurationMs: 300, renewDeadlineMs: 200, retryPeriodMs: 20, onChange: (l) => changes.push(l) });
    expect(await b.acquire(new AbortController().signal)).toBe(true);
    expect(b.isLeader).toBe(true);
    table.down = true;
    const started = Date.now();
    expect(await b.hold(new AbortController().signal)).toBe('lost');
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    expect(b.isLeader).toBe(false);
    expect(changes).toEqual([true, false]);
    // Meanwhile nobody else could have taken it: the lease outlives the renew deadline.
    table.down = false;
    expect(await a.tryAcquireOrRenew()).toBe(false);
  });

  it('hold() ends when stopped and releases the Lease for an immediate takeover', async () => {
    const table = new LeaseTable();
    const periods = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 20 };
    const a = new LeaderElector({ leases: table, name: 'l', namespace: 'default', identity: 'a', log: silentLogger, ...periods });
    const b = new LeaderElector({ leases: table, name: 'l', namespace: 'default', identity: 'b', log: silentLogger, ...periods });
    const stop = new AbortController();
    expect(await a.acquire(stop.signal)).toBe(true);
    const held = a.hold(stop.signal);
    expect(await b.tryAcquireOrRenew()).toBe(false);
    stop.abort();
    expect(await held).toBe('stopped');
    expect(table.lease!.spec).toMatchObject({ holderIdentity: null, leaseDurationSeconds: 1 });
    await new Promise((r) => setTimeout(r, 1_050));
    expect(await b.tryAcquireOrRenew()).toBe(true);
  });

  it('refuses inconsistent periods', () => {
    expect(() => elector(new LeaseTable(), 'a', { t: 0 }, { leaseDurationMs: 5_000 })).toThrow(/leaseDuration > renewDeadline > retryPeriod/);
  });
});
