/**
 * Status that cannot lie (issue 18): an agent that stops renewing its
 * heartbeat Lease makes its node not Ready in `kubectl get vns` within the
 * Lease's duration (three of its intervals), and not ready in the VtepGroup
 * and EvpnFabric roll-ups, whatever its last status said. A real
 * kube-apiserver and the operator as a process; the agents are played by
 * the test (their Lease renewals and status writes), as in operator.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlPlane, missingControlPlane } from '../../harness/kube.js';
import { KubeApiError, KubeClient, ResourceApi } from '../../../src/operator/kube/client.js';
import { OperatorProcess, eventually } from './operator-process.js';
import { FABRIC, Heartbeats, apply, createNode, eventsFor, getJson, groupYaml, readyColumn, reportProgrammed } from './objects.js';

const skip = missingControlPlane();
/** The played agents renew every 500 ms and promise the next renewal within 2 s. */
const LEASE_SECONDS = 2;
const RENEW_MS = 500;

describe.skipIf(skip)('operator: agents that stop reporting', () => {
  let cp: ControlPlane;
  let op: OperatorProcess;
  let heartbeats: Heartbeats;
  const alive = new Map<string, () => Promise<void>>();

  const keepAlive = (node: string) => alive.set(node, heartbeats.keepAlive(node, LEASE_SECONDS, RENEW_MS));
  const stop = async (node: string) => {
    await alive.get(node)?.();
    alive.delete(node);
  };
  const ready = async (node: string) => {
    const vns = await getJson(cp, 'vns', node);
    return (vns.status?.conditions as Array<{ type: string; status: string; reason: string; message: string }> | undefined)?.find((c) => c.type === 'Ready');
  };
  /** `kubectl get vns NODE`: NAME READY GROUPS PATHS MACS INVALID OVS REPORTED AGE */
  const row = async (node: string) => (await cp.kubectl('get', 'vns', node, '--no-headers')).stdout.trim().split(/\s+/);

  beforeAll(async () => {
    cp = await ControlPlane.start({ crds: true });
    heartbeats = new Heartbeats(cp);
    op = await OperatorProcess.start(cp, ['--agent-grace-period', '3s']);
    await apply(cp, FABRIC);
    await apply(cp, groupYaml('web', 100, ['02:00:00:00:00:aa'], [{ ip: '198.51.100.2' }]));
    for (const [n, ip] of [['node-a', '192.0.2.1'], ['node-b', '192.0.2.2']] as const) {
      await createNode(cp, n, ip, { evpn: 'on' });
      keepAlive(n);
    }
    await eventually('VtepNodeStates for node-a and node-b', async () => (await getJson(cp, 'vns')).items.length === 2);
    for (const n of ['node-a', 'node-b']) await reportProgrammed(cp, n, undefined, LEASE_SECONDS);
    await eventually('web 2/2', async () => (await readyColumn(cp, 'vg', 'web')) === '2/2');
    await eventually('fabric 2/2', async () => (await readyColumn(cp, 'ef', 'default')) === '2/2');
  }, 180_000);

  afterAll(async () => {
    for (const n of [...alive.keys()]) await stop(n);
    heartbeats?.close();
    await op?.stop();
    await cp?.stop();
  }, 60_000);

  it('keeps nodes whose agents renew Ready, however long nothing else changes', async () => {
    await new Promise((r) => setTimeout(r, 3 * LEASE_SECONDS * 1000));
    expect((await ready('node-a'))?.status).toBe('True');
    expect((await ready('node-b'))?.status).toBe('True');
    expect(await op.counter('evpn_operator_agents_not_reporting')).toBe(0);
  });

  it('marks a node whose agent stopped renewing Unknown within the Lease duration, and counts it out of the roll-ups', async () => {
    const before = await row('node-b');
    expect(before.slice(0, 2)).toEqual(['node-b', 'True']);
    await stop('node-b');
    const stoppedAt = Date.now();
    const c = await eventually('node-b Ready=Unknown', async () => {
      const r = await ready('node-b');
      return r?.status === 'Unknown' ? r : undefined;
    }, 20_000, 100);
    const elapsed = Date.now() - stoppedAt;
    process.stdout.write(`liveness: node-b marked not reporting ${elapsed} ms after its renewals stopped (Lease duration ${LEASE_SECONDS} s)\n`);
    // The last renewal came at most RENEW_MS before the stop; the operator must see the silence within the Lease duration (+ watch and write latency).
    expect(elapsed).toBeLessThanOrEqual(LEASE_SECONDS * 1000 + 1_500);
    expect(c.reason).toBe('AgentNotReporting');
    expect(c.message).toMatch(/has not renewed its heartbeat Lease default\/node-b/);

    // What a user sees: READY and OVS Unknown; the rest is the agent's last word.
    const after = await row('node-b');
    expect(after[1]).toBe('Unknown');
    expect(after[6]).toBe('Unknown');
    expect(after.slice(2, 6)).toEqual(before.slice(2, 6));

    await eventually('web 1/2', async () => (await readyColumn(cp, 'vg', 'web')) === '1/2', 10_000, 100);
    const web = await getJson(cp, 'vg', 'web');
    expect(web.status.conditions.find((x: { type: string }) => x.type === 'Ready')).toMatchObject({ status: 'False', reason: 'AgentNotReporting' });
    await eventually('fabric 1/2', async () => (await readyColumn(cp, 'ef', 'default')) === '1/2', 10_000, 100);
    expect((await ready('node-a'))?.status).toBe('True');
    const events = await eventually('an AgentNotReporting Event', async () => {
      const ev = await eventsFor(cp, 'VtepNodeState', 'node-b');
      return ev.find((e) => e.reason === 'AgentNotReporting');
    });
    expect(events.type).toBe('Warning');
    expect(await op.counter('evpn_operator_agents_not_reporting')).toBe(1);
  }, 60_000);

  it('marks once: no further writes while the agent stays silent', async () => {
    const rv = (await getJson(cp, 'vns', 'node-b')).metadata.resourceVersion as string;
    await new Promise((r) => setTimeout(r, 3_000));
    expect((await getJson(cp, 'vns', 'node-b')).metadata.resourceVersion).toBe(rv);
  });

  it('counts the node again once its agent renews and reports', async () => {
    keepAlive('node-b');
    // The agent, back, finds its status overwritten and writes it again.
    await reportProgrammed(cp, 'node-b', undefined, LEASE_SECONDS);
    await eventually('node-b Ready=True', async () => (await ready('node-b'))?.status === 'True', 10_000, 100);
    await eventually('web 2/2 again', async () => (await readyColumn(cp, 'vg', 'web')) === '2/2', 10_000, 100);
    await eventually('fabric 2/2 again', async () => (await readyColumn(cp, 'ef', 'default')) === '2/2', 10_000, 100);
    expect(await op.counter('evpn_operator_agents_not_reporting')).toBe(0);
    expect((await eventsFor(cp, 'VtepNodeState', 'node-b')).some((e) => e.reason === 'AgentReporting')).toBe(true);
  }, 30_000);

  it('marks a node whose agent never renewed a Lease after the grace period', async () => {
    await createNode(cp, 'node-c', '192.0.2.3', { evpn: 'on' });
    const c = await eventually('node-c Ready=Unknown', async () => {
      const r = await ready('node-c');
      return r?.status === 'Unknown' ? r : undefined;
    }, 20_000, 200);
    expect(c.reason).toBe('AgentNotReporting');
    expect(c.message).toMatch(/no heartbeat Lease node-c/);
    expect((await row('node-c'))[1]).toBe('Unknown');
    await eventually('fabric 2/3', async () => (await readyColumn(cp, 'ef', 'default')) === '2/3', 10_000, 100);
  }, 30_000);

  it('the mark is written only over the status it judged: a status patch with an older resourceVersion is refused (409)', async () => {
    // What keeps the operator from overwriting a status the agent wrote just after the verdict.
    const client = new KubeClient(cp.kubeConfig);
    try {
      const api = new ResourceApi<{ metadata: { name: string } }>(client, '/apis/evpn.ecmp.dev/v1alpha1', 'vtepnodestates');
      const vns = await getJson(cp, 'vns', 'node-a');
      await reportProgrammed(cp, 'node-a', undefined, LEASE_SECONDS); // the agent writes meanwhile
      const err = await api.patchStatus('node-a', { conditions: [] }, 'evpn-ecmp-operator', vns.metadata.resourceVersion as string).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(KubeApiError);
      expect((err as KubeApiError).status).toBe(409);
      expect((await ready('node-a'))?.status).toBe('True');
    } finally {
      client.close();
    }
  });

  it('a restarted operator does not flap the nodes whose agents kept renewing', async () => {
    await op.stop();
    // Longer than the Lease duration: a naive operator would compare old renewTimes with its clock.
    await new Promise((r) => setTimeout(r, LEASE_SECONDS * 1000 + 1_000));
    const rv = (await getJson(cp, 'vns', 'node-a')).metadata.resourceVersion as string;
    op = await OperatorProcess.start(cp, ['--agent-grace-period', '3s']);
    await eventually('operator ready', async () => (await fetch(`${op.healthUrl}/readyz`)).status === 200);
    await new Promise((r) => setTimeout(r, LEASE_SECONDS * 1000 + 1_000));
    expect((await ready('node-a'))?.status).toBe('True');
    expect((await getJson(cp, 'vns', 'node-a')).metadata.resourceVersion).toBe(rv);
  }, 60_000);
});
