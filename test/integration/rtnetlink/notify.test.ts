import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Netns } from '../../harness/netns.js';
import { KERNEL_TOOLS, missingPrerequisites } from '../../harness/prereq.js';
import { fdbFromIproute, fdbFromLibrary, nexthopsFromIproute, nexthopsFromLibrary, type BridgeFdb, type IpNexthop } from './compare.js';
import { LibraryChild } from './library-child.js';

const skip = missingPrerequisites(KERNEL_TOOLS);

type Ev = Record<string, any>;
const nh = (op: string, id: number) => (e: Ev) => e.kind === 'nexthop' && e.op === op && e.nexthop.id === id;
const neigh = (op: string, mac: string) => (e: Ev) => e.kind === 'neigh' && e.op === op && e.entry.mac === mac;

describe.skipIf(skip)('rtnetlink notifications', () => {
  let ns: Netns;
  let lib: LibraryChild;
  let vx: number;
  beforeEach(async () => {
    ns = await Netns.create();
    vx = await ns.addVxlan('vx100', 100, { local: '192.0.2.1' });
    lib = await LibraryChild.start(ns);
    await lib.call('subscribe', ['nexthop', 'neigh', 'link']);
  });
  afterEach(async () => {
    await lib.stop();
    await ns.destroy();
  });

  it('delivers add, replace and delete of nexthops, groups and FDB entries as decoded events', async () => {
    await ns.ip('nexthop', 'add', 'id', '10', 'via', '198.51.100.2', 'fdb');
    await ns.ip('nexthop', 'add', 'id', '11', 'via', '198.51.100.3', 'fdb');
    await ns.ip('nexthop', 'add', 'id', '20', 'group', '10,3/11', 'fdb');
    await ns.bridge('fdb', 'add', '02:00:00:00:00:aa', 'dev', 'vx100', 'self', 'static', 'nhid', '20');
    await lib.waitFor((evs) => evs.some(neigh('new', '02:00:00:00:00:aa')));
    let evs = lib.take();
    expect(evs.find(nh('new', 10))?.nexthop).toMatchObject({ id: 10, gateway: '198.51.100.2', fdb: true, family: 2 });
    expect(evs.find(nh('new', 20))?.nexthop).toMatchObject({ id: 20, fdb: true, group: [{ id: 10, weight: 3 }, { id: 11, weight: 1 }] });
    expect(evs.find(neigh('new', '02:00:00:00:00:aa'))?.entry).toMatchObject({ ifindex: vx, nhid: 20, state: 0x42, flags: 2 });

    // Weight change on the group: one RTM_NEWNEXTHOP for the group.
    await ns.ip('nexthop', 'replace', 'id', '20', 'group', '10,1/11,5', 'fdb');
    await lib.waitFor((e) => e.some(nh('new', 20)));
    expect(lib.take().find(nh('new', 20))?.nexthop.group).toEqual([{ id: 10, weight: 1 }, { id: 11, weight: 5 }]);

    // FDB entry re-pointed at another group, then deleted.
    await ns.ip('nexthop', 'add', 'id', '21', 'group', '11', 'fdb');
    await ns.bridge('fdb', 'replace', '02:00:00:00:00:aa', 'dev', 'vx100', 'self', 'static', 'nhid', '21');
    await lib.waitFor((e) => e.some((x) => neigh('new', '02:00:00:00:00:aa')(x) && x.entry.nhid === 21));
    await ns.bridge('fdb', 'del', '02:00:00:00:00:aa', 'dev', 'vx100', 'self');
    await lib.waitFor((e) => e.some(neigh('del', '02:00:00:00:00:aa')));
    evs = lib.take();
    expect(evs.find(neigh('del', '02:00:00:00:00:aa'))?.entry).toMatchObject({ ifindex: vx, nhid: 21 });

    // Link events carry decoded VXLAN data.
    await ns.ip('link', 'set', 'vx100', 'down');
    await lib.waitFor((e) => e.some((x) => x.kind === 'link' && x.link.name === 'vx100'));
    expect(lib.take().find((x) => x.kind === 'link')?.link.vxlan).toMatchObject({ vni: 100, local: '192.0.2.1' });
  });

  it('deleting a member sends the member delete and the group update', async () => {
    await ns.ip('nexthop', 'add', 'id', '10', 'via', '198.51.100.2', 'fdb');
    await ns.ip('nexthop', 'add', 'id', '11', 'via', '198.51.100.3', 'fdb');
    await ns.ip('nexthop', 'add', 'id', '20', 'group', '10/11', 'fdb');
    await lib.waitFor((e) => e.some(nh('new', 20)));
    lib.take();
    await ns.ip('nexthop', 'del', 'id', '10');
    await lib.waitFor((e) => e.some(nh('del', 10)));
    await lib.waitFor((e) => e.some(nh('new', 20)));
    const evs = lib.take();
    expect(evs.find(nh('new', 20))?.nexthop.group).toEqual([{ id: 11, weight: 1 }]);
    // On Linux 6.18 the member's RTM_DELNEXTHOP comes first, then the group's RTM_NEWNEXTHOP.
    expect(evs.findIndex(nh('del', 10))).toBeLessThan(evs.findIndex(nh('new', 20)));
  });

  it('deleting a group removes its FDB entries without any neighbour deletion event', async () => {
    await ns.ip('nexthop', 'add', 'id', '10', 'via', '198.51.100.2', 'fdb');
    await ns.ip('nexthop', 'add', 'id', '20', 'group', '10', 'fdb');
    await ns.bridge('fdb', 'add', '02:00:00:00:00:01', 'dev', 'vx100', 'self', 'static', 'nhid', '20');
    await ns.bridge('fdb', 'add', '02:00:00:00:00:02', 'dev', 'vx100', 'self', 'static', 'nhid', '20');
    await lib.waitFor((e) => e.some(neigh('new', '02:00:00:00:00:02')));
    lib.take();
    await ns.ip('nexthop', 'del', 'id', '20');
    await lib.waitFor((e) => e.some(nh('del', 20)));
    // A marker change after the delete: once its event is here, anything the delete caused is too.
    await ns.ip('nexthop', 'add', 'id', '99', 'via', '198.51.100.99', 'fdb');
    await lib.waitFor((e) => e.some(nh('new', 99)));
    const evs = lib.take();
    expect(evs.filter((e) => e.kind === 'neigh')).toEqual([]);
    expect(await ns.bridgeJson('fdb', 'show', 'dev', 'vx100')).toEqual([]);
    expect(await lib.call('listFdb', vx)).toEqual([]);
  });

  it("replacing a member's gateway notifies only the member, not the groups containing it", async () => {
    await ns.ip('nexthop', 'add', 'id', '10', 'via', '198.51.100.2', 'fdb');
    await ns.ip('nexthop', 'add', 'id', '20', 'group', '10', 'fdb');
    await ns.ip('nexthop', 'add', 'id', '21', 'group', '10,4', 'fdb');
    await lib.waitFor((e) => e.some(nh('new', 21)));
    lib.take();
    await ns.ip('nexthop', 'replace', 'id', '10', 'via', '198.51.100.7', 'fdb');
    await ns.ip('nexthop', 'add', 'id', '99', 'via', '198.51.100.99', 'fdb');
    await lib.waitFor((e) => e.some(nh('new', 99)));
    const evs = lib.take().filter((e) => !nh('new', 99)(e));
    expect(evs).toHaveLength(1);
    expect(evs[0]).toMatchObject({ kind: 'nexthop', op: 'new', nexthop: { id: 10, gateway: '198.51.100.7' } });
  });

  it('nexthop events for our writes carry our port id (VXLAN FDB events carry 0); applied in order they equal iproute2', async () => {
    const port = await lib.call<number>('portId');
    await lib.call('addFdbNexthop', { id: 1, gateway: '198.51.100.2', protocol: 236 });
    await lib.call('addFdbGroup', { id: 2, members: [{ id: 1, weight: 9 }], protocol: 236 });
    await lib.call('addFdbEntry', { ifindex: vx, mac: '02:00:00:00:00:01', nhid: 2, state: 0x42 });
    await lib.waitFor((e) => e.some(neigh('new', '02:00:00:00:00:01')));
    const evs = lib.take();
    expect(evs.filter((e) => e.kind === 'nexthop').map((e) => e.pid)).toEqual([port, port]);
    // vxlan_fdb_notify() sends with port id 0: FDB changes cannot be attributed to their writer.
    expect(evs.filter((e) => e.kind === 'neigh').map((e) => e.pid)).toEqual([0]);
    // Apply the events to an empty view and compare with iproute2.
    const nexthops = new Map<number, any>();
    const fdb = new Map<string, any>();
    for (const e of evs) {
      if (e.kind === 'nexthop' && e.op === 'new') nexthops.set(e.nexthop.id, e.nexthop);
      if (e.kind === 'nexthop' && e.op === 'del') nexthops.delete(e.nexthop.id);
      if (e.kind === 'neigh' && e.op === 'new') fdb.set(e.entry.mac, e.entry);
      if (e.kind === 'neigh' && e.op === 'del') fdb.delete(e.entry.mac);
    }
    expect(nexthopsFromLibrary([...nexthops.values()])).toEqual(nexthopsFromIproute(await ns.ipJson<IpNexthop>('nexthop', 'show')));
    expect(fdbFromLibrary([...fdb.values()], [{ ifindex: vx, name: 'vx100' } as any])).toEqual(fdbFromIproute(await ns.bridgeJson<BridgeFdb>('fdb', 'show')));
  });
});

