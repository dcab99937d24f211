import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Netns } from '../../harness/netns.js';
import { KERNEL_TOOLS, missingPrerequisites } from '../../harness/prereq.js';
import { FDB_STATE_STATIC, NTF_EXT_LEARNED, NTF_SELF, type FdbEntry, type Link, type Nexthop } from '../../../src/lib/rtnetlink/index.js';
import { fdbFromIproute, fdbFromLibrary, nexthopsFromIproute, nexthopsFromLibrary, type BridgeFdb, type IpNexthop } from './compare.js';
import { LibraryChild } from './library-child.js';

const skip = missingPrerequisites(KERNEL_TOOLS);

describe.skipIf(skip)('rtnetlink round trips against iproute2', () => {
  let ns: Netns;
  let lib: LibraryChild | undefined;
  beforeEach(async () => {
    ns = await Netns.create();
  });
  afterEach(async () => {
    await lib?.stop();
    lib = undefined;
    await ns.destroy();
  });

  async function expectLibraryMatchesIproute(): Promise<void> {
    const [nexthops, fdb, links] = await Promise.all([lib!.call<Nexthop[]>('listNexthops'), lib!.call<FdbEntry[]>('listFdb'), lib!.call<Link[]>('listLinks')]);
    const ipNexthops = await ns.ipJson<IpNexthop>('nexthop', 'show');
    const bridgeFdb = await ns.bridgeJson<BridgeFdb>('fdb', 'show');
    expect(nexthopsFromLibrary(nexthops)).toEqual(nexthopsFromIproute(ipNexthops));
    expect(fdbFromLibrary(fdb, links)).toEqual(fdbFromIproute(bridgeFdb));
  }

  it('reads state built with ip and bridge exactly as iproute2 reports it (IPv4 and IPv6 VTEPs)', async () => {
    await ns.addVxlan('vx4', 100, { local: '192.0.2.1' });
    await ns.addVxlan('vx6', 200, { local: '2001:db8::1' });
    const batch = [
      'nexthop add id 10 via 198.51.100.2 fdb',
      'nexthop add id 11 via 198.51.100.3 fdb proto 236',
      'nexthop add id 20 group 10,256/11 fdb',
      'nexthop add id 21 group 10/11,7 fdb proto static',
      'nexthop add id 30 via 2001:db8:1::2 fdb',
      'nexthop add id 31 via 2001:db8:1::3 fdb',
      'nexthop add id 40 group 30,3/31 fdb',
    ];
    for (const line of batch) await ns.ip(...line.split(' '));
    for (const line of [
      'fdb add 02:00:00:00:00:01 dev vx4 self static nhid 20',
      'fdb add 02:00:00:00:00:02 dev vx4 self extern_learn nhid 21',
      'fdb add 02:00:00:00:00:03 dev vx4 self permanent dst 198.51.100.9 vni 77',
      'fdb append 00:00:00:00:00:00 dev vx4 self permanent dst 198.51.100.10',
      'fdb append 00:00:00:00:00:00 dev vx4 self permanent dst 198.51.100.11',
      'fdb add 02:00:00:00:00:04 dev vx6 self static nhid 40',
      'fdb add 02:00:00:00:00:05 dev vx6 self dst 2001:db8:1::9',
    ]) {
      await ns.bridge(...line.split(' '));
    }
    lib = await LibraryChild.start(ns);
    await expectLibraryMatchesIproute();

    // Spot checks on what the comparison is made of, so an empty dump cannot pass.
    const nexthops = await lib.call<Nexthop[]>('listNexthops');
    expect(nexthops.find((n) => n.id === 20)?.group).toEqual([{ id: 10, weight: 256 }, { id: 11, weight: 1 }]);
    expect(nexthops.find((n) => n.id === 31)).toMatchObject({ family: 10, gateway: '2001:db8:1::3', fdb: true });
    expect(nexthops.find((n) => n.id === 11)?.protocol).toBe(236);
    const fdb = await lib.call<FdbEntry[]>('listFdb');
    expect(fdb).toHaveLength(7);
    expect(fdb.find((e) => e.mac === '02:00:00:00:00:02')).toMatchObject({ nhid: 21, flags: NTF_SELF | NTF_EXT_LEARNED });
    expect(fdb.find((e) => e.mac === '02:00:00:00:00:05')?.dst).toBe('2001:db8:1::9');

    // Per-device dump returns only that device's entries.
    const vx6 = await lib.call<Link>('getLinkByName', 'vx6');
    const only6 = await lib.call<FdbEntry[]>('listFdb', vx6.ifindex);
    expect(only6.map((e) => e.mac).sort()).toEqual(['02:00:00:00:00:04', '02:00:00:00:00:05']);
    expect(vx6.vxlan).toMatchObject({ vni: 200, local: '2001:db8::1', port: 4789, learning: false });
    expect(await lib.call('getLinkByName', 'nope0')).toBeNull();
    expect(await lib.call('getNexthop', 999)).toBeNull();
  });

  it('writes state that iproute2 reads back the same way', async () => {
    lib = await LibraryChild.start(ns);
    const vx4 = await lib.call<Link>('createVxlan', { name: 'vx4', vni: 100, local: '192.0.2.1', port: 4789, learning: false });
    const vx6 = await lib.call<Link>('createVxlan', { name: 'vx6', vni: 200, local: '2001:db8::1', port: 4790, learning: false });
    const [link4] = await ns.ipJson<any>('-d', 'link', 'show', 'dev', 'vx4');
    expect(link4.linkinfo.info_kind).toBe('vxlan');
    expect(link4.linkinfo.info_data).toMatchObject({ id: 100, local: '192.0.2.1', port: 4789, learning: false });
    expect(link4.inet6_addr_gen_mode).toBe('none');
    expect(link4.flags).toContain('UP');
    // (An external device cannot come up on the UDP port of a VNI device: EADDRINUSE.)
    const ext = await lib.call<Link>('createVxlan', { name: 'vxext', external: true, port: 4799, learning: false });
    expect(ext.vxlan).toMatchObject({ external: true, learning: false, port: 4799 });
    const [linkExt] = await ns.ipJson<any>('-d', 'link', 'show', 'dev', 'vxext');
    expect(linkExt.linkinfo.info_data).toMatchObject({ external: true, learning: false, port: 4799 });
    const [link6] = await ns.ipJson<any>('-d', 'link', 'show', 'dev', 'vx6');
    expect(link6.linkinfo.info_data).toMatchObject({ id: 200, local6: '2001:db8::1', port: 4790 });

    await lib.call('addFdbNexthop', { id: 10, gateway: '198.51.100.2', protocol: 236 });
    await lib.call('addFdbNexthop', { id: 11, gateway: '198.51.100.3', protocol: 236 });
    await lib.call('addFdbNexthop', { id: 30, gateway: '2001:db8:1::2', protocol: 236 });
    await lib.call('addFdbNexthop', { id: 31, gateway: '2001:db8:1::3', protocol: 236 });
    await lib.call('addFdbGroup', { id: 20, members: [{ id: 10, weight: 256 }, { id: 11, weight: 1 }], protocol: 236 });
    await lib.call('addFdbGroup', { id: 40, members: [{ id: 30, weight: 5 }, { id: 31, weight: 1 }], protocol: 236 });
    await lib.call('addFdbEntry', { ifindex: vx4.ifindex, mac: '02:00:00:00:00:01', nhid: 20, state: FDB_STATE_STATIC });
    await lib.call('addFdbEntry', { ifindex: vx4.ifindex, mac: '02:00:00:00:00:02', nhid: 20, flags: NTF_SELF | NTF_EXT_LEARNED });
    await lib.call('addFdbEntry', { ifindex: vx4.ifindex, mac: '02:00:00:00:00:03', dst: '198.51.100.9', vni: 77 });
    await lib.call('addFdbEntry', { ifindex: vx4.ifindex, mac: '00:00:00:00:00:00', dst: '198.51.100.10', append: true });
    await lib.call('addFdbEntry', { ifindex: vx4.ifindex, mac: '00:00:00:00:00:00', dst: '198.51.100.11', append: true });
    await lib.call('addFdbEntry', { ifindex: vx6.ifindex, mac: '02:00:00:00:00:04', nhid: 40, state: FDB_STATE_STATIC });

    const ipNexthops = nexthopsFromIproute(await ns.ipJson<IpNexthop>('nexthop', 'show'));
    expect(ipNexthops).toEqual([
      { id: 10, gateway: '198.51.100.2', fdb: true, protocol: '236' },
      { id: 11, gateway: '198.51.100.3', fdb: true, protocol: '236' },
      { id: 20, group: [{ id: 10, weight: 256 }, { id: 11, weight: 1 }], fdb: true, protocol: '236' },
      { id: 30, gateway: '2001:db8:1::2', fdb: true, protocol: '236' },
      { id: 31, gateway: '2001:db8:1::3', fdb: true, protocol: '236' },
      { id: 40, group: [{ id: 30, weight: 5 }, { id: 31, weight: 1 }], fdb: true, protocol: '236' },
    ]);
    const bridgeFdb = fdbFromIproute(await ns.bridgeJson<BridgeFdb>('fdb', 'show'));
    expect(bridgeFdb).toEqual([
      { mac: '00:00:00:00:00:00', dev: 'vx4', dst: '198.51.100.10', flags: ['self'], state: 'permanent' },
      { mac: '00:00:00:00:00:00', dev: 'vx4', dst: '198.51.100.11', flags: ['self'], state: 'permanent' },
      { mac: '02:00:00:00:00:01', dev: 'vx4', nhid: 20, flags: ['self'], state: 'static' },
      { mac: '02:00:00:00:00:02', dev: 'vx4', nhid: 20, flags: ['self', 'extern_learn'], state: 'permanent' },
      { mac: '02:00:00:00:00:03', dev: 'vx4', dst: '198.51.100.9', vni: 77, flags: ['self'], state: 'permanent' },
      { mac: '02:00:00:00:00:04', dev: 'vx6', nhid: 40, flags: ['self'], state: 'static' },
    ]);
    await expectLibraryMatchesIproute();

    // Atomic replace of a group's members and weights, then deletes.
    await lib.call('addFdbGroup', { id: 20, members: [{ id: 11, weight: 7 }], protocol: 236, replace: true });
    expect(nexthopsFromIproute(await ns.ipJson<IpNexthop>('nexthop', 'show', 'id', '20'))[0]?.group).toEqual([{ id: 11, weight: 7 }]);
    await lib.call('addFdbNexthop', { id: 10, gateway: '198.51.100.22', protocol: 236, replace: true });
    expect((await ns.ipJson<IpNexthop>('nexthop', 'show', 'id', '10'))[0]?.gateway).toBe('198.51.100.22');
    await lib.call('deleteFdbEntry', { ifindex: vx4.ifindex, mac: '00:00:00:00:00:00', dst: '198.51.100.10' });
    await lib.call('deleteFdbEntry', { ifindex: vx4.ifindex, mac: '02:00:00:00:00:03' });
    await lib.call('deleteNexthop', 40);
    await expectLibraryMatchesIproute();
    const left = fdbFromIproute(await ns.bridgeJson<BridgeFdb>('fdb', 'show'));
    expect(left.map((e) => `${e.mac} ${e.dst ?? e.nhid}`)).toEqual(['00:00:00:00:00:00 198.51.100.11', '02:00:00:00:00:01 20', '02:00:00:00:00:02 20']);
    await lib.call('deleteLink', vx6.ifindex);
    expect(await lib.call('getLinkByName', 'vx6')).toBeNull();
  });

  it('writes weights above 256 with the high byte (Linux >= 6.12) and reads them back; 65536 cannot be encoded', async () => {
    lib = await LibraryChild.start(ns);
    await lib.call('addFdbNexthop', { id: 1, gateway: '198.51.100.2' });
    await lib.call('addFdbNexthop', { id: 2, gateway: '198.51.100.3' });
    await lib.call('addFdbGroup', { id: 9, members: [{ id: 1, weight: 300 }, { id: 2, weight: 65535 }] });
    const nh = await lib.call<Nexthop>('getNexthop', 9);
    expect(nh.group).toEqual([{ id: 1, weight: 300 }, { id: 2, weight: 65535 }]);
    expect((nh.opFlags ?? 0) >>> 31).toBe(1);
    // weight−1 = 0xffff wraps the kernel's u16 weight to 0 ("Invalid value for weight"), so the encoder refuses it.
    await expect(lib.call('addFdbGroup', { id: 8, members: [{ id: 1, weight: 65536 }] })).rejects.toMatchObject({ name: 'NetlinkEncodeError' });
  });
});
