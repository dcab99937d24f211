import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KERNEL_TOOLS, OVS_TOOLS, missingPrerequisites } from '../../harness/prereq.js';
import { macString, udpIpv4Frame } from '../../harness/packet.js';
import { AgentLab, metricValue } from './lab.js';
import { bucketsOfLine, expectWeightShares, vtepShares } from '../../harness/slots.js';

const skip = missingPrerequisites([...KERNEL_TOOLS, ...OVS_TOOLS]);

const A = ['192.0.2.11', '192.0.2.12'];
const B = ['192.0.2.21', '192.0.2.22', '192.0.2.23', '192.0.2.24'];
const macA = '02:00:00:00:00:aa';
const macB = '02:00:00:00:00:bb';

interface NexthopJson { id: number; gateway?: string; group?: Array<{ id: number; weight?: number }>; fdb?: null; protocol?: string }
interface FdbJson { mac: string; nhid?: number; ifname?: string; flags?: string[]; state?: string }

describe.skipIf(skip)('agent: state file to kernel, OVS and traffic', () => {
  let lab: AgentLab;
  beforeEach(async () => {
    lab = new AgentLab({ vteps: [...A, ...B] });
    await lab.setup();
  });
  afterEach(async () => {
    await lab.teardown();
  });

  it('programs two weighted groups (3:1 and 1:1:1:1) and traffic follows the weights', async () => {
    lab.writeState([
      { name: 'web', vni: 100, vteps: [{ ip: A[0]!, weight: 3 }, { ip: A[1]!, weight: 1 }], macs: [macA] },
      { name: 'db', vni: 100, vteps: B.map((ip) => ({ ip, weight: 1 })), macs: [macB] },
    ]);
    lab.startAgent(['--debug-endpoints']);
    const status = await lab.waitReady(1);

    // Kernel: fdb nexthops with our protocol, groups with the weights, FDB entries with nhid.
    const nexthops = await lab.ns.ipJson<NexthopJson>('nexthop', 'show');
    const byId = new Map(nexthops.map((n) => [n.id, n]));
    const web = status.groups!.find((g) => g.name === 'web')!;
    const db = status.groups!.find((g) => g.name === 'db')!;
    expect(web.state).toBe('Programmed');
    expect(db.state).toBe('Programmed');
    const webGroup = byId.get(web.nexthopGroupId!)!;
    expect(webGroup.fdb).toBeNull();
    const weights = new Map(webGroup.group!.map((m) => [byId.get(m.id)!.gateway, m.weight ?? 1]));
    expect(weights).toEqual(new Map([[A[0], 3], [A[1], 1]]));
    expect(byId.get(db.nexthopGroupId!)!.group).toHaveLength(4);
    for (const n of nexthops) expect(n.id).toBeGreaterThanOrEqual(3959422976);
    const fdb = await lab.ns.bridgeJson<FdbJson>('fdb', 'show', 'dev', 'evpn-100');
    expect(fdb.find((e) => e.mac === macA)?.nhid).toBe(web.nexthopGroupId);
    expect(fdb.find((e) => e.mac === macB)?.nhid).toBe(db.nexthopGroupId);

    // OVS: one select group per nexthop group with the weights and tunnel destinations, one flow per MAC.
    const groups = await lab.dumpGroups();
    expect(groups).toHaveLength(2);
    const webOf = groups.find((g) => g.includes(`group_id=${web.ofGroupId},`))!;
    expect(webOf).toContain('type=select');
    expect(webOf).toContain('selection_method=dp_hash');
    // 3:1 as 16 hash slots of equal weight: 12 to the first VTEP, 4 to the second.
    const webBuckets = bucketsOfLine(webOf);
    expect(webBuckets).toHaveLength(16);
    expect(vtepShares(webBuckets)).toEqual(new Map([[A[0], 0.75], [A[1], 0.25]]));
    expectWeightShares(bucketsOfLine(groups.find((g) => g.includes(`group_id=${db.ofGroupId},`))!), B.map((ip) => ({ vtep: ip, weight: 1 })));
    const flows = await lab.dumpFlows();
    expect(flows.filter((f) => f.includes(`dl_dst=${macA}`))).toHaveLength(1);
    expect(flows.find((f) => f.includes(`dl_dst=${macA}`))).toContain(`group:${web.ofGroupId}`);

    // Traffic: 200 flows to macA leave the underlay NIC as VXLAN, VNI 100, spread 3:1.
    const n = 200;
    for (let i = 0; i < n; i++) {
      const frame = udpIpv4Frame({ srcMac: '02:00:00:00:01:01', dstMac: macA, srcIp: '10.0.0.1', dstIp: '10.0.0.2', srcPort: 10_000 + i, dstPort: 80 });
      await lab.ovs.receive('p100', frame.toString('hex'));
    }
    const frames = await lab.underlay.waitForVxlanFrames(n);
    expect(frames).toHaveLength(n);
    for (const f of frames) {
      expect(f.vni).toBe(100);
      expect(f.outerSrcIp).toBe('192.0.2.1');
      expect(macString(f.inner, 0)).toBe(macA);
    }
    const first = frames.filter((f) => f.outerDstIp === A[0]).length;
    const second = frames.filter((f) => f.outerDstIp === A[1]).length;
    expect(first + second).toBe(n);
    expect(first / n).toBeGreaterThan(0.6);
    expect(first / n).toBeLessThan(0.9);

    // The per-bucket counters, summed per VTEP, agree with what left the NIC.
    await lab.ovs.settleStats();
    const { stdout } = await lab.ovs.ofctl('dump-group-stats', 'br-evpn', `group_id=${web.ofGroupId}`);
    const perVtep = new Map<string, number>();
    for (const m of stdout.matchAll(/bucket(\d+):packet_count=(\d+)/g)) {
      const vtep = webBuckets[Number(m[1])]!.tunDst;
      perVtep.set(vtep, (perVtep.get(vtep) ?? 0) + Number(m[2]));
    }
    expect(perVtep).toEqual(new Map([[A[0], first], [A[1], second]]));

    // The 4-way group spreads too.
    for (let i = 0; i < n; i++) {
      const frame = udpIpv4Frame({ srcMac: '02:00:00:00:01:01', dstMac: macB, srcIp: '10.0.0.1', dstIp: '10.0.0.3', srcPort: 20_000 + i, dstPort: 80 });
      await lab.ovs.receive('p100', frame.toString('hex'));
    }
    const toB = (await lab.underlay.waitForVxlanFrames(2 * n)).filter((f) => macString(f.inner, 0) === macB);
    expect(toB).toHaveLength(n);
    for (const ip of B) expect(toB.filter((f) => f.outerDstIp === ip).length).toBeGreaterThan(20);

    // Status file, readiness and metrics.
    expect(status.summary).toEqual({ groups: 2, paths: 6, macs: 2, invalid: 0 });
    expect((await lab.http('/readyz')).code).toBe(200);
    const metrics = await lab.metrics();
    expect(metricValue(metrics, 'evpn_agent_programmed', { kind: 'groups' })).toBe(2);
    expect(metricValue(metrics, 'evpn_agent_programmed', { kind: 'paths' })).toBe(6);
    // 3:1 → 16 slots; four equal → 16.
    expect(metricValue(metrics, 'evpn_agent_programmed', { kind: 'buckets' })).toBe(32);
    expect(metricValue(metrics, 'evpn_agent_convergence_seconds_count')).toBeGreaterThan(0);
    expect(metricValue(metrics, 'evpn_agent_engine_recomputes_total', { engine_node: 'ofDesired' })).toBeGreaterThanOrEqual(1);

    // Debug endpoints: the graph with per-node counters; a forced recompute changes nothing in OVS.
    const engine = JSON.parse((await lab.http('/debug/engine')).body) as { graph: Array<{ name: string }>; stats: Record<string, { recompute: number }> };
    expect(engine.graph.map((n) => n.name)).toEqual(expect.arrayContaining(['nodeState', 'links', 'nexthops', 'fdb', 'ovs', 'kernelDesired', 'evpnFdb', 'groupIds', 'ofDesired', 'status']));
    const groupsBefore = await lab.dumpGroups();
    const forced = await lab.http('/debug/recompute', 'POST');
    expect(forced.code).toBe(200);
    const after = JSON.parse(forced.body) as Record<string, { recompute: number }>;
    expect(after['ofDesired']!.recompute).toBe(engine.stats['ofDesired']!.recompute + 1);
    expect(await lab.dumpGroups()).toEqual(groupsBefore);
    expect((await lab.http('/debug/recompute')).code).toBe(405);
  });
});