describe.skipIf(skip)('rtnetlink: link events', () => {
  it('a VXLAN device leaving a bridge is not reported as deleted (AF_BRIDGE port messages are filtered)', async () => {
    const ns = await Netns.create();
    const lib = await LibraryChild.start(ns);
    try {
      await ns.addVxlan('vx100', 100, { local: '192.0.2.1' });
      await ns.ip('link', 'add', 'br0', 'type', 'bridge');
      await lib.call('subscribe', ['link']);
      await ns.ip('link', 'set', 'vx100', 'master', 'br0');
      await ns.ip('link', 'set', 'vx100', 'nomaster');
      await ns.ip('link', 'del', 'br0');
      await lib.waitFor((e) => e.some((x) => x.op === 'del' && x.link.name === 'br0'));
      const evs = lib.take();
      expect(evs.filter((x) => x.link.name === 'vx100' && x.op === 'del')).toEqual([]);
      expect(evs.some((x) => x.link.name === 'vx100' && x.op === 'new' && x.link.master === undefined)).toBe(true);
      expect(evs.every((x) => x.link.family === 0)).toBe(true);
    } finally {
      await lib.stop();
      await ns.destroy();
    }
  });
});

describe.skipIf(skip)('rtnetlink: VXLAN FDB replace semantics', () => {
  it('replacing an nhid entry with a single destination is accepted but silently ignored (delete and re-add instead)', async () => {
    const ns = await Netns.create();
    try {
      await ns.addVxlan('vx100', 100, { local: '192.0.2.1' });
      await ns.ip('nexthop', 'add', 'id', '10', 'via', '198.51.100.2', 'fdb');
      await ns.ip('nexthop', 'add', 'id', '20', 'group', '10', 'fdb');
      await ns.bridge('fdb', 'add', '02:00:00:00:00:aa', 'dev', 'vx100', 'self', 'static', 'nhid', '20');
      await ns.bridge('fdb', 'replace', '02:00:00:00:00:aa', 'dev', 'vx100', 'self', 'static', 'dst', '198.51.100.9');
      const [entry] = await ns.bridgeJson<BridgeFdb>('fdb', 'show', 'dev', 'vx100');
      expect(entry).toMatchObject({ mac: '02:00:00:00:00:aa', nhid: 20 });
      expect(entry?.dst).toBeUndefined();
    } finally {
      await ns.destroy();
    }
  });
});
