import { describe, expect, it } from 'vitest';
import { parseVtepNodeState, type VtepNodeStateStatus } from '../../../src/api/index.js';
import { flowKey, fromFlowStats, fromGroupDesc, Pipeline, type OfChange } from '../../../src/agent/openflow/pipeline.js';
import { sameFlow } from '../../../src/agent/openflow/diff.js';
import { toFdbEntry, toNexthop } from '../../../src/agent/edge/kernel.js';
import { nodeSpecFrom } from '../../../src/agent/spec.js';
import { buildStatus, type SyncFacts } from '../../../src/agent/status-report.js';
import { groupText } from '../../../src/agent/openflow/text.js';
import type { OfFlow, OfGroup } from '../../../src/agent/model.js';
import type { FlowStats, GroupDesc } from '../../../src/lib/openflow/index.js';
import { fabric } from './fixtures.js';

describe('OpenFlow translation', () => {
  const cookies = { cookie: 0x45564e0000000000n, cookieMask: 0xffffffff00000000n };
  const pipeline = new Pipeline(fabric().ovs);
  const toBundleMessages = (changes: OfChange[]) => changes.map((c) => pipeline.toMessage(c));
  const ecmpFlow: OfFlow = {
    table: 1, priority: 100, cookie: 0x45564e000000000an, match: { metadata: 100n, ethDst: '02:00:00:00:00:aa' },
    actions: [{ type: 'setTunId', value: 100n }, { type: 'group', groupId: 65546 }],
  };
  const classifier: OfFlow = { table: 0, priority: 100, cookie: cookies.cookie, match: { inPort: 3 }, actions: [], writeMetadata: 100n, gotoTable: 1 };
  const group: OfGroup = { groupId: 65546, type: 'select', selectionMethod: 'dp_hash', buckets: [{ bucketId: 0, weight: 3, tunDst: '2001:db8::2', outPort: 9 }] };

  it('round-trips flows and groups through the library types', () => {
    const msgs = toBundleMessages([{ kind: 'group', command: 'add', group }, { kind: 'flow', command: 'add', key: 'k', flow: ecmpFlow }, { kind: 'flow', command: 'add', key: 'c', flow: classifier }]);
    const first = msgs[0]!;
    const gm = first.type === 'groupMod' ? first.groupMod : undefined;
    expect(gm?.buckets[0]?.actions).toEqual([{ type: 'setField', field: 'tun_ipv6_dst', value: '2001:db8::2' }, { type: 'output', port: 9 }]);
    const desc: GroupDesc = { groupId: gm!.groupId, type: 'select', selectionMethod: gm!.selectionMethod!, buckets: gm!.buckets };
    expect(fromGroupDesc(desc)).toEqual(group);
    expect(groupText(fromGroupDesc(desc))).toBe(groupText(group));
    for (const [i, f] of [ecmpFlow, classifier].entries()) {
      const m = msgs[i + 1]!;
      if (m.type !== 'flowMod') throw new Error('expected a flow mod');
      const stats: FlowStats = { tableId: m.flowMod.tableId, priority: m.flowMod.priority!, idleTimeout: 0, hardTimeout: 0, flags: 0, importance: 0, cookie: m.flowMod.cookie, durationSec: 1, durationNsec: 0, packetCount: 0n, byteCount: 0n, match: m.flowMod.match, instructions: m.flowMod.instructions };
      const back = fromFlowStats(stats);
      expect(sameFlow(back, f)).toBe(true);
      expect(flowKey(back)).toBe(flowKey(f));
    }
  });

  it('restricts strict modify and delete to the fabric cookie', () => {
    const [mod, del] = toBundleMessages([{ kind: 'flow', command: 'modifyStrict', key: 'k', flow: ecmpFlow }, { kind: 'flow', command: 'deleteStrict', key: 'k', flow: ecmpFlow }]);
    if (mod?.type !== 'flowMod' || del?.type !== 'flowMod') throw new Error('expected flow mods');
    expect(mod.flowMod.cookieMask).toBe(cookies.cookieMask);
    expect([del.flowMod.cookie, del.flowMod.cookieMask]).toEqual([cookies.cookie, cookies.cookieMask]);
  });

  it('marks installed objects of a foreign shape, so they get rewritten rather than misread', () => {
    const g = fromGroupDesc({ groupId: 65546, type: 'select', buckets: [{ actions: [{ type: 'output', port: 1 }] }] });
    expect(g.foreign).toContain('bucket0=output');
    expect(fromGroupDesc({ groupId: 65546, type: 'ff', buckets: [] }).foreign).toContain('type=ff');
    const f = fromFlowStats({ tableId: 1, priority: 100, idleTimeout: 0, hardTimeout: 0, flags: 0, importance: 0, cookie: cookies.cookie, durationSec: 0, durationNsec: 0, packetCount: 0n, byteCount: 0n, match: { ethType: 0x800 }, instructions: [{ type: 'clearActions' }] });
    expect(f.foreignMatch).toContain('ethType');
    expect(f.actions).toEqual([{ type: 'other', text: 'instruction:clearActions' }]);
  });
});

