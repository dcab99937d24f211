import { describe, expect, it } from 'vitest';
import { createAgentGraph, type AgentGraph } from '../../../src/agent/engine/graph.js';
import { FLOOD_PRIORITY, fromGroupDesc, Pipeline } from '../../../src/agent/openflow/pipeline.js';
import { planOfSync } from '../../../src/agent/openflow/diff.js';
import { applyKernelEvent, applyKernelSnapshot } from '../../../src/agent/kernel-input.js';
import { fdbKey, ZERO_MAC, type FabricSettings, type KernelFdbEntry, type OfGroup, type SpecGroup } from '../../../src/agent/model.js';
import { observedAfter, planKernelSync } from '../../../src/agent/sync/kernel-plan.js';
import { flowText, groupText } from '../../../src/agent/openflow/text.js';
import { fabric, fdbGroup, fdbNh, mac, spec, vxlan } from './fixtures.js';

const TUNNEL = 9;
const web: SpecGroup = { name: 'web', generation: 1, vni: 100, vteps: [{ vtep: '192.0.2.3', weight: 1 }, { vtep: '192.0.2.2', weight: 3 }], macs: ['02:00:00:00:00:aa'] };

function flood(ifindex: number, dst: string): KernelFdbEntry {
  return { ifindex, mac: ZERO_MAC, vlan: 0, dst, state: 0xc0, flags: 0x02 };
}

function graphWith(groups: SpecGroup[], fdb: KernelFdbEntry[] = [], over: Partial<FabricSettings> = {}) {
  const g = createAgentGraph();
  g.nodeState.set(spec(groups, over));
  applyKernelSnapshot(g, { links: [vxlan(10, 100), vxlan(11, 200)], nexthops: [], fdb });
  g.ovs.setInterfaces('evpn-vxlan', [
    { name: 'evpn-vxlan', ofport: TUNNEL },
    { name: 'p1', ofport: 1, vni: 100 },
    { name: 'p3', ofport: 3, vni: 100 },
    { name: 'p2', ofport: 2, vni: 200 },
  ]);
  g.engine.run();
  return g;
}

/** Plans the kernel writes, feeds what they leave behind back in and runs the engine, until nothing is left to write. */
function converge(g: AgentGraph): string[] {
  const done: string[] = [];
  for (let round = 0; round < 5; round++) {
    const plan = planKernelSync(g.kernelDesired.data, { nexthops: g.nexthops.data.byId, fdb: g.fdb.data.byKey }, g.nodeState.data.spec!.fabric);
    if (plan.ops.length === 0) return done;
    for (const op of plan.ops) {
      done.push(op.op === 'appendFlood' || op.op === 'delFlood' ? `${op.op} ${op.dst}` : op.op);
      applyKernelEvent(g, observedAfter(op, g.nodeState.data.spec!.fabric));
    }
    g.engine.run();
  }
  throw new Error('kernel sync did not converge');
}

function floodGroupOf(g: AgentGraph, vni: number): OfGroup {
  const id = g.groupIds.data.floodGroupOf.get(vni)!;
  return g.ofDesired.data.groups.get(id)!;
}

/** A flood group's VTEP buckets and local-port buckets. */
const vtepsOf = (f: OfGroup) => f.buckets.flatMap((b) => (b.tunDst === undefined ? [] : [b.tunDst]));
const portsOf = (f: OfGroup) => f.buckets.filter((b) => b.tunDst === undefined).map((b) => b.outPort);

/** Only the group changes that turn `installed` into what ofDesired holds. */
function groupPlan(g: AgentGraph, installed: Map<number, OfGroup>, scope?: Iterable<number>) {
  return planOfSync({ groups: g.ofDesired.data.groups, flows: new Map() }, { groups: installed, flows: new Map() }, scope ? { groups: scope, flows: [] } : undefined)
    .flatMap((c) => (c.kind === 'group' ? [{ command: c.command, group: c.group }] : []));
}

