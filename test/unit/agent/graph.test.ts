import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createAgentGraph, type AgentGraph } from '../../../src/agent/engine/graph.js';
import { applyKernelEvent, applyKernelSnapshot } from '../../../src/agent/kernel-input.js';
import { flowText, groupText } from '../../../src/agent/openflow/text.js';
import { expectWeightShares, vtepShares } from '../../harness/slots.js';
import { installedSlotTables, slotTableOf } from '../../../src/agent/hash-slots.js';
import { observedAfter, planKernelSync } from '../../../src/agent/sync/kernel-plan.js';
import type { KernelEvent, KernelFdbEntry, KernelNexthop } from '../../../src/agent/model.js';
import { NH_START, PROTO, fabric, fdbGroup, fdbNh, mac, spec, vxlan } from './fixtures.js';

const TUNNEL = 9;
/** Hundreds of generated cases per property: seconds on an idle machine, more on a loaded or slower one. */
const PROPERTY_TIMEOUT_MS = 60_000;

function graphWith(opts: { nexthops?: KernelNexthop[]; fdb?: KernelFdbEntry[]; groups?: Parameters<typeof spec>[0] } = {}) {
  const g = createAgentGraph();
  g.nodeState.set(spec(opts.groups ?? []));
  applyKernelSnapshot(g, { links: [vxlan(10, 100), vxlan(11, 200)], nexthops: opts.nexthops ?? [], fdb: opts.fdb ?? [] });
  g.ovs.setInterfaces('evpn-vxlan', [
    { name: 'evpn-vxlan', ofport: TUNNEL },
    { name: 'p1', ofport: 1, vni: 100 },
    { name: 'p2', ofport: 2, vni: 200 },
  ]);
  g.engine.run();
  return g;
}

function learned(ifindex: number, m: string, nhid: number): KernelFdbEntry {
  return { ifindex, mac: m, vlan: 0, nhid, state: 0x40, flags: 0x12 };
}

/** The select groups of ofDesired (the flood groups of the VNIs with ports aside). */
function selectGroups(g: AgentGraph) {
  return [...g.ofDesired.data.groups.values()].filter((group) => group.type === 'select');
}

function ofState(g: AgentGraph) {
  return {
    groups: [...g.ofDesired.data.groups.values()].map(groupText).sort(),
    flows: [...g.ofDesired.data.flows.values()].map(flowText).sort(),
  };
}

/**
 * What a restarted agent computes: a fresh graph fed g's kernel state in
 * one snapshot and the slot tables OVS holds (g's desired groups).
 */
function restartedFrom(g: AgentGraph): AgentGraph {
  const fresh = createAgentGraph();
  fresh.nodeState.set({ ...g.nodeState.data.spec!, groups: [...g.nodeState.data.groups.values()] });
  applyKernelSnapshot(fresh, { links: [...g.links.data.byIndex.values()], nexthops: [...g.nexthops.data.byId.values()], fdb: [...g.fdb.data.byKey.values()] });
  fresh.ovs.setInterfaces('evpn-vxlan', [
    { name: 'evpn-vxlan', ofport: TUNNEL },
    { name: 'p1', ofport: 1, vni: 100 },
    { name: 'p2', ofport: 2, vni: 200 },
  ]);
  fresh.ofInstalled.read(g.ofDesired.data.groups.keys(), { groups: new Map(), floodGroups: new Map(), slots: installedSlotTables(g.ofDesired.data.groups.values()) });
  fresh.engine.run();
  return fresh;
}

/** What ofctrl reports after committing ofDesired: the bridge holds exactly its groups. */
function commitDesired(g: AgentGraph): void {
  g.ofInstalled.read(g.ofDesired.data.groups.keys());
  g.engine.run();
}

/** What the status node reports, in a comparable order. */
function statusState(g: AgentGraph) {
  const d = g.status.data;
  return { groups: [...d.groups.values()].sort((x, y) => (x.name < y.name ? -1 : 1)), flood: d.flood, local: d.local, learned: d.learned, conflicts: d.conflicts };
}

/** The incremental path ends where a full recompute of the same agent does (OpenFlow and status alike). */
function expectRecomputeAgrees(g: AgentGraph): void {
  const incremental = ofState(g);
  const status = statusState(g);
  g.engine.forceRecompute();
  g.engine.run();
  expect(ofState(g)).toEqual(incremental);
  expect(statusState(g)).toEqual(status);
}

