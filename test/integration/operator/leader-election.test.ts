/**
 * Two operator processes against one apiserver: one holds the Lease and
 * reconciles, the other waits; killing the leader (no release, as in a
 * crash) hands over within the lease duration; a clean SIGTERM releases the
 * Lease so the standby takes over at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlPlane, missingControlPlane } from '../../harness/kube.js';
import { OperatorProcess, eventually } from './operator-process.js';
import { FABRIC, apply, createNode, find, getJson } from './objects.js';

const skip = missingControlPlane();
const LEASE_SECONDS = 15;

describe.skipIf(skip)('operator leader election', () => {
  let cp: ControlPlane;
  const procs: OperatorProcess[] = [];
  const start = async () => {
    const p = await OperatorProcess.start(cp, ['--leader-elect', '--leader-elect-namespace', 'default']);
    procs.push(p);
    return p;
  };
  const identity = async (p: OperatorProcess) => String((await p.waitForLog((l) => l.msg === 'operator starting'))[0]!.identity);
  const holder = async () => String((await getJson(cp, 'lease', '-n', 'default', 'evpn-ecmp-operator')).spec.holderIdentity ?? '');
  const leads = (p: OperatorProcess) => p.lines.some((l) => l.msg === 'became leader');

  beforeAll(async () => {
    cp = await ControlPlane.start();
    await cp.applyCrds();
    await apply(cp, FABRIC);
  }, 180_000);

  afterAll(async () => {
    for (const p of procs) await p.kill();
    await cp?.stop();
  }, 60_000);

  it('one leads, the other takes over within the lease time when the leader is killed', async () => {
    const first = await start();
    await first.waitForLog((l) => l.msg === 'became leader', 30_000);
    const second = await start();
    await second.waitForLog((l) => l.msg === 'waiting for leadership');
    expect(await holder()).toBe(await identity(first));

    // Only the leader reconciles.
    await createNode(cp, 'node-1', '192.0.2.1', { evpn: 'on' });
    await eventually('node-1 spec', async () => (await find(cp, 'vns', 'node-1')) !== undefined);
    await eventually('metrics show the roles', async () =>
      (await first.counter('evpn_operator_leader')) === 1 && (await second.counter('evpn_operator_leader')) === 0);
    expect(await second.counter('evpn_operator_api_requests_total', { resource: 'vtepnodestates', verb: 'apply' })).toBe(0);
    // Both are ready (caches synced): a standby takes over warm.
    expect((await fetch(`${second.healthUrl}/readyz`)).status).toBe(200);
    expect(leads(second)).toBe(false);

    const killedAt = Date.now();
    await first.kill();
    await second.waitForLog((l) => l.msg === 'became leader', (LEASE_SECONDS + 10) * 1000);
    const takeover = (Date.now() - killedAt) / 1000;
    expect(takeover).toBeLessThanOrEqual(LEASE_SECONDS + 4); // lease duration + one retry period + slack for a loaded machine
    expect(await holder()).toBe(await identity(second));
    const lease = await getJson(cp, 'lease', '-n', 'default', 'evpn-ecmp-operator');
    expect(lease.spec.leaseTransitions).toBe(1);
    expect(lease.spec.leaseDurationSeconds).toBe(LEASE_SECONDS);

    // The new leader reconciles.
    await createNode(cp, 'node-2', '192.0.2.2', { evpn: 'on' });
    await eventually('node-2 spec from the new leader', async () => (await find(cp, 'vns', 'node-2')) !== undefined);
  }, 120_000);

  it('a leader stopped with SIGTERM releases the Lease and the standby takes over at once', async () => {
    const leader = procs.find((p) => p.running && leads(p))!;
    const standby = await start();
    await standby.waitForLog((l) => l.msg === 'waiting for leadership');
    await new Promise((r) => setTimeout(r, 2_500)); // let the standby observe the held Lease
    const stoppedAt = Date.now();
    expect(await leader.stop()).toBe(0);
    expect(leader.lines.some((l) => l.msg === 'released leadership')).toBe(true);
    await standby.waitForLog((l) => l.msg === 'became leader', 10_000);
    expect((Date.now() - stoppedAt) / 1000).toBeLessThan(6); // far below the 15 s lease
    await createNode(cp, 'node-3', '192.0.2.3', { evpn: 'on' });
    await eventually('node-3 spec', async () => (await find(cp, 'vns', 'node-3')) !== undefined);
  }, 120_000);
});