describe('flood lists: kernel', () => {
  it('appends one all-zeros entry per VTEP of the VNI\'s groups, and the flood list follows the kernel', () => {
    const g = graphWith([web]);
    expect(converge(g).filter((o) => o.startsWith('appendFlood')).sort()).toEqual(['appendFlood 192.0.2.2', 'appendFlood 192.0.2.3']);
    expect(g.floodList.data.vteps.get(100)).toEqual(['192.0.2.2', '192.0.2.3']);
    expect(g.fdb.data.byKey.get(fdbKey({ ifindex: 10, mac: ZERO_MAC, vlan: 0, dst: '192.0.2.2' }))?.dst).toBe('192.0.2.2');
    expect(converge(g)).toEqual([]);
  });

  it('honours other software\'s entries only with mirrorLearned, and never deletes them', () => {
    const other = flood(10, '192.0.2.50');
    const wrongFamily = flood(10, '2001:db8::1');
    const mirrored = graphWith([web], [other, wrongFamily]);
    converge(mirrored);
    expect(mirrored.floodList.data.vteps.get(100)).toEqual(['192.0.2.2', '192.0.2.3', '192.0.2.50']);
    const strict = graphWith([web], [other], { kernel: { ...fabric().kernel, mirrorLearned: false } });
    converge(strict);
    expect(strict.floodList.data.vteps.get(100)).toEqual(['192.0.2.2', '192.0.2.3']);

    // The last group of the VNI goes: our two entries are deleted, the other one stays.
    mirrored.nodeState.set(spec([], {}, 2));
    mirrored.engine.run();
    expect(converge(mirrored).sort()).toEqual(['delFdb', 'delFlood 192.0.2.2', 'delFlood 192.0.2.3', 'delNexthop', 'delNexthop', 'delNexthop']);
    expect(mirrored.floodList.data.vteps.get(100)).toEqual(['192.0.2.50']);
    expect(mirrored.kernelDesired.data.floodRetired.size).toBe(0);
  });

  it('adopts a desired entry that is already there (after a restart) and retires only what it desired', () => {
    // Our entry from a previous run, and one for a VTEP we never desired.
    const g = graphWith([web], [flood(10, '192.0.2.2'), flood(10, '192.0.2.77')]);
    expect(converge(g).filter((o) => o.includes('Flood'))).toEqual(['appendFlood 192.0.2.3']);
    g.nodeState.set(spec([{ ...web, vteps: [{ vtep: '192.0.2.3', weight: 1 }] }], {}, 2));
    g.engine.run();
    expect(converge(g).filter((o) => o.includes('Flood'))).toEqual(['delFlood 192.0.2.2']);
    expect(g.floodList.data.vteps.get(100)).toEqual(['192.0.2.3', '192.0.2.77']);
  });
});