describe('engine graph: mirroring kernel ECMP FDB entries', () => {
  const nexthops = [fdbNh(1, '192.0.2.2'), fdbNh(2, '192.0.2.3'), fdbGroup(10, [[1, 3], [2, 1]])];

  it('mirrors an extern_learn entry into one select group and one flow per MAC', () => {
    const g = graphWith({ nexthops, fdb: [learned(10, mac(1), 10), learned(10, mac(2), 10)] });
    const { flows } = ofState(g);
    const groups = selectGroups(g).map(groupText);
    const ofId = g.groupIds.data.ofGroupOf.get(10)!;
    expect(ofId).toBe(65536 + 10); // preferred slot: start + nhid mod size
    // Weights 3:1 as 16 hash slots: 12 to the first VTEP, 4 to the second.
    const slots = [...Array<string>(12).fill('192.0.2.2'), ...Array<string>(4).fill('192.0.2.3')];
    expect(groups).toEqual([
      `group_id=${ofId},type=select,selection_method=dp_hash,${slots.map((ip, i) => `bucket=bucket_id:${i},weight:1,actions=set_field:${ip}->tun_dst,output:9`).join(',')}`,
    ]);
    expect(flows).toContain(`table=1,priority=100,metadata=0x64,dl_dst=${mac(1)} cookie=0x45564e000000000a,actions=set_field:0x64->tun_id,group:${ofId}`);
    // A port without attached-mac learns the MACs behind it into tables 1 and 2.
    const learn = (table: number) => `learn(table=${table},idle_timeout=300,priority=150,cookie=0x45564e00ffffffff,OXM_OF_METADATA[]=0x64,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],output:NXM_OF_IN_PORT[])`;
    expect(flows).toContain(`table=0,priority=100,in_port=1 cookie=0x45564e0000000000,actions=${learn(1)},${learn(2)},write_metadata:0x64,goto_table:1`);
    expect(flows).toContain('table=0,priority=100,tun_id=0x64,in_port=9 cookie=0x45564e0000000000,actions=write_metadata:0x64,goto_table:2');
    expect(flows).toContain('table=2,priority=1,metadata=0x64 cookie=0x45564e0000000000,actions=output:1');
    expect(g.evpnFdb.data.learned).toEqual({ ecmp: 2, singlePath: 0, invalid: {} });
  });

  it('re-resolves every group containing a member whose gateway was replaced (only the member is notified)', () => {
    const g = graphWith({ nexthops: [...nexthops, fdbGroup(11, [[1, 1]])], fdb: [learned(10, mac(1), 10), learned(10, mac(2), 11)] });
    const before = ofState(g);
    applyKernelEvent(g, { kind: 'nexthop', op: 'new', nexthop: fdbNh(1, '192.0.2.9') });
    g.engine.run();
    const after = ofState(g);
    expect(after.flows).toEqual(before.flows);
    expect(after.groups.filter((t) => t.includes('192.0.2.9'))).toHaveLength(2);
    expect(g.ofDesired.data.tracked.changedGroups.size).toBe(2);
    expect(g.ofDesired.data.tracked.changedFlows.size).toBe(0);
  });

  it('drops the FDB entries of a deleted group although the kernel sends no neighbour deletion', () => {
    const g = graphWith({ nexthops, fdb: [learned(10, mac(1), 10)] });
    commitDesired(g);
    applyKernelEvent(g, { kind: 'nexthop', op: 'del', nexthop: fdbGroup(10, []) });
    g.engine.run();
    expect(g.fdb.data.byKey.size).toBe(0);
    expect(selectGroups(g)).toHaveLength(0);
    expect([...g.ofDesired.data.flows.values()].filter((f) => f.table === 1 && f.match.ethDst !== undefined)).toHaveLength(0);
    // The bridge still holds the group: its id is not given out again until ofctrl reports it gone.
    expect(g.groupIds.data.quarantine).toEqual(new Set([65546]));
    g.ofInstalled.committed([], [65546]);
    g.engine.run();
    expect(g.groupIds.data.quarantine).toEqual(new Set());
  });

  it('reports invalid entries by reason and programs nothing for them', () => {
    const g = graphWith({
      nexthops: [
        ...nexthops,
        { id: 3, protocol: 4, family: 4, fdb: false, gateway: '192.0.2.4' },
        { id: 12, protocol: 4, family: 0, fdb: false, members: [{ id: 3, weight: 1 }] },
        fdbNh(5, '2001:db8::5'),
        fdbGroup(13, [[5, 1]]),
        fdbGroup(14, [[1, 1], [5, 1]]),
      ],
      fdb: [learned(10, mac(1), 1), learned(10, mac(2), 12), learned(10, mac(3), 99), learned(10, mac(4), 13), learned(10, mac(5), 14), { ...learned(10, mac(6), 10), vlan: 5 }],
    });
    expect(g.evpnFdb.data.learned.invalid).toEqual({ NotAGroup: 1, NotFdb: 1, UnknownNexthop: 1, FamilyMismatch: 1, MixedFamily: 1, VlanNotZero: 1 });
    expect(selectGroups(g)).toHaveLength(0);
    expect([...g.ofDesired.data.flows.values()].filter((f) => f.table === 1 && f.match.ethDst !== undefined)).toHaveLength(0);
    // The unknown nexthop appears: the entry becomes valid.
    applyKernelEvent(g, { kind: 'nexthop', op: 'new', nexthop: fdbGroup(99, [[2, 1]]) });
    g.engine.run();
    expect(g.evpnFdb.data.learned.ecmp).toBe(1);
    expect(selectGroups(g)).toHaveLength(1);
  });

  it('mirrors single-destination entries as a tunnel destination and output, without a group', () => {
    const g = graphWith({ fdb: [{ ifindex: 11, mac: mac(7), vlan: 0, dst: '192.0.2.7', state: 0x80, flags: 0x2 }] });
    expect(ofState(g).flows).toContain(`table=1,priority=100,metadata=0xc8,dl_dst=${mac(7)} cookie=0x45564e0000000000,actions=set_field:0xc8->tun_id,set_field:192.0.2.7->tun_dst,output:9`);
    expect(g.evpnFdb.data.learned.singlePath).toBe(1);
  });

  it('turns a weight change on a group used by 10,000 MACs into exactly one group change and no flow change', () => {
    const fdb = Array.from({ length: 10_000 }, (_, i) => learned(10, mac(i), 10));
    const g = graphWith({ nexthops, fdb });
    expect(g.ofDesired.data.flows.size).toBe(10_000 + 8); // + classifier, way in from the fabric, delivery to local ports and flood flows of VNIs 100, 200
    const statsBefore = g.engine.nodeStats();
    const slotsBefore = g.ofDesired.data.groups.get(65546)!.buckets.map((b) => b.tunDst);
    applyKernelEvent(g, { kind: 'nexthop', op: 'new', nexthop: fdbGroup(10, [[1, 1], [2, 1]]) });
    const report = g.engine.run();
    expect(g.ofDesired.data.tracked.changedGroups).toEqual(new Set([65546]));
    expect(g.ofDesired.data.tracked.changedFlows.size).toBe(0);
    expect(g.evpnFdb.data.tracked.changedEntries.size).toBe(0);
    const statsAfter = g.engine.nodeStats();
    for (const name of ['evpnFdb', 'groupIds', 'ofDesired']) {
      expect(statsAfter[name]!.recompute).toBe(statsBefore[name]!.recompute);
    }
    expect(report.recomputed).not.toContain('ofDesired');
    // 3:1 → 1:1 re-deals 4 of the 16 slots, nothing else.
    const slotsAfter = g.ofDesired.data.groups.get(65546)!.buckets.map((b) => b.tunDst);
    expect(vtepShares(g.ofDesired.data.groups.get(65546)!.buckets)).toEqual(new Map([['192.0.2.2', 0.5], ['192.0.2.3', 0.5]]));
    expect(slotsAfter.filter((vtep, s) => vtep !== slotsBefore[s])).toEqual(Array(4).fill('192.0.2.3'));
  });
});

