/**
 * The agent reading VtepGroups itself (VtepNodeState `groupsFrom:
 * VtepGroups`), end to end: a real kube-apiserver + etcd with the chart's
 * RBAC and admission policy, a hand-written VtepNodeState (no operator: the
 * agent's side alone), VtepGroups and the Node's labels; the agent as a
 * process in a private network namespace (real kernel) programming a
 * sandboxed ovs-vswitchd, with a service-account token bound to a Pod on its
 * node. Checked with kubectl, iproute2 and ovs-ofctl.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlPlane, missingControlPlane } from '../../harness/kube.js';
import { chartDir, helm } from '../../harness/helm.js';
import { KERNEL_TOOLS, OVS_TOOLS, missingPrerequisites } from '../../harness/prereq.js';
import { bucketsOfLine, sharesMatch, type BucketLike } from '../../harness/slots.js';
import { AgentLab } from '../agent/lab.js';
import { eventually } from '../operator/operator-process.js';
import { apply, createNode, getJson, groupYaml } from '../operator/objects.js';
import { KubeAgentProcess } from './agent-process.js';
import { ApiserverRelay } from './apiserver-relay.js';
import { nodeStateJson } from './node-state.js';

const skip = missingPrerequisites([...KERNEL_TOOLS, ...OVS_TOOLS, 'curl']) ?? missingControlPlane();
const NS = 'evpn-system';
const AGENT_SA = 'evpn-evpn-ecmp-agent';
const NODE = 'node-a';
const MAC = (n: number) => `02:00:00:00:00:${n.toString(16).padStart(2, '0')}`;

/** The VtepNodeState the operator writes when the agent reads the groups itself: settings, no groups. */
const NODE_STATE = nodeStateJson(NODE, { groupsFrom: 'VtepGroups' });

interface GroupStatus {
  name: string;
  state: string;
  appliedGeneration?: number;
  message?: string;
  nexthopGroupId?: number;
  ofGroupId?: number;
  macs?: number;
}

