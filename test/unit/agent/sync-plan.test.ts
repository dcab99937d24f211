import { describe, expect, it } from 'vitest';
import { observedAfter, planKernelSync } from '../../../src/agent/sync/kernel-plan.js';
import { NTF_MASTER, NTF_SELF } from '../../../src/agent/model.js';
import { planOfSync, sameGroup, type OfState } from '../../../src/agent/openflow/diff.js';
import type { KernelFdbEntry, KernelNexthop, OfFlow, OfGroup } from '../../../src/agent/model.js';
import { flowKey } from '../../../src/agent/openflow/pipeline.js';
import { NH_START, PROTO, fabric, fdbGroup, fdbNh } from './fixtures.js';

const F = fabric();
const ours = (nh: KernelNexthop): KernelNexthop => ({ ...nh, protocol: PROTO });

describe('kernel sync plan', () => {
  const desired = {
    nexthops: new Map([[NH_START + 1, { id: NH_START + 1, gateway: '192.0.2.2' }], [NH_START + 2, { id: NH_START + 2, gateway: '192.0.2.3' }]]),
    groups: new Map([[NH_START + 3, { id: NH_START + 3, members: [{ id: NH_START + 1, weight: 3 }, { id: NH_START + 2, weight: 1 }] }]]),
    fdb: new Map([['10/02:00:00:00:00:aa/0', { ifindex: 10, mac: '02:00:00:00:00:aa', nhid: NH_START + 3 }]]),
  };

  it('adds nexthops, then groups, then FDB entries', () => {
    const plan = planKernelSync(desired, { nexthops: new Map(), fdb: new Map() }, F);
    expect(plan.ops.map((o) => o.op)).toEqual(['setNexthop', 'setNexthop', 'setGroup', 'setFdb']);
    expect(plan.ops.every((o) => !('replace' in o) || !o.replace)).toBe(true);
  });

  it('replaces a group in place on a weight change and deletes only what it owns, entries before groups before nexthops', () => {
    const nexthops = new Map<number, KernelNexthop>([
      [NH_START + 1, ours(fdbNh(NH_START + 1, '192.0.2.2'))],
      [NH_START + 2, ours(fdbNh(NH_START + 2, '192.0.2.3'))],
      [NH_START + 3, ours(fdbGroup(NH_START + 3, [[NH_START + 1, 1], [NH_START + 2, 1]]))],
      [NH_START + 4, ours(fdbNh(NH_START + 4, '192.0.2.9'))],
      [NH_START + 5, ours(fdbGroup(NH_START + 5, [[NH_START + 4, 1]]))],
      [NH_START + 6, fdbNh(NH_START + 6, '192.0.2.10')], // another protocol in our range: never touched
      [7, ours(fdbNh(7, '192.0.2.11'))], // our protocol outside our range: never touched
      [8, fdbGroup(8, [[7, 1]])],
    ]);
    const fdb = new Map<string, KernelFdbEntry>([
      ['10/02:00:00:00:00:aa/0', { ifindex: 10, mac: '02:00:00:00:00:aa', vlan: 0, nhid: NH_START + 3, state: 0x42, flags: 2 }],
      ['10/02:00:00:00:00:bb/0', { ifindex: 10, mac: '02:00:00:00:00:bb', vlan: 0, nhid: NH_START + 5, state: 0x42, flags: 2 }],
      ['10/02:00:00:00:00:cc/0', { ifindex: 10, mac: '02:00:00:00:00:cc', vlan: 0, nhid: 8, state: 0x40, flags: 0x12 }],
    ]);
    const plan = planKernelSync(desired, { nexthops, fdb }, F);
    expect(plan.ops).toEqual([
      { op: 'setGroup', replace: true, id: NH_START + 3, members: [{ id: NH_START + 1, weight: 3 }, { id: NH_START + 2, weight: 1 }] },
      { op: 'delFdb', ifindex: 10, mac: '02:00:00:00:00:bb' },
      { op: 'delNexthop', id: NH_START + 5, group: true },
      { op: 'delNexthop', id: NH_START + 4, group: false },
    ]);
    expect([...plan.conflicts.values()]).toEqual([]);
  });

  it('reports, and never overwrites, a MAC held by an entry it did not write', () => {
    const fdb = new Map<string, KernelFdbEntry>([['10/02:00:00:00:00:aa/0', { ifindex: 10, mac: '02:00:00:00:00:aa', vlan: 0, nhid: 8, state: 0x40, flags: 0x12 }]]);
    const plan = planKernelSync(desired, { nexthops: new Map([[8, fdbGroup(8, [])]]), fdb }, F);
    expect(plan.ops.some((o) => o.op === 'setFdb')).toBe(false);
    expect([...plan.conflicts.values()]).toEqual([{ object: 'fdb 02:00:00:00:00:aa on ifindex 10', reason: 'held by an extern_learn entry this agent did not write' }]);
  });

  it('holds an exported local MAC, once written, as the bridge entry it is (a lookup of it must ask the bridge: a veth has no fdb get)', () => {
    const written = observedAfter({ op: 'setLocalMac', ifindex: 20, mac: '02:00:00:00:01:01', vlan: 0 }, F);
    expect(written.kind === 'fdb' && written.entry.flags & (NTF_MASTER | NTF_SELF)).toBe(NTF_MASTER);
    const deleted = observedAfter({ op: 'delLocalMac', ifindex: 20, mac: '02:00:00:00:01:01', vlan: 0 }, F);
    expect(deleted.kind === 'fdb' && deleted.entry.flags & (NTF_MASTER | NTF_SELF)).toBe(NTF_MASTER);
  });
});