describe('engine graph: dp_hash bucket layouts', () => {
  const four = [1, 2, 3, 4].map((i) => fdbNh(i, `192.0.2.${i + 1}`));
  const ofTable = (g: AgentGraph) => slotTableOf(g.ofDesired.data.groups.get(65546)!)!;

  it('switching bucketLayout from weights to slots starts from the table OVS dealt (four equal VTEPs: no flow moves)', () => {
    const g = createAgentGraph();
    g.nodeState.set(spec([], { ovs: { ...fabric().ovs, bucketLayout: 'weights' } }));
    applyKernelSnapshot(g, { links: [vxlan(10, 100)], nexthops: [...four, fdbGroup(10, [[1, 1], [2, 1], [3, 1], [4, 1]])], fdb: [learned(10, mac(1), 10)] });
    g.ovs.setInterfaces('evpn-vxlan', [{ name: 'evpn-vxlan', ofport: TUNNEL }, { name: 'p1', ofport: 1, vni: 100 }]);
    g.engine.run();
    expect(g.ofDesired.data.groups.get(65546)!.buckets.map((b) => b.weight)).toEqual([1, 1, 1, 1]);
    const dealtByOvs = ofTable(g);
    g.nodeState.set(spec([]));
    g.engine.run();
    expect(g.ofDesired.data.groups.get(65546)!.buckets).toHaveLength(16);
    expect(ofTable(g)).toEqual(dealtByOvs);
  });

  it('a fifth member re-deals only the newcomer\'s slots; a member leaving, only its own', () => {
    const g = graphWith({ nexthops: [...four, fdbNh(5, '192.0.2.6'), fdbGroup(10, [[1, 1], [2, 1], [3, 1], [4, 1]])], fdb: [learned(10, mac(1), 10)] });
    const before = ofTable(g);
    applyKernelEvent(g, { kind: 'nexthop', op: 'new', nexthop: fdbGroup(10, [[1, 1], [2, 1], [3, 1], [4, 1], [5, 1]]) });
    g.engine.run();
    const after = ofTable(g);
    expect(after).toHaveLength(64);
    const moved = after.filter((vtep, s) => vtep !== before[s % before.length]);
    expect(moved).toEqual(Array(12).fill('192.0.2.6'));
    applyKernelEvent(g, { kind: 'nexthop', op: 'new', nexthop: fdbGroup(10, [[2, 1], [3, 1], [4, 1], [5, 1]]) });
    g.engine.run();
    const left = ofTable(g);
    expect(left.filter((vtep, s) => vtep !== after[s]).length).toBe(after.filter((vtep) => vtep === '192.0.2.2').length);
  });
});