describe('flood lists: OpenFlow', () => {
  it('builds one all group per VNI with local ports: a bucket per flood VTEP and per port, behind the lowest-priority flow', () => {
    const g = graphWith([web]);
    converge(g);
    const f100 = floodGroupOf(g, 100);
    expect(groupText(f100)).toBe(
      `group_id=${f100.groupId},type=all,bucket=bucket_id:0,actions=set_field:192.0.2.2->tun_dst,output:9,bucket=bucket_id:1,actions=set_field:192.0.2.3->tun_dst,output:9,bucket=bucket_id:2,actions=output:1,bucket=bucket_id:3,actions=output:3`,
    );
    // VNI 200 has a port but no VTEPs: it floods among its local ports only.
    expect([vtepsOf(floodGroupOf(g, 200)), portsOf(floodGroupOf(g, 200))]).toEqual([[], [2]]);
    expect(f100.groupId).toBe(65536 + 65536 - 1 - 100); // counted down from the range's end
    const flows = [...g.ofDesired.data.flows.values()].filter((f) => f.table === 1 && f.priority === FLOOD_PRIORITY).map(flowText).sort();
    expect(flows).toHaveLength(2);
    expect(flows[0]).toMatch(new RegExp(`^table=1,priority=${FLOOD_PRIORITY},metadata=0x64 cookie=0x45564e0000000000,actions=set_field:0x64->tun_id,group:${f100.groupId}$`));
  });

  it('modifies the group in place for a flood VTEP appended in the kernel, touching no flow and recomputing nothing', () => {
    const g = graphWith([web]);
    converge(g);
    const before = floodGroupOf(g, 100);
    const stats = g.engine.nodeStats();
    applyKernelEvent(g, { kind: 'fdb', op: 'new', entry: flood(10, '192.0.2.9') });
    const report = g.engine.run();
    // Handled incrementally all the way (status is always rebuilt, by design).
    for (const name of ['kernelDesired', 'evpnFdb', 'floodList', 'groupIds', 'ofDesired']) expect(report.recomputed).not.toContain(name);
    expect(report.updated).toEqual(expect.arrayContaining(['floodList', 'ofDesired']));
    const after = floodGroupOf(g, 100);
    expect(after.groupId).toBe(before.groupId);
    expect(vtepsOf(after)).toEqual(['192.0.2.2', '192.0.2.3', '192.0.2.9']);
    expect(g.ofDesired.data.tracked.changedGroups).toEqual(new Set([before.groupId]));
    expect(g.ofDesired.data.tracked.changedFlows.size).toBe(0);
    expect(groupPlan(g, new Map([[before.groupId, before]]), g.ofDesired.data.tracked.changedGroups)).toEqual([{ command: 'modify', group: after }]);
    expect(g.engine.nodeStats()['floodList']!.recompute).toBe(stats['floodList']!.recompute);
  });

  it('ignores a churn of MAC entries: the flood list is not touched', () => {
    const nexthops = [fdbNh(1, '192.0.2.2'), fdbNh(2, '192.0.2.3'), fdbGroup(10, [[1, 1], [2, 1]])];
    const g = createAgentGraph();
    g.nodeState.set(spec([]));
    applyKernelSnapshot(g, { links: [vxlan(10, 100)], nexthops, fdb: [flood(10, '192.0.2.2')] });
    g.ovs.setInterfaces('evpn-vxlan', [{ name: 'evpn-vxlan', ofport: TUNNEL }, { name: 'p1', ofport: 1, vni: 100 }]);
    g.engine.run();
    for (let i = 0; i < 1000; i++) applyKernelEvent(g, { kind: 'fdb', op: 'new', entry: { ifindex: 10, mac: mac(i), vlan: 0, nhid: 10, state: 0x40, flags: 0x12 } });
    const report = g.engine.run();
    expect(report.updated).not.toContain('floodList');
    expect(g.ofDesired.data.tracked.changedGroups.has(g.groupIds.data.floodGroupOf.get(100)!)).toBe(false);
    expect(g.floodList.data.vteps.get(100)).toEqual(['192.0.2.2']);
  });

  it('keeps a flood group id found installed (from the VNI\'s flood flow), and ECMP ids never take it', () => {
    const g = graphWith([web]);
    g.ofInstalled.read([65536 + 10], { groups: new Map(), floodGroups: new Map([[100, 65536 + 10]]), slots: new Map() });
    // nhid 10 would prefer slot 65546: it must probe past the adopted flood group.
    applyKernelSnapshot(g, {
      links: [vxlan(10, 100), vxlan(11, 200)],
      nexthops: [fdbNh(1, '192.0.2.2'), fdbGroup(10, [[1, 1]])],
      fdb: [{ ifindex: 10, mac: mac(1), vlan: 0, nhid: 10, state: 0x40, flags: 0x12 }],
    });
    g.engine.run();
    expect(g.groupIds.data.floodGroupOf.get(100)).toBe(65546);
    expect(g.groupIds.data.ofGroupOf.get(10)).not.toBe(65546);
    expect(floodGroupOf(g, 100).groupId).toBe(65546);
  });

  it('releases the flood group when the VNI loses its last local port, and plans its deletion after the main bundle', () => {
    const g = graphWith([web]);
    converge(g);
    const id = g.groupIds.data.floodGroupOf.get(200)!;
    const installed = new Map(g.ofDesired.data.groups);
    // What ofctrl reports after committing: the bridge holds these groups.
    g.ofInstalled.read(installed.keys());
    g.ovs.setInterfaces('evpn-vxlan', [{ name: 'evpn-vxlan', ofport: TUNNEL }, { name: 'p1', ofport: 1, vni: 100 }, { name: 'p3', ofport: 3, vni: 100 }]);
    g.engine.run();
    expect(g.groupIds.data.floodGroupOf.has(200)).toBe(false);
    expect(g.groupIds.data.quarantine.has(id)).toBe(true);
    expect(groupPlan(g, installed).map((c) => [c.command, c.group.groupId])).toEqual([['delete', id]]);
    expect([...g.ofDesired.data.flows.values()].filter((f) => f.priority === FLOOD_PRIORITY && f.match.metadata === 200n)).toHaveLength(0);
  });
});

describe('flood groups on the wire', () => {
  const pipeline = new Pipeline(fabric().ovs);
  const group = pipeline.floodGroup(130_000, ['192.0.2.2', '2001:db8::2'], 9, [1, 3]);

  it('reads back what it writes', () => {
    const message = pipeline.toMessage({ kind: 'group', command: 'add', group });
    if (message.type !== 'groupMod') throw new Error('not a group mod');
    const mod = message.groupMod;
    expect(mod.type).toBe('all');
    expect(mod.buckets.map((b) => b.bucketId)).toEqual([0, 1, 2, 3]);
    expect(mod.buckets.every((b) => b.weight === undefined)).toBe(true);
    const back = fromGroupDesc({ groupId: mod.groupId, type: 'all', buckets: mod.buckets });
    expect(back.foreign).toBeUndefined();
    expect(back).toEqual(group);
    expect(groupText(group)).toContain('set_field:2001:db8::2->tun_ipv6_dst,output:9');
  });

  it('marks what it would not write, so the sync rewrites it in place', () => {
    const odd = fromGroupDesc({ groupId: 130_000, type: 'indirect', buckets: [{ bucketId: 0, actions: [{ type: 'group', groupId: 7 }] }] });
    expect(odd.foreign).toContain('type=indirect');
    expect(odd.foreign).toContain('bucket0=group');
    const plan = planOfSync({ groups: new Map([[130_000, group]]), flows: new Map() }, { groups: new Map([[130_000, odd]]), flows: new Map() });
    expect(plan).toEqual([{ kind: 'group', command: 'modify', group }]);
  });
});