describe.skipIf(skip)('agent reading VtepGroups (apiserver, kernel, OVS; no operator)', () => {
  let cp: ControlPlane;
  let lab: AgentLab;
  let relay: ApiserverRelay;
  let agent: KubeAgentProcess;
  let kubeconfig = '';

  const vns = () => getJson(cp, 'vns', NODE);
  const groupsOf = (v: Record<string, any>) => (v.status?.groups ?? []) as GroupStatus[];
  const ready = (v: Record<string, any>) => (v.status?.conditions as Array<{ type: string; status: string }> | undefined)?.find((c) => c.type === 'Ready')?.status === 'True';
  const generationOf = async (group: string) => (await getJson(cp, 'vg', group)).metadata.generation as number;

  /** MAC → nhid of the ECMP entries on a VNI's device, as `bridge fdb` shows them. */
  async function kernelMacs(vni: number): Promise<Map<string, number>> {
    const entries = await lab.ns.bridgeJson<{ mac: string; nhid?: number }>('fdb', 'show', 'dev', `evpn-${vni}`);
    return new Map(entries.filter((e) => e.nhid !== undefined).map((e) => [e.mac, e.nhid!]));
  }

  async function selectGroups(): Promise<Array<{ id: number; buckets: BucketLike[] }>> {
    return (await lab.dumpGroups()).flatMap((line) => {
      const id = /group_id=(\d+)/.exec(line);
      return id && line.includes('type=select') ? [{ id: Number(id[1]), buckets: bucketsOfLine(line) }] : [];
    });
  }

  /** Waits for the node's status to satisfy `check`; the error shows the status and the agent's log. */
  async function statusWhere(what: string, check: (v: Record<string, any>) => boolean, timeoutMs = 30_000): Promise<Record<string, any>> {
    let last: Record<string, any> = {};
    return eventually(what, async () => {
      last = await vns();
      return check(last) ? last : undefined;
    }, timeoutMs, 100).catch((err: Error) => {
      throw new Error(`${err.message}\nstatus: ${JSON.stringify(last.status, null, 1)}\nagent log:\n${agent.tail(40)}`);
    });
  }

  beforeAll(async () => {
    cp = await ControlPlane.start({ crds: true });
    await cp.kubectl('create', 'namespace', NS);
    await helm(['install', 'evpn', chartDir, '--namespace', NS], { kubeconfig: cp.kubeconfigPath });
    await createNode(cp, NODE, '192.0.2.1', { rack: 'r1' });
    kubeconfig = (await cp.nodeBoundCredentials(NODE, AGENT_SA, NS)).kubeconfigPath;
    lab = new AgentLab({ vteps: ['198.51.100.2', '198.51.100.3', '198.51.100.4', '198.51.100.5'], vnis: [100, 200] });
    await lab.setup();
    relay = await ApiserverRelay.start(lab.ns, cp.server);
    await cp.kubectlInput(NODE_STATE, 'create', '-f', '-');
    agent = KubeAgentProcess.start(lab.ns, { node: NODE, kubeconfig, ovsRundir: lab.ovs.rundir });
  }, 240_000);

  afterAll(async () => {
    const code = agent ? await agent.stop() : 0;
    // SIGKILLed after the grace period shows as code null: the log says where shutdown hung.
    const log = code === 0 ? '' : agent.tail(15);
    await relay?.stop();
    await lab?.teardown();
    await cp?.stop();
    expect(code, `the agent exits 0 on SIGTERM; its last lines:\n${log}`).toBe(0);
  }, 90_000);

  it('programs the VtepGroups that select its node, not the others; status shows each at its VtepGroup\'s generation', async () => {
    await apply(cp, groupYaml('web', 100, [MAC(1), MAC(2)], [{ ip: '198.51.100.2', weight: 3 }, { ip: '198.51.100.3' }]));
    await apply(cp, groupYaml('rack1', 200, [MAC(3)], [{ ip: '198.51.100.4' }], '  nodeSelector: {matchLabels: {rack: r1}}'));
    await apply(cp, groupYaml('rack2', 200, [MAC(4)], [{ ip: '198.51.100.5' }], '  nodeSelector: {matchLabels: {rack: r2}}'));
    await apply(cp, groupYaml('elsewhere', 100, [MAC(5)], [{ ip: '198.51.100.5' }]).replace('fabric: default', 'fabric: other'));
    // A second write of web: the node carries generation 2.
    await cp.kubectl('patch', 'vg', 'web', '--type=merge', '-p', JSON.stringify({ spec: { macs: [MAC(1), MAC(2), MAC(6)] } }));

    const v = await statusWhere('Ready with web and rack1 Programmed', (s) => ready(s) && ['web', 'rack1'].every((n) => groupsOf(s).find((g) => g.name === n)?.state === 'Programmed'));
    expect(groupsOf(v).map((g) => g.name)).toEqual(['rack1', 'web']);
    expect(groupsOf(v).find((g) => g.name === 'web')).toMatchObject({ appliedGeneration: await generationOf('web'), macs: 3 });
    expect(await generationOf('web')).toBe(2);
    expect(groupsOf(v).find((g) => g.name === 'rack1')?.appliedGeneration).toBe(1);
    expect(v.status.groupDetail).toBe('Full');
    expect(v.status.observedGeneration).toBe(v.metadata.generation);

    const k100 = await kernelMacs(100);
    expect([...k100.keys()].sort()).toEqual([MAC(1), MAC(2), MAC(6)]);
    expect([...(await kernelMacs(200)).keys()]).toEqual([MAC(3)]);
    const web = groupsOf(v).find((g) => g.name === 'web')!;
    expect(k100.get(MAC(1))).toBe(web.nexthopGroupId);
    const of = (await selectGroups()).find((g) => g.id === web.ofGroupId);
    expect(of && sharesMatch(of.buckets, [{ vtep: '198.51.100.2', weight: 3 }, { vtep: '198.51.100.3', weight: 1 }])).toBe(true);
    expect(await agent.metric('evpn_agent_vtepgroups', { set: 'fabric' })).toBe(3);
    expect(await agent.metric('evpn_agent_vtepgroups', { set: 'node' })).toBe(2);
    expect(await agent.metric('evpn_agent_status_write_errors_total')).toBe(0);
  }, 120_000);

  it('a weight change is one VtepGroup write: the same kernel and OVS group change in place', async () => {
    const before = groupsOf(await vns()).find((g) => g.name === 'web')!;
    const modsBefore = await agent.metric('evpn_agent_openflow_group_mods_total', { command: 'modify' });
    const flowsBefore = await agent.metric('evpn_agent_openflow_flow_mods_total');
    await cp.kubectl('patch', 'vg', 'web', '--type=merge', '-p', JSON.stringify({ spec: { vteps: [{ ip: '198.51.100.2', weight: 1 }, { ip: '198.51.100.3', weight: 3 }] } }));
    const v = await statusWhere('web at generation 3', (s) => groupsOf(s).find((g) => g.name === 'web')?.appliedGeneration === 3 && ready(s));
    const web = groupsOf(v).find((g) => g.name === 'web')!;
    expect([web.nexthopGroupId, web.ofGroupId]).toEqual([before.nexthopGroupId, before.ofGroupId]);
    const of = (await selectGroups()).find((g) => g.id === web.ofGroupId)!;
    expect(sharesMatch(of.buckets, [{ vtep: '198.51.100.2', weight: 1 }, { vtep: '198.51.100.3', weight: 3 }])).toBe(true);
    expect(await agent.metric('evpn_agent_openflow_group_mods_total', { command: 'modify' })).toBeGreaterThan(modsBefore);
    expect(await agent.metric('evpn_agent_openflow_flow_mods_total')).toBe(flowsBefore);
  }, 60_000);

  it('a Node label change moves groups on and off the node', async () => {
    const rack1 = groupsOf(await vns()).find((g) => g.name === 'rack1')!;
    expect((await selectGroups()).map((g) => g.id)).toContain(rack1.ofGroupId);
    await cp.kubectl('label', 'node', NODE, 'rack=r2', '--overwrite');
    const moved = await statusWhere('rack2 Programmed, rack1 gone', (s) => ready(s) && groupsOf(s).find((g) => g.name === 'rack2')?.state === 'Programmed' && !groupsOf(s).some((g) => g.name === 'rack1'));
    expect([...(await kernelMacs(200)).keys()]).toEqual([MAC(4)]);
    const rack2 = groupsOf(moved).find((g) => g.name === 'rack2')!;
    const ofAfterMove = await selectGroups();
    expect(ofAfterMove.map((g) => g.id)).not.toContain(rack1.ofGroupId);
    const rack2Of = ofAfterMove.find((g) => g.id === rack2.ofGroupId);
    expect(rack2Of && sharesMatch(rack2Of.buckets, [{ vtep: '198.51.100.5', weight: 1 }])).toBe(true);
    expect(await agent.metric('evpn_agent_vtepgroups', { set: 'node' })).toBe(2);
    await cp.kubectl('label', 'node', NODE, 'rack-');
    await statusWhere('no rack group', (s) => ready(s) && !groupsOf(s).some((g) => g.name.startsWith('rack')));
    expect([...(await kernelMacs(200)).keys()]).toEqual([]);
    expect((await selectGroups()).map((g) => g.id)).not.toContain(rack2.ofGroupId);
    expect(await agent.metric('evpn_agent_vtepgroups', { set: 'node' })).toBe(1);
  }, 60_000);

  it('a group whose VTEPs the node cannot use is Invalid; the others program', async () => {
    // Admitted (a valid IPv6 VTEP), but this node's VTEP is IPv4: the per-node check refuses it.
    await apply(cp, groupYaml('v6', 100, [MAC(7)], [{ ip: '2001:db8::2' }]));
    await apply(cp, groupYaml('fine', 100, [MAC(8)], [{ ip: '198.51.100.4' }]));
    const v = await statusWhere('v6 Invalid, fine Programmed', (s) => groupsOf(s).find((g) => g.name === 'v6')?.state === 'Invalid' && groupsOf(s).find((g) => g.name === 'fine')?.state === 'Programmed');
    expect(groupsOf(v).find((g) => g.name === 'v6')?.message).toMatch(/^InvalidSpec: vteps: VTEPs are IPv6 but the local VTEP 192\.0\.2\.1 is IPv4/);
    expect((v.status.conditions as Array<{ type: string; status: string; reason: string }>).find((c) => c.type === 'Degraded')).toMatchObject({ status: 'True', reason: 'GroupsInvalid' });
    const k100 = await kernelMacs(100);
    expect(k100.has(MAC(8))).toBe(true);
    expect(k100.has(MAC(7))).toBe(false);
    await cp.kubectl('delete', 'vg', 'v6');
  }, 60_000);

  it('a deleted group is withdrawn; one held by a finalizer is withdrawn as soon as its deletion starts', async () => {
    const fine = groupsOf(await vns()).find((g) => g.name === 'fine')!;
    const nexthopsOfFine = async () => ((await lab.ns.ipJson<{ id: number }>('nexthop', 'show')).filter((n) => n.id === fine.nexthopGroupId));
    expect(await nexthopsOfFine()).toHaveLength(1);
    await cp.kubectl('delete', 'vg', 'fine');
    await statusWhere('fine gone', (s) => ready(s) && !groupsOf(s).some((g) => g.name === 'fine'));
    expect((await kernelMacs(100)).has(MAC(8))).toBe(false);
    expect(await nexthopsOfFine()).toEqual([]);
    expect((await selectGroups()).map((g) => g.id)).not.toContain(fine.ofGroupId);

    await apply(cp, groupYaml('held', 100, [MAC(9)], [{ ip: '198.51.100.5' }]).replace('metadata: {name: held}', 'metadata: {name: held, finalizers: [test.evpn.ecmp.dev/hold]}'));
    await statusWhere('held Programmed', (s) => groupsOf(s).find((g) => g.name === 'held')?.state === 'Programmed');
    expect((await kernelMacs(100)).has(MAC(9))).toBe(true);
    await cp.kubectl('delete', 'vg', 'held', '--wait=false');
    try {
      await statusWhere('held withdrawn', (s) => ready(s) && !groupsOf(s).some((g) => g.name === 'held'));
      expect((await getJson(cp, 'vg', 'held')).metadata.deletionTimestamp).toBeDefined();
      expect((await kernelMacs(100)).has(MAC(9))).toBe(false);
    } finally {
      await cp.kubectl('patch', 'vg', 'held', '--type=merge', '-p', '{"metadata":{"finalizers":null}}');
    }
  }, 60_000);

  it('a restarted agent adopts what the kernel and OVS hold: no kernel write, no OVS change, no status write', async () => {
    const settled = await statusWhere('Ready', (s) => ready(s) && groupsOf(s).every((g) => g.state === 'Programmed'));
    let writes = -1;
    await eventually('status writes settled', async () => {
      const now = await agent.metric('evpn_agent_status_writes_total');
      const same = now === writes;
      writes = now;
      return same;
    }, 30_000, 2_500);
    const kernelBefore = { nexthops: await lab.ns.ipJson('nexthop', 'show'), fdb: [...(await kernelMacs(100))] };
    const ovsBefore = await lab.dumpGroups();
    expect(await agent.stop()).toBe(0);
    agent = KubeAgentProcess.start(lab.ns, { node: NODE, kubeconfig, ovsRundir: lab.ovs.rundir });
    await eventually('the new agent ready', async () => {
      const { stdout } = await lab.ns.exec('curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', 'http://127.0.0.1:18081/readyz').catch(() => ({ stdout: '' }));
      return stdout === '200';
    }, 30_000);
    await new Promise((r) => setTimeout(r, 4_000));
    expect(await agent.metric('evpn_agent_kernel_writes_total')).toBe(0);
    expect(await agent.metric('evpn_agent_openflow_group_mods_total')).toBe(0);
    expect(await agent.metric('evpn_agent_openflow_flow_mods_total')).toBe(0);
    expect(await agent.metric('evpn_agent_status_writes_total')).toBe(0);
    expect({ nexthops: await lab.ns.ipJson('nexthop', 'show'), fdb: [...(await kernelMacs(100))] }).toEqual(kernelBefore);
    expect(await lab.dumpGroups()).toEqual(ovsBefore);
    expect((await vns()).metadata.resourceVersion).toBe(settled.metadata.resourceVersion);
    expect(await agent.metric('evpn_agent_lists_total', { resource: 'vtepgroups' })).toBe(1);
    expect(await agent.metric('evpn_agent_lists_total', { resource: 'nodes' })).toBe(1);
  }, 90_000);

  it('with the apiserver stopped the groups keep running; cut off from a running apiserver, the changes made meanwhile arrive once it is back', async () => {
    const webBefore = groupsOf(await vns()).find((g) => g.name === 'web')!;
    await cp.stopApiserver();
    try {
      await eventually('evpn_agent_apiserver_up 0', async () => (await agent.metric('evpn_agent_apiserver_up')) === 0, 20_000);
      await new Promise((r) => setTimeout(r, 5_000));
      expect(agent.running).toBe(true);
      expect([...(await kernelMacs(100)).keys()].sort()).toEqual([MAC(1), MAC(2), MAC(6)]);
      expect((await selectGroups()).map((g) => g.id)).toContain(webBefore.ofGroupId);
    } finally {
      await cp.restartApiserver();
    }
    await eventually('evpn_agent_apiserver_up 1', async () => (await agent.metric('evpn_agent_apiserver_up')) === 1, 40_000);

    // A partition: the agent cannot reach the apiserver, others change the groups.
    relay.cut();
    try {
      await cp.kubectl('patch', 'vg', 'web', '--type=merge', '-p', JSON.stringify({ spec: { vteps: [{ ip: '198.51.100.2', weight: 5 }, { ip: '198.51.100.3', weight: 1 }] } }));
      await apply(cp, groupYaml('late', 200, [MAC(10)], [{ ip: '198.51.100.4' }, { ip: '198.51.100.5' }]));
      await cp.kubectl('delete', 'vg', 'rack2');
      await new Promise((r) => setTimeout(r, 3_000));
      // Not seen yet: nothing changed on the node.
      expect((await kernelMacs(200)).has(MAC(10))).toBe(false);
    } finally {
      relay.heal();
    }
    const v = await statusWhere('the changes made while cut off', (s) => ready(s) && groupsOf(s).find((g) => g.name === 'web')?.appliedGeneration === 4 && groupsOf(s).find((g) => g.name === 'late')?.state === 'Programmed', 60_000);
    const web = groupsOf(v).find((g) => g.name === 'web')!;
    expect(web.ofGroupId).toBe(webBefore.ofGroupId);
    const of = (await selectGroups()).find((g) => g.id === web.ofGroupId)!;
    expect(sharesMatch(of.buckets, [{ vtep: '198.51.100.2', weight: 5 }, { vtep: '198.51.100.3', weight: 1 }])).toBe(true);
    expect([...(await kernelMacs(200)).keys()]).toEqual([MAC(10)]);
    expect(agent.running).toBe(true);
  }, 180_000);
});