describe('engine graph: kernel desired state from the spec', () => {
  const web = { name: 'web', generation: 4, vni: 100, vteps: [{ vtep: '192.0.2.2', weight: 3 }, { vtep: '192.0.2.3', weight: 1 }], macs: ['02:00:00:00:00:AA'] };
  const db = { name: 'db', generation: 1, vni: 200, vteps: [{ vtep: '192.0.2.3', weight: 1 }, { vtep: '192.0.2.4', weight: 1 }], macs: ['02:00:00:00:00:bb'] };

  it('plans shared fdb nexthops, one group per spec group and one FDB entry per MAC, ids in range', () => {
    const g = graphWith({ groups: [web, db] });
    const kd = g.kernelDesired.data;
    expect(kd.nexthops.size).toBe(3);
    expect(kd.groups.size).toBe(2);
    for (const id of [...kd.nexthops.keys(), ...kd.groups.keys()]) expect(id).toBeGreaterThanOrEqual(NH_START);
    const webId = kd.placements.get('web')!.nexthopGroupId!;
    expect(kd.fdb.get('10/02:00:00:00:00:aa/0')).toEqual({ ifindex: 10, mac: '02:00:00:00:00:aa', nhid: webId });
    const weightOf = new Map(kd.groups.get(webId)!.members.map((m) => [kd.nexthops.get(m.id)!.gateway, m.weight]));
    expect(weightOf).toEqual(new Map([['192.0.2.2', 3], ['192.0.2.3', 1]]));
  });

  it('keeps the group id on a weight change and rebuilds only the changed group', () => {
    const g = graphWith({ groups: [web, db] });
    const webId = g.kernelDesired.data.placements.get('web')!.nexthopGroupId!;
    const before = g.engine.nodeStats()['kernelDesired']!.recompute;
    g.nodeState.set(spec([{ ...web, generation: 5, vteps: [{ vtep: '192.0.2.2', weight: 1 }, { vtep: '192.0.2.3', weight: 1 }] }, db]));
    g.engine.run();
    expect(g.engine.nodeStats()['kernelDesired']!.recompute).toBe(before);
    expect(g.kernelDesired.data.tracked.changedGroups).toEqual(new Set(['web']));
    expect(g.kernelDesired.data.placements.get('web')!.nexthopGroupId).toBe(webId);
    expect(g.kernelDesired.data.groups.get(webId)!.members.map((m) => m.weight)).toEqual([1, 1]);
    expect(g.kernelDesired.data.fdb.get('10/02:00:00:00:00:aa/0')!.nhid).toBe(webId);
  });

  it('adopts the ids it wrote before a restart and never uses ids of other protocols', () => {
    const foreign = { ...fdbNh(NH_START, '198.51.100.1'), protocol: 4 };
    const ours = [
      { ...fdbNh(NH_START + 7, '192.0.2.2'), protocol: PROTO },
      { ...fdbNh(NH_START + 8, '192.0.2.3'), protocol: PROTO },
      { ...fdbGroup(NH_START + 9, [[NH_START + 7, 3], [NH_START + 8, 1]]), protocol: PROTO },
    ];
    const g = graphWith({ groups: [web], nexthops: [foreign, ...ours], fdb: [{ ifindex: 10, mac: '02:00:00:00:00:aa', vlan: 0, nhid: NH_START + 9, state: 0x42, flags: 2 }] });
    const kd = g.kernelDesired.data;
    expect(kd.placements.get('web')!.nexthopGroupId).toBe(NH_START + 9);
    expect([...kd.nexthops.keys()].sort()).toEqual([NH_START + 7, NH_START + 8]);
    expect(kd.conflicts).toEqual([NH_START]);
  });

  it('reports a missing VXLAN device', () => {
    const g = graphWith({ groups: [{ ...web, vni: 300 }] });
    expect(g.kernelDesired.data.placements.get('web')).toMatchObject({ problem: 'NoVxlanDevice' });
    expect([...g.status.data.groups.values()][0]).toMatchObject({ invalid: 'NoVxlanDevice' });
  });
});