describe('OVS sync plan', () => {
  const group = (weights: number[]): OfGroup => ({
    groupId: 65546,
    type: 'select',
    selectionMethod: 'dp_hash',
    buckets: weights.map((weight, i) => ({ bucketId: i, weight, tunDst: `192.0.2.${i + 2}`, outPort: 9 })),
  });
  const flow = (m: string, cookie = 0x45564e000000000an, groupId = 65546): OfFlow => ({
    table: 1, priority: 100, cookie, match: { metadata: 100n, ethDst: m }, actions: [{ type: 'setTunId', value: 100n }, { type: 'group', groupId }],
  });
  const state = (groups: OfGroup[], flows: OfFlow[]): OfState => ({
    groups: new Map(groups.map((g) => [g.groupId, g])),
    flows: new Map(flows.map((f) => [flowKey(f), f])),
  });

  it('orders groups before flows on add and flows before groups on delete', () => {
    const add = planOfSync(state([group([3, 1])], [flow('02:00:00:00:00:aa')]), state([], []));
    expect(add.map((c) => `${c.kind}:${c.command}`)).toEqual(['group:add', 'flow:add']);
    const del = planOfSync(state([], []), state([group([3, 1])], [flow('02:00:00:00:00:aa')]));
    expect(del.map((c) => `${c.kind}:${c.command}`)).toEqual(['flow:deleteStrict', 'group:delete']);
  });

  it('modifies a group in place for a weight change, whatever number of flows use it', () => {
    const flows = Array.from({ length: 10_000 }, (_, i) => flow(`02:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`));
    const installed = state([group([3, 1])], flows);
    const changes = planOfSync(state([group([1, 1])], flows), installed);
    expect(changes).toEqual([{ kind: 'group', command: 'modify', group: group([1, 1]) }]);
    expect(planOfSync(state([group([1, 1])], flows), state([group([1, 1])], flows))).toEqual([]);
  });

  it('uses MODIFY_STRICT for new actions and ADD for a new cookie', () => {
    const installed = state([group([1])], [flow('02:00:00:00:00:aa'), flow('02:00:00:00:00:bb')]);
    const changes = planOfSync(state([group([1])], [flow('02:00:00:00:00:aa', 0x45564e000000000an, 65547), flow('02:00:00:00:00:bb', 0x45564e000000000bn)]), installed);
    expect(changes.map((c) => `${c.kind}:${c.command}`)).toEqual(['flow:modifyStrict', 'flow:add']);
  });
});

describe('sameGroup', () => {
  const group = (tunDsts: string[], weight = 1): OfGroup => ({
    groupId: 65536,
    type: 'select',
    selectionMethod: 'dp_hash',
    buckets: tunDsts.map((tunDst, bucketId) => ({ bucketId, weight, tunDst, outPort: 9 })),
  });

  it('is field by field, bucket order included', () => {
    expect(sameGroup(group(['192.0.2.2', '192.0.2.3']), group(['192.0.2.2', '192.0.2.3']))).toBe(true);
    expect(sameGroup(group(['192.0.2.2', '192.0.2.3']), group(['192.0.2.3', '192.0.2.2']))).toBe(false);
    expect(sameGroup(group(['192.0.2.2']), group(['192.0.2.2'], 2))).toBe(false);
    expect(sameGroup(group(['192.0.2.2']), { ...group(['192.0.2.2']), selectionMethod: 'hash' })).toBe(false);
  });

  it('compares addresses as the kernel and Open vSwitch spell them, and the kind of group', () => {
    expect(sameGroup(group(['2001:db8::2']), group(['2001:db8::3']))).toBe(false);
    expect(sameGroup(group(['192.0.2.2']), { ...group(['192.0.2.2']), type: 'all', selectionMethod: undefined })).toBe(false);
  });
});
