/**
 * A real leaf's layouts in the engine: the single VXLAN device (FDB keyed by
 * MAC and VNI), the node's own VTEP never programmed, and id allocation
 * that stays linear at 10,000 groups.
 */
import { describe, expect, it } from 'vitest';
import { createAgentGraph, type AgentGraph } from '../../../src/agent/engine/graph.js';
import { applyKernelEvent, applyKernelSnapshot } from '../../../src/agent/kernel-input.js';
import { observedAfter, planKernelSync } from '../../../src/agent/sync/kernel-plan.js';
import type { FabricSettings, KernelFdbEntry, KernelLink, SpecGroup } from '../../../src/agent/model.js';
import { fabric, fdbGroup, fdbNh, mac, spec, vxlan } from './fixtures.js';

const TUNNEL = 9;
const single: Partial<FabricSettings> = { vxlan: { ...fabric().vxlan, mode: 'Single' } };
const svd: KernelLink = { ifindex: 20, name: 'evpn0', vxlan: { vni: 0, port: 4789, external: true } };

function graphWith(groups: SpecGroup[], over: Partial<FabricSettings>, links: KernelLink[], fdb: KernelFdbEntry[] = [], nexthops = [fdbNh(1, '192.0.2.2'), fdbNh(2, '192.0.2.3'), fdbGroup(10, [[1, 1], [2, 1]])]): AgentGraph {
  const g = createAgentGraph();
  g.nodeState.set(spec(groups, over));
  applyKernelSnapshot(g, { links, nexthops, fdb });
  g.ovs.setInterfaces('evpn-vxlan', [{ name: 'evpn-vxlan', ofport: TUNNEL }, { name: 'p1', ofport: 1, vni: 100 }, { name: 'p2', ofport: 2, vni: 200 }]);
  g.engine.run();
  return g;
}

/** Writes what kernelDesired asks for, feeding each write back as the kernel would report it. */
function converge(g: AgentGraph): void {
  for (let round = 0; round < 5; round++) {
    const plan = planKernelSync(g.kernelDesired.data, { nexthops: g.nexthops.data.byId, fdb: g.fdb.data.byKey }, g.nodeState.data.spec!.fabric);
    if (plan.ops.length === 0) return;
    for (const op of plan.ops) applyKernelEvent(g, observedAfter(op, g.nodeState.data.spec!.fabric));
    g.engine.run();
  }
  throw new Error('kernel sync did not converge');
}

const macFlows = (g: AgentGraph) => [...g.ofDesired.data.flows.values()].filter((f) => f.table === 1 && f.match.ethDst !== undefined);

describe('single VXLAN device: FDB entries keyed by MAC and VNI', () => {
  const shared = mac(1);
  const learned = (vni: number): KernelFdbEntry => ({ ifindex: 20, mac: shared, vlan: 0, vni, nhid: 10, state: 0x40, flags: 0x12 });

  it('mirrors one MAC in two VNIs as two entries and two flows; deleting one leaves the other', () => {
    const g = graphWith([], single, [svd], [learned(100), learned(200)]);
    expect(macFlows(g).map((f) => f.match.metadata).sort()).toEqual([100n, 200n]);
    applyKernelEvent(g, { kind: 'fdb', op: 'del', entry: learned(200) });
    g.engine.run();
    expect(macFlows(g).map((f) => f.match.metadata)).toEqual([100n]);
    expect(g.evpnFdb.data.learned.ecmp).toBe(1);
  });

  it('writes spec groups on the single device with src_vni, one entry per VNI', () => {
    const groups: SpecGroup[] = [
      { name: 'a', generation: 1, vni: 100, vteps: [{ vtep: '192.0.2.2', weight: 1 }], macs: [shared] },
      { name: 'b', generation: 1, vni: 200, vteps: [{ vtep: '192.0.2.3', weight: 1 }], macs: [shared] },
    ];
    const g = graphWith(groups, single, [svd], [], []);
    expect(g.kernelDesired.data.placements.get('b')).toMatchObject({ ifindex: 20, srcVni: 200 });
    const plan = planKernelSync(g.kernelDesired.data, { nexthops: g.nexthops.data.byId, fdb: g.fdb.data.byKey }, g.nodeState.data.spec!.fabric);
    expect(plan.ops.filter((o) => o.op === 'setFdb').map((o) => o.op === 'setFdb' && [o.mac, o.srcVni])).toEqual([[shared, 100], [shared, 200]]);
    expect(plan.ops.filter((o) => o.op === 'appendFlood').map((o) => o.op === 'appendFlood' && [o.dst, o.srcVni])).toEqual([['192.0.2.2', 100], ['192.0.2.3', 200]]);
    converge(g);
    expect(macFlows(g).map((f) => f.match.metadata).sort()).toEqual([100n, 200n]);
    expect(g.floodList.data.vteps).toEqual(new Map([[100, ['192.0.2.2']], [200, ['192.0.2.3']]]));
    expect([...g.status.data.groups.values()].map((r) => [r.name, r.kernelApplied])).toEqual([['a', true], ['b', true]]);
  });

  it('says which device is missing in either mode', () => {
    const group: SpecGroup = { name: 'a', generation: 1, vni: 100, vteps: [{ vtep: '192.0.2.2', weight: 1 }], macs: [] };
    expect(graphWith([group], single, [vxlan(10, 100)]).kernelDesired.data.placements.get('a')).toMatchObject({ problem: 'NoVxlanDevice', device: 'evpn0' });
    expect(graphWith([group], {}, [svd]).kernelDesired.data.placements.get('a')).toMatchObject({ problem: 'NoVxlanDevice', device: 'evpn-100' });
  });
});