describe('engine graph: incremental processing equals a full recompute', () => {
  const gateways = ['192.0.2.2', '192.0.2.3', '192.0.2.4', '2001:db8::1'];
  const nexthopArb: fc.Arbitrary<KernelEvent> = fc.oneof(
    fc.record({ id: fc.integer({ min: 1, max: 6 }), gw: fc.constantFrom(...gateways), fdb: fc.boolean() }).map(
      ({ id, gw, fdb }): KernelEvent => ({ kind: 'nexthop', op: 'new', nexthop: { ...fdbNh(id, gw), fdb } }),
    ),
    fc.record({ id: fc.integer({ min: 20, max: 24 }), members: fc.uniqueArray(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 4 }), w: fc.integer({ min: 1, max: 5 }) }).map(
      ({ id, members, w }): KernelEvent => ({ kind: 'nexthop', op: 'new', nexthop: fdbGroup(id, members.map((m, i) => [m, ((w + i) % 5) + 1])) }),
    ),
    fc.integer({ min: 1, max: 24 }).map((id): KernelEvent => ({ kind: 'nexthop', op: 'del', nexthop: fdbNh(id, '0.0.0.0') })),
  );
  const fdbArb: fc.Arbitrary<KernelEvent> = fc.oneof(
    fc.record({ ifindex: fc.constantFrom(10, 11, 12), m: fc.integer({ min: 0, max: 8 }), nhid: fc.integer({ min: 1, max: 24 }) }).map(
      ({ ifindex, m, nhid }): KernelEvent => ({ kind: 'fdb', op: 'new', entry: learned(ifindex, mac(m), nhid) }),
    ),
    fc.record({ ifindex: fc.constantFrom(10, 11), m: fc.integer({ min: 0, max: 8 }), gw: fc.constantFrom(...gateways) }).map(
      ({ ifindex, m, gw }): KernelEvent => ({ kind: 'fdb', op: 'new', entry: { ifindex, mac: mac(m), vlan: 0, dst: gw, state: 0x80, flags: 2 } }),
    ),
    fc.record({ ifindex: fc.constantFrom(10, 11, 12), m: fc.integer({ min: 0, max: 8 }) }).map(
      ({ ifindex, m }): KernelEvent => ({ kind: 'fdb', op: 'del', entry: learned(ifindex, mac(m), 0) }),
    ),
  );
  const linkArb: fc.Arbitrary<KernelEvent> = fc.oneof(
    fc.constant<KernelEvent>({ kind: 'link', op: 'new', link: vxlan(12, 100, 'other-100') }),
    fc.constant<KernelEvent>({ kind: 'link', op: 'del', link: vxlan(12, 100, 'other-100') }),
  );

  it('for random kernel event sequences, batched arbitrarily', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.oneof(nexthopArb, nexthopArb, fdbArb, fdbArb, linkArb), { maxLength: 6 }), { maxLength: 12 }), (batches) => {
        const g = graphWith();
        for (const batch of batches) {
          for (const ev of batch) applyKernelEvent(g, ev);
          g.engine.run();
          commitDesired(g);
        }
        // A fresh graph fed the final kernel state in one snapshot.
        const fresh = restartedFrom(g);
        expect(ofState(g)).toEqual(ofState(fresh));
        expectRecomputeAgrees(g);
        expect(g.evpnFdb.data.learned).toEqual(fresh.evpnFdb.data.learned);
        expect([...g.evpnFdb.data.entries.values()].map((e) => JSON.stringify(e)).sort()).toEqual(
          [...fresh.evpnFdb.data.entries.values()].map((e) => JSON.stringify(e)).sort(),
        );
      }),
      { numRuns: 300 },
    );
  }, PROPERTY_TIMEOUT_MS);
});