describe('rtnetlink translation', () => {
  it('maps nexthops and FDB entries into domain objects', () => {
    expect(toNexthop({ id: 20, family: 0, scope: 0, protocol: 236, flags: 0, fdb: true, blackhole: false, group: [{ id: 1, weight: 300 }] })).toEqual({ id: 20, protocol: 236, family: 0, fdb: true, members: [{ id: 1, weight: 300 }] });
    expect(toNexthop({ id: 1, family: 10, scope: 0, protocol: 4, flags: 0, fdb: true, blackhole: false, gateway: '2001:db8::1' }).family).toBe(6);
    expect(toFdbEntry({ family: 7, ifindex: 5, state: 0x42, flags: 2, ndmType: 0, mac: '02:00:00:00:00:AA', nhid: 20 })).toEqual({ ifindex: 5, mac: '02:00:00:00:00:aa', vlan: 0, state: 0x42, flags: 2, nhid: 20 });
    // The bridge's entry (`extern_learn master br0`): the kernel sends NDA_MASTER and no NTF_MASTER flag; the edge flags it.
    expect(toFdbEntry({ family: 7, ifindex: 5, state: 0x02, flags: 0x10, ndmType: 0, mac: '02:00:00:00:00:AA', master: 4 })).toEqual({ ifindex: 5, mac: '02:00:00:00:00:aa', vlan: 0, state: 0x02, flags: 0x14 });
  });
});

describe('spec and status', () => {
  const state = parseVtepNodeState({
    apiVersion: 'evpn.ecmp.dev/v1alpha1',
    kind: 'VtepNodeState',
    metadata: { name: 'node-a', generation: 3 },
    spec: {
      fabric: 'default',
      localVtepIP: '192.0.2.1',
      ovs: {},
      kernel: {},
      groups: [
        { name: 'ok', generation: 2, vni: 100, vteps: [{ ip: '192.0.2.2', weight: 3 }], macs: ['02:00:00:00:00:aa'] },
        { name: 'v6', generation: 1, vni: 100, vteps: [{ ip: '2001:db8::2', weight: 1 }], macs: [] },
      ],
    },
  });

  it('resolves defaults and marks a group whose VTEPs fail the per-node checks', () => {
    const spec = nodeSpecFrom(state);
    expect(spec.generation).toBe(3);
    expect(spec.fabric.ovs.cookie).toBe(0x45564e0000000000n);
    expect(spec.fabric.kernel.nexthopIdRange).toEqual({ start: 3959422976, size: 1048576 });
    expect(spec.groups[0]).toMatchObject({ vteps: [{ vtep: '192.0.2.2', weight: 3 }], macs: ['02:00:00:00:00:aa'] });
    expect(spec.groups[0]!.invalid).toBeUndefined();
    expect(spec.groups[1]!.invalid).toMatch(/vteps/);
  });

  it('is Ready only when every group is programmed, and keeps transition times while a condition holds', () => {
    const facts: SyncFacts = { generation: 3, specError: undefined, kernelManaged: true, kernelSynced: true, kernelMessage: '', ovsConnected: true, ovsMessage: '', ovsSynced: true, ovsSyncMessage: '', drift: { found: false, message: '' }, lastSyncTime: undefined };
    const group = { name: 'ok', vni: 100, generation: 2, paths: [{ vtep: '192.0.2.2', weight: 3 }], droppedPaths: [], macs: 1, kernelApplied: true, ovsPlanned: false, message: '' };
    const t0 = new Date('2026-11-21T06:00:00Z');
    const pending = buildStatus({ groups: new Map([[group.name, group]]), learned: { ecmp: 0, singlePath: 0, invalid: {} }, flood: [], local: [], exhaustion: { nexthopGroups: [], selectGroups: [], floodVnis: [] } }, facts, undefined, t0);
    expect(pending.conditions![0]).toMatchObject({ type: 'Ready', status: 'False', reason: 'GroupsPending' });
    const done: VtepNodeStateStatus = buildStatus({ groups: new Map([[group.name, { ...group, ovsPlanned: true, nexthopGroupId: 7, ofGroupId: 65543 }]]), learned: { ecmp: 1, singlePath: 0, invalid: { NotFdb: 2 } }, flood: [], local: [], exhaustion: { nexthopGroups: [], selectGroups: [], floodVnis: [] } }, facts, pending, new Date('2026-11-21T06:00:05Z'));
    expect(done.conditions![0]).toMatchObject({ type: 'Ready', status: 'True', lastTransitionTime: '2026-11-21T06:00:05Z' });
    expect(done.conditions![1]).toMatchObject({ type: 'KernelSynced', status: 'True', lastTransitionTime: '2026-11-21T06:00:00Z' });
    expect(done.groups![0]).toMatchObject({ state: 'Programmed', appliedGeneration: 2, nexthopGroupId: 7, ofGroupId: 65543 });
    expect(done.summary).toEqual({ groups: 1, paths: 1, macs: 1, invalid: 2 });
    const rejected = buildStatus({ groups: new Map([[group.name, { ...group, ovsPlanned: true }]]), learned: { ecmp: 0, singlePath: 0, invalid: {} }, flood: [], local: [], exhaustion: { nexthopGroups: [], selectGroups: [], floodVnis: [] } }, { ...facts, specError: 'spec.x: bad' }, done, new Date());
    expect(rejected.conditions![0]).toMatchObject({ status: 'False', reason: 'StateRejected', message: 'spec.x: bad' });
  });
});