describe('the node\'s own VTEP', () => {
  const self = fabric().localVtepIP;

  it('drops the path to itself from a spec group and keeps the others; a group of only itself programs nothing', () => {
    const groups: SpecGroup[] = [
      { name: 'anycast', generation: 1, vni: 100, vteps: [{ vtep: self, weight: 2 }, { vtep: '192.0.2.2', weight: 1 }], macs: [mac(1)] },
      { name: 'here', generation: 1, vni: 100, vteps: [{ vtep: self, weight: 1 }], macs: [mac(2)] },
    ];
    const g = graphWith(groups, {}, [vxlan(10, 100)], [], []);
    converge(g);
    const kd = g.kernelDesired.data;
    expect([...kd.nexthops.values()].map((n) => n.gateway)).toEqual(['192.0.2.2']);
    expect(kd.placements.get('anycast')!.droppedPaths).toEqual([self]);
    expect(kd.placements.get('here')).toMatchObject({ problem: 'LocalOnly' });
    expect([...kd.fdb.values()].map((e) => e.mac)).toEqual([mac(1)]);
    expect([...kd.flood.values()].map((e) => e.dst)).toEqual(['192.0.2.2']);
    const status = new Map([...g.status.data.groups.values()].map((r) => [r.name, r]));
    expect(status.get('anycast')).toMatchObject({ paths: [{ vtep: '192.0.2.2', weight: 1 }], droppedPaths: [self], kernelApplied: true });
    expect(status.get('here')).toMatchObject({ kernelApplied: true, ovsPlanned: true, droppedPaths: [self] });
    expect(status.get('here')!.invalid).toBeUndefined();
    expect(status.get('here')!.note).toMatch(/^LocalOnly/);
  });

  it('never programs a mirrored path, single destination or flood destination that is itself', () => {
    const g = graphWith([], {}, [vxlan(10, 100)], [
      { ifindex: 10, mac: mac(1), vlan: 0, nhid: 11, state: 0x40, flags: 0x12 },
      { ifindex: 10, mac: mac(2), vlan: 0, nhid: 12, state: 0x40, flags: 0x12 },
      { ifindex: 10, mac: mac(3), vlan: 0, dst: self, state: 0x40, flags: 0x12 },
      { ifindex: 10, mac: '00:00:00:00:00:00', vlan: 0, dst: self, state: 0xc0, flags: 0x02 },
      { ifindex: 10, mac: '00:00:00:00:00:00', vlan: 0, dst: '192.0.2.2', state: 0xc0, flags: 0x02 },
    ], [fdbNh(1, '192.0.2.2'), fdbNh(3, self), fdbGroup(11, [[1, 1], [3, 1]]), fdbGroup(12, [[3, 1]])]);
    const groups = [...g.ofDesired.data.groups.values()].filter((x) => x.type === 'select');
    expect(groups.map((x) => new Set(x.buckets.map((b) => b.tunDst)))).toEqual([new Set(['192.0.2.2'])]);
    expect(g.evpnFdb.data.learned).toEqual({ ecmp: 1, singlePath: 0, invalid: { LocalOnly: 2 } });
    expect(g.floodList.data.vteps.get(100)).toEqual(['192.0.2.2']);
  });
});

describe('kernel nexthop ids at scale', () => {
  it('gives 10,000 new groups their ids in linear time, lowest first, and reuses a freed id', () => {
    const vteps = [{ vtep: '192.0.2.2', weight: 1 }, { vtep: '192.0.2.3', weight: 1 }];
    const groups: SpecGroup[] = Array.from({ length: 10_000 }, (_, i) => ({ name: `g${String(i).padStart(5, '0')}`, generation: 1, vni: 100, vteps, macs: [mac(i)] }));
    const g = graphWith(groups, {}, [vxlan(10, 100)], [], []);
    const kd = g.kernelDesired.data;
    const start = fabric().kernel.nexthopIdRange.start;
    const ids = [...kd.groups.keys()].sort((a, b) => a - b);
    expect(ids).toHaveLength(10_000);
    // Two VTEP nexthops, then one id per group, without gaps.
    expect(ids[0]).toBe(start + 2);
    expect(ids.at(-1)).toBe(start + 10_001);
    const freed = kd.placements.get('g00000')!.nexthopGroupId!;
    g.nodeState.set(spec([...groups.slice(1), { name: 'new', generation: 1, vni: 100, vteps, macs: [] }], {}, 2));
    g.engine.run();
    expect(kd.placements.get('new')!.nexthopGroupId).toBe(freed);
  });
});