describe('engine graph: kernel desired state follows any sequence of spec changes', () => {
  const ips = ['192.0.2.2', '192.0.2.3', '192.0.2.4', '192.0.2.5'];
  const groupArb = fc.record({
    name: fc.constantFrom('a', 'b', 'c', 'd'),
    vni: fc.constantFrom(100, 200, 300),
    vteps: fc.uniqueArray(fc.constantFrom(...ips), { minLength: 1, maxLength: 4 }).chain((vs) =>
      fc.tuple(...vs.map((ip) => fc.integer({ min: 1, max: 256 }).map((weight) => ({ vtep: ip, weight })))),
    ),
    macs: fc.uniqueArray(fc.integer({ min: 0, max: 20 }).map(mac), { maxLength: 4 }),
  });
  const specArb = fc.uniqueArray(groupArb, { selector: (g) => g.name, maxLength: 4 }).map((gs) => gs.map((g) => ({ ...g, generation: 1 })));

  it('incrementally, holds exactly what the last spec asks for, with stable ids for unchanged groups', () => {
    fc.assert(
      fc.property(fc.array(specArb, { minLength: 1, maxLength: 8 }), (specs) => {
        const g = graphWith();
        const idsOf = new Map<string, number>();
        let previous: typeof specs[number] = [];
        for (const groups of specs) {
          g.nodeState.set(spec(groups));
          g.engine.run();
          const kd = g.kernelDesired.data;
          // Expected MAC ownership, the operator's rule: a MAC two groups claim on one device is
          // withheld from both, each keeps its other MACs (whatever the names, whatever came first).
          const claims = new Map<string, number>();
          for (const sg of groups) if (sg.vni !== 300) for (const m of sg.macs) claims.set(`${sg.vni}/${m}`, (claims.get(`${sg.vni}/${m}`) ?? 0) + 1);
          const contested = (sg: (typeof groups)[number], m: string) => (claims.get(`${sg.vni}/${m}`) ?? 0) > 1;
          const conflicted = new Set(groups.filter((sg) => sg.vni !== 300 && sg.macs.some((m) => contested(sg, m))).map((sg) => sg.name));
          const live = groups.filter((x) => x.vni !== 300);
          for (const sg of groups) {
            const p = kd.placements.get(sg.name)!;
            if (sg.vni === 300) {
              expect(p.problem).toBe('NoVxlanDevice');
              continue;
            }
            expect(p.problem).toBe(conflicted.has(sg.name) ? 'MacConflict' : undefined);
            expect(p.withheldMacs.sort()).toEqual(sg.macs.filter((m) => contested(sg, m)).sort());
            const nhid = p.nexthopGroupId!;
            const members = kd.groups.get(nhid)!.members;
            const seen = new Map(members.map((m) => [kd.nexthops.get(m.id)!.gateway, m.weight]));
            expect(seen).toEqual(new Map(sg.vteps.map((v) => [v.vtep, v.weight])));
            const ifindex = sg.vni === 100 ? 10 : 11;
            for (const m of sg.macs) expect(kd.fdb.get(`${ifindex}/${m}/0`)?.nhid).toBe(contested(sg, m) ? undefined : nhid);
            // A group that stays (same name and VNI) keeps its kernel group id, conflict or not.
            const before = previous.find((x) => x.name === sg.name);
            if (before && before.vni === sg.vni && idsOf.has(sg.name)) expect(nhid).toBe(idsOf.get(sg.name));
            idsOf.set(sg.name, nhid);
          }
          expect(kd.fdb.size).toBe([...claims.values()].filter((n) => n === 1).length);
          expect(kd.groups.size).toBe(live.length);
          expect(new Set([...kd.nexthops.values()].map((n) => n.gateway))).toEqual(new Set(live.flatMap((x) => x.vteps.map((v) => v.vtep))));
          for (const name of [...idsOf.keys()]) if (!groups.some((x) => x.name === name)) idsOf.delete(name);
          previous = groups;
        }
      }),
      { numRuns: 300 },
    );
  }, PROPERTY_TIMEOUT_MS);
});

describe('engine graph: the whole pipeline, spec to kernel to OVS', () => {
  const ips = ['192.0.2.2', '192.0.2.3', '192.0.2.4'];
  const groupArb = fc.record({
    name: fc.constantFrom('a', 'b', 'c'),
    vni: fc.constantFrom(100, 200),
    vteps: fc.uniqueArray(fc.constantFrom(...ips), { minLength: 1, maxLength: 3 }).chain((vs) =>
      fc.tuple(...vs.map((ip) => fc.integer({ min: 1, max: 4 }).map((weight) => ({ vtep: ip, weight })))),
    ),
    macs: fc.uniqueArray(fc.integer({ min: 0, max: 6 }).map(mac), { maxLength: 3 }),
  });
  const specArb = fc.uniqueArray(groupArb, { selector: (g) => g.name, maxLength: 3 }).map((gs) => gs.map((g) => ({ ...g, generation: 1 })));

  it('converges, after kernel writes are fed back, to what a fresh agent computes from the same kernel and OVS', () => {
    fc.assert(
      fc.property(fc.array(specArb, { minLength: 1, maxLength: 6 }), (specs) => {
        const g = graphWith();
        // As kernelctrl plans: only what changed since the last plan (the first plan compares everything).
        let scope: { nexthops: Set<number>; fdb: Set<string> } | undefined;
        const run = (): void => {
          g.engine.run();
          if (!scope) return;
          for (const id of [...g.kernelDesired.data.tracked.changedKeys.nexthops, ...g.nexthops.data.tracked.changed]) scope.nexthops.add(id);
          for (const key of [...g.kernelDesired.data.tracked.changedKeys.fdb, ...g.fdb.data.tracked.changed]) scope.fdb.add(key);
        };
        for (const groups of specs) {
          g.nodeState.set(spec(groups));
          run();
          for (let round = 0; round < 3; round++) {
            const plan = planKernelSync(g.kernelDesired.data, { nexthops: g.nexthops.data.byId, fdb: g.fdb.data.byKey }, g.nodeState.data.spec!.fabric, undefined, scope);
            scope = { nexthops: new Set(), fdb: new Set() };
            if (plan.ops.length === 0) break;
            for (const op of plan.ops) applyKernelEvent(g, observedAfter(op, g.nodeState.data.spec!.fabric));
            run();
          }
          commitDesired(g);
          // A full plan finds nothing the scoped plans missed.
          const left = planKernelSync(g.kernelDesired.data, { nexthops: g.nexthops.data.byId, fdb: g.fdb.data.byKey }, g.nodeState.data.spec!.fabric);
          expect(left.ops).toEqual([]);
          // Every MAC of a live group is forwarded by OVS to exactly its VTEPs with its weights.
          for (const sg of groups) {
            const placement = g.kernelDesired.data.placements.get(sg.name)!;
            // A group no MAC uses needs no OpenFlow group ("one per nexthop group in use").
            if (placement.problem || sg.macs.length === 0) continue;
            const ofId = g.groupIds.data.ofGroupOf.get(placement.nexthopGroupId!)!;
            expectWeightShares(g.ofDesired.data.groups.get(ofId)!.buckets, sg.vteps);
            for (const m of sg.macs) {
              const flow = [...g.ofDesired.data.flows.values()].find((f) => f.match.ethDst === m && f.match.metadata === BigInt(sg.vni));
              expect(flow?.actions).toContainEqual({ type: 'group', groupId: ofId });
            }
          }
        }
        expect(ofState(g)).toEqual(ofState(restartedFrom(g)));
        expectRecomputeAgrees(g);
      }),
      { numRuns: 200 },
    );
  }, PROPERTY_TIMEOUT_MS);
});