describe('local MACs (external_ids:attached-mac)', () => {
  const local = (g: AgentGraph) => [...g.ofDesired.data.flows.values()].filter((f) => f.priority === 200).map((f) => [f.table, f.match.metadata, f.match.ethDst, f.actions]);

  it('switches a known local MAC to its port only, from a local port and from the fabric', () => {
    const g = graphWith([], {}, [vxlan(10, 100)]);
    g.ovs.setInterfaces('evpn-vxlan', [
      { name: 'evpn-vxlan', ofport: TUNNEL },
      { name: 'vm1', ofport: 1, vni: 100, attachedMac: mac(1) },
      { name: 'vm2', ofport: 2, vni: 100, attachedMac: mac(2) },
      { name: 'vm3', ofport: 3, vni: 100 },
    ]);
    g.engine.run();
    const out = (port: number) => [{ type: 'output', port }];
    expect(local(g).sort()).toEqual([
      [1, 100n, mac(1), out(1)], [1, 100n, mac(2), out(2)],
      [2, 100n, mac(1), out(1)], [2, 100n, mac(2), out(2)],
    ].sort());
    // From the fabric, a MAC no flow claims goes to every local port of the VNI; from a port, to the flood group.
    const flows = [...g.ofDesired.data.flows.values()];
    expect(flows.find((f) => f.table === 2 && f.priority === 1)?.actions).toEqual([out(1)[0], out(2)[0], out(3)[0]]);
    expect(flows.find((f) => f.table === 0 && f.match.inPort === TUNNEL)).toMatchObject({ writeMetadata: 100n, gotoTable: 2 });
    expect(g.status.data.local).toEqual([{ vni: 100, ports: 3, macs: 2 }, { vni: 200, ports: 0, macs: 0 }].filter((l) => l.ports > 0));
  });

  it('follows a MAC that moves to another port, and forgets a port that leaves, touching only that VNI', () => {
    const g = graphWith([], {}, [vxlan(10, 100)]);
    const ifaces = (vm1Mac: string | undefined) => [
      { name: 'evpn-vxlan', ofport: TUNNEL },
      { name: 'vm1', ofport: 1, vni: 100, ...(vm1Mac ? { attachedMac: vm1Mac } : {}) },
      { name: 'vm2', ofport: 2, vni: 100 },
      { name: 'db', ofport: 4, vni: 200, attachedMac: mac(9) },
    ];
    g.ovs.setInterfaces('evpn-vxlan', ifaces(mac(1)));
    g.engine.run();
    g.ovs.setInterfaces('evpn-vxlan', ifaces(undefined));
    const report = g.engine.run();
    expect(report.recomputed).not.toContain('ofDesired');
    expect(local(g).map((f) => f[2])).toEqual([mac(9), mac(9)]);
    // vm1's two local MAC flows go; its classifier now learns what vm1 sends instead.
    const changed = [...g.ofDesired.data.tracked.changedFlows];
    expect(changed.filter((key) => g.ofDesired.data.flows.get(key) === undefined).every((key) => key.endsWith(`/100/${mac(1)}/`))).toBe(true);
    expect(changed.map((key) => g.ofDesired.data.flows.get(key)).filter((f) => f !== undefined).map((f) => [f.match.inPort, f.actions.map((a) => a.type)])).toEqual([[1, ['learn', 'learn']]]);
    expect(changed).toHaveLength(3);
  });
});

describe('local MACs exported for an EVPN control plane', () => {
  it('exports attached and learned MACs on the VNI\'s access port, but not a port marked evpn-export=false nor a MAC the spec declares', () => {
    const accessPort: KernelLink = { ifindex: 30, name: 'evpa-100', kind: 'veth', alias: 'evpn-ecmp:access', master: 31, up: true };
    const declared: SpecGroup = { name: 'anycast', generation: 1, vni: 100, vteps: [{ vtep: '192.0.2.2', weight: 1 }], macs: [mac(3)] };
    const g = graphWith([declared], {}, [vxlan(10, 100), accessPort, { ifindex: 31, name: 'evpnbr-100', kind: 'bridge', up: true }]);
    g.ovs.setInterfaces('evpn-vxlan', [
      { name: 'evpn-vxlan', ofport: TUNNEL },
      { name: 'vm1', ofport: 1, vni: 100, attachedMac: mac(1) },
      { name: 'svc', ofport: 2, vni: 100, attachedMac: mac(2), noExport: true },
      { name: 'web', ofport: 3, vni: 100, attachedMac: mac(3) },
      { name: 'vm4', ofport: 4, vni: 100 },
    ]);
    g.ovs.setLearned(new Map([[100, new Map([[mac(4), 4]])]]));
    g.engine.run();
    expect([...g.localExport.data.entries.values()].map((e) => [e.ifindex, e.mac]).sort()).toEqual([[30, mac(1)], [30, mac(4)]]);
    expect(g.localExport.data.complete).toBe(true);
    expect(g.status.data.local).toEqual([{ vni: 100, ports: 4, macs: 4, exported: 0 }]);
  });
});