describe('engine graph: a spec in parts (the groups read from VtepGroups) equals the whole spec', () => {
  const ips = ['192.0.2.2', '192.0.2.3', '192.0.2.4'];
  const groupArb = fc.record({
    name: fc.constantFrom('a', 'b', 'c', 'd'),
    vni: fc.constantFrom(100, 200, 300),
    vteps: fc.uniqueArray(fc.constantFrom(...ips), { minLength: 1, maxLength: 3 }).chain((vs) =>
      fc.tuple(...vs.map((ip) => fc.integer({ min: 1, max: 4 }).map((weight) => ({ vtep: ip, weight })))),
    ),
    macs: fc.uniqueArray(fc.integer({ min: 0, max: 8 }).map(mac), { maxLength: 3 }),
    generation: fc.integer({ min: 1, max: 3 }),
  });
  const specArb = fc.uniqueArray(groupArb, { selector: (g) => g.name, maxLength: 4 });

  function kernelState(g: AgentGraph) {
    const kd = g.kernelDesired.data;
    return {
      nexthops: [...kd.nexthops.values()].map((n) => `${n.id}=${n.gateway}`).sort(),
      groups: [...kd.groups.values()].map((x) => `${x.id}:${x.members.map((m) => `${m.id}/${m.weight}`).join(',')}`).sort(),
      fdb: [...kd.fdb.keys()].sort(),
      placements: [...kd.placements.values()].map((p) => `${p.name}:${p.problem ?? ''}:${p.nexthopGroupId ?? ''}`).sort(),
      devices: [...g.devices.data.vnis],
      vnis: [...g.nodeState.data.vnis].sort(),
    };
  }

  /** Per group, what the kernel is to hold, in gateways and MACs (no ids). */
  function kernelByGroup(g: AgentGraph) {
    const kd = g.kernelDesired.data;
    return Object.fromEntries([...kd.placements.values()].map((p) => {
      const members = p.nexthopGroupId === undefined ? [] : kd.groups.get(p.nexthopGroupId)!.members.map((m) => `${kd.nexthops.get(m.id)!.gateway}/${m.weight}`).sort();
      const macs = [...kd.fdb.values()].filter((e) => e.nhid === p.nexthopGroupId).map((e) => e.mac).sort();
      return [p.name, { problem: p.problem, members, macs, withheld: [...p.withheldMacs].sort() }];
    }));
  }
  function statusWithoutIds(g: AgentGraph) {
    return [...g.status.data.groups.values()].map(({ nexthopGroupId: _n, ofGroupId: _o, ...rest }) => rest).sort((x, y) => (x.name < y.name ? -1 : 1));
  }

  it('for any sequence of group sets, removals and batches, the parts give what the wholes give', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(specArb, fc.boolean()), { minLength: 1, maxLength: 8 }), (steps) => {
        const whole = graphWith();
        const parts = graphWith();
        let previous = new Map<string, (typeof steps)[number][0][number]>();
        let split = false;
        for (const [groups, runBetween] of steps) {
          whole.nodeState.set(spec(groups));
          const now = new Map(groups.map((x) => [x.name, x]));
          // In name order, as the whole spec's groups are placed (ids are allocated in that order).
          const changed = groups.filter((x) => JSON.stringify(previous.get(x.name)) !== JSON.stringify(x)).sort((x, y) => (x.name < y.name ? -1 : 1));
          const removed = [...previous.keys()].filter((name) => !now.has(name as typeof groups[number]['name']));
          // Split in two updates (one run or two): the order and batching of parts must not matter.
          parts.nodeState.update({ groups: changed.slice(0, 1), removed });
          if (runBetween) parts.engine.run();
          parts.nodeState.update({ groups: changed.slice(1) });
          whole.engine.run();
          parts.engine.run();
          // Batched as the whole specs were: the same ids. Once split in two runs, ids may have
          // been allocated in another order; what is written for each group is the same.
          if (runBetween) split = true;
          if (!split) {
            expect(kernelState(parts)).toEqual(kernelState(whole));
            expect(ofState(parts)).toEqual(ofState(whole));
            expect(statusState(parts)).toEqual(statusState(whole));
          }
          expect(kernelByGroup(parts)).toEqual(kernelByGroup(whole));
          expect(statusWithoutIds(parts)).toEqual(statusWithoutIds(whole));
          previous = now;
        }
        expectRecomputeAgrees(parts);
      }),
      { numRuns: 200 },
    );
  }, PROPERTY_TIMEOUT_MS);

  it('one group changed among 1,000 is one tracked name: no recompute downstream, no walk over the others', () => {
    const groups = Array.from({ length: 1000 }, (_, i) => ({
      name: `g${String(i).padStart(4, '0')}`, generation: 1, vni: i % 2 === 0 ? 100 : 200,
      vteps: [{ vtep: '192.0.2.2', weight: 1 }, { vtep: '192.0.2.3', weight: 1 }], macs: [`02:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}:01`],
    }));
    const g = graphWith();
    g.nodeState.update({ settings: { generation: 1, fabric: fabric() }, groups });
    g.engine.run();
    expect(g.kernelDesired.data.placements.size).toBe(1000);
    const before = g.engine.nodeStats();
    let tracked: string[] = [];
    let vnisChanged = true;
    // Read inside the run: the engine clears tracked changes at the start of the next one.
    const changedOf = g.nodeState.recompute.bind(g.nodeState);
    g.nodeState.recompute = () => {
      const r = changedOf();
      tracked = [...g.nodeState.data.tracked.changedGroups];
      vnisChanged = g.nodeState.data.tracked.vnisChanged;
      return r;
    };
    g.nodeState.update({ groups: [{ ...groups[7]!, generation: 2, vteps: [{ vtep: '192.0.2.2', weight: 3 }, { vtep: '192.0.2.3', weight: 1 }] }] });
    g.engine.run();
    expect(tracked).toEqual(['g0007']);
    expect(vnisChanged).toBe(false);
    const after = g.engine.nodeStats();
    for (const node of ['kernelDesired', 'devices', 'localExport', 'status']) {
      expect(after[node]!.recompute, node).toBe(before[node]!.recompute);
    }
    const nhid = g.kernelDesired.data.placements.get('g0007')!.nexthopGroupId!;
    expect(g.kernelDesired.data.groups.get(nhid)!.members.map((m) => m.weight)).toEqual([3, 1]);
    // A group removed, and the last group of a VNI gone: the VNI goes with it.
    g.nodeState.update({ removed: groups.filter((x) => x.vni === 200).map((x) => x.name) });
    g.engine.run();
    expect(vnisChanged).toBe(true);
    expect([...g.nodeState.data.vnis]).toEqual([[100, 500]]);
    expect(g.kernelDesired.data.placements.size).toBe(500);
  });
});
