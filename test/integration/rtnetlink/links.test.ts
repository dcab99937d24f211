/**
 * Bridges, veths, bridge ports, bridge VLANs, VNI filters and the FDB keys
 * of issue 16, against the kernel in a private namespace: what the library
 * writes, iproute2 reports as asked; what iproute2 writes, the library
 * decodes as iproute2 reports it. Kernel behaviour pinned here is listed in
 * src/lib/rtnetlink/README.md ("Kernel behaviour worth knowing").
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CommandError } from '../../harness/exec.js';
import { Netns } from '../../harness/netns.js';
import { KERNEL_TOOLS, missingPrerequisites } from '../../harness/prereq.js';
import {
  AF_BRIDGE,
  FDB_STATE_STATIC,
  IF_OPER_UNKNOWN,
  IFF_LOWER_UP,
  IFF_UP,
  NTF_MASTER,
  NTF_SELF,
  NUD_NOARP,
  type BridgePortVlans,
  type FdbEntry,
  type Link,
  type VethPair,
  type VniFilter,
} from '../../../src/lib/rtnetlink/index.js';
import {
  bridgePortsFromIproute,
  bridgePortsFromLibrary,
  fdbFromIproute,
  fdbFromLibrary,
  vnisFromIproute,
  vnisFromLibrary,
  type BridgeFdb,
  type BridgeLinkJson,
  type BridgeVniJson,
} from './compare.js';
import { LibraryChild } from './library-child.js';

const skip = missingPrerequisites(KERNEL_TOOLS);

const OWNED = 'evpn-ecmp:owned';

/** `ip -j -d link show dev NAME` */
interface IpLink {
  ifindex: number;
  ifname: string;
  flags: string[];
  operstate: string;
  master?: string;
  link?: string;
  ifalias?: string;
  inet6_addr_gen_mode?: string;
  linkinfo?: { info_kind?: string; info_data?: Record<string, unknown>; info_slave_kind?: string };
}

describe.skipIf(skip)('rtnetlink bridges, veths, bridge ports and VNI filters against iproute2', () => {
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

  async function ipLink(name: string): Promise<IpLink> {
    const [l] = await ns.ipJson<IpLink>('-d', 'link', 'show', 'dev', name);
    if (!l) throw new Error(`no link ${name}`);
    return l;
  }

  /** `bridge -j fdb show` of one device (with `dev X`, iproute2 leaves out "ifname", so filter the full dump). */
  async function bridgeFdbOf(dev: string): Promise<BridgeFdb[]> {
    return (await ns.bridgeJson<BridgeFdb>('fdb', 'show')).filter((e) => e.ifname === dev);
  }

  /** Waits (bounded) until `ip link` reports `operstate` for `name`: carrier changes go through the kernel's linkwatch, asynchronously. */
  async function operstateBecomes(name: string, operstate: string): Promise<IpLink> {
    const deadline = Date.now() + 5_000;
    for (;;) {
      const l = await ipLink(name);
      if (l.operstate === operstate || Date.now() > deadline) return l;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** An SVD layout made with the library: bridge, veth access port, external vnifilter VXLAN device in the bridge. */
  async function svdLayout(c: LibraryChild): Promise<{ br: Link; pair: VethPair; vx: Link }> {
    const br = await c.call<Link>('createBridge', { name: 'br-evpn', vlanDefaultPvid: 0, alias: OWNED });
    const pair = await c.call<VethPair>('createVeth', { name: 'evpn-ap0', peerName: 'evpn-ap0-p', alias: OWNED, master: br.ifindex });
    const vx = await c.call<Link>('createVxlan', { name: 'evpn0', external: true, vnifilter: true, local: '192.0.2.1', port: 4789, learning: false, alias: OWNED, master: br.ifindex });
    return { br, pair, vx };
  }

  it('creates a bridge, a veth access port and an external vnifilter VXLAN device that iproute2 reports as asked', async () => {
    lib = await LibraryChild.start(ns);
    const { br, pair, vx } = await svdLayout(lib);

    const ipBr = await ipLink('br-evpn');
    expect(ipBr).toMatchObject({ ifindex: br.ifindex, ifalias: OWNED, inet6_addr_gen_mode: 'none', linkinfo: { info_kind: 'bridge' } });
    expect(ipBr.flags).toContain('UP');
    expect(br).toMatchObject({ family: 0, name: 'br-evpn', kind: 'bridge', alias: OWNED, bridge: { vlanFiltering: false } });

    const ipPort = await ipLink('evpn-ap0');
    const ipPeer = await ipLink('evpn-ap0-p');
    expect(ipPort).toMatchObject({ ifindex: pair.link.ifindex, master: 'br-evpn', link: 'evpn-ap0-p', ifalias: OWNED, inet6_addr_gen_mode: 'none', linkinfo: { info_kind: 'veth', info_slave_kind: 'bridge' } });
    expect(ipPeer).toMatchObject({ ifindex: pair.peer.ifindex, link: 'evpn-ap0', inet6_addr_gen_mode: 'none' });
    expect(ipPeer.master).toBeUndefined();
    expect(ipPeer.ifalias).toBeUndefined();
    expect(ipPort.flags).toContain('UP');
    expect(ipPeer.flags).toContain('UP');
    expect(pair.link).toMatchObject({ kind: 'veth', master: br.ifindex, link: pair.peer.ifindex, alias: OWNED, bridgePort: { state: 3, learning: true } });
    expect(pair.peer).toMatchObject({ kind: 'veth', link: pair.link.ifindex });

    const ipVx = await ipLink('evpn0');
    // iproute2 6.1 prints only "external" for a collect_metadata device (vxlan_print_opt returns early).
    expect(ipVx).toMatchObject({ ifindex: vx.ifindex, master: 'br-evpn', ifalias: OWNED, inet6_addr_gen_mode: 'none', linkinfo: { info_kind: 'vxlan', info_slave_kind: 'bridge', info_data: { external: true } } });
    expect(vx.vxlan).toMatchObject({ external: true, vnifilter: true, local: '192.0.2.1', port: 4789, learning: false });
    // vnifilter is what makes `bridge vni add` work on it (EOPNOTSUPP otherwise, below).
    await ns.bridge('vni', 'add', 'dev', 'evpn0', 'vni', '100');

    const vx6 = await lib.call<Link>('createVxlan', { name: 'vx100', vni: 100, local: '2001:db8::1', port: 4790, learning: false, alias: OWNED });
    const ipVx6 = await ipLink('vx100');
    expect(ipVx6.linkinfo?.info_data).toMatchObject({ id: 100, local6: '2001:db8::1', port: 4790, learning: false });
    expect(vx6).toMatchObject({ alias: OWNED, vxlan: { vni: 100, local: '2001:db8::1', port: 4790, learning: false } });
    await expect(ns.bridge('vni', 'add', 'dev', 'vx100', 'vni', '5')).rejects.toBeInstanceOf(CommandError);

    // Every device the library lists agrees with `ip -j -d link show` on what the agent relies on.
    const links = await lib.call<Link[]>('listLinks');
    const ip = await ns.ipJson<IpLink>('-d', 'link', 'show');
    const names = new Map(links.map((l) => [l.ifindex, l.name]));
    for (const want of ip) {
      const got = links.find((l) => l.ifindex === want.ifindex);
      expect(got, want.ifname).toBeDefined();
      expect(got!.family).toBe(0);
      expect(got!.name).toBe(want.ifname);
      expect(got!.alias).toBe(want.ifalias);
      expect(got!.master === undefined ? undefined : names.get(got!.master)).toBe(want.master);
      expect(got!.kind).toBe(want.linkinfo?.info_kind);
      expect((got!.flags & IFF_UP) !== 0).toBe(want.flags.includes('UP'));
      expect((got!.flags & IFF_LOWER_UP) !== 0).toBe(want.flags.includes('LOWER_UP'));
    }
    expect(links.filter((l) => l.alias === OWNED).map((l) => l.name).sort()).toEqual(['br-evpn', 'evpn-ap0', 'evpn0', 'vx100']);
  });

  it('a VXLAN device without a lower device is oper-up (UNKNOWN with LOWER_UP) once admin-up; a veth only while both ends are up', async () => {
    lib = await LibraryChild.start(ns);
    const vx = await lib.call<Link>('createVxlan', { name: 'vx7', vni: 7, port: 4789, learning: false, up: false });
    expect(vx.flags & IFF_UP).toBe(0);
    expect((await ipLink('vx7')).operstate).toBe('DOWN');
    await lib.call('setLink', vx.ifindex, { up: true });
    const ipVx = await operstateBecomes('vx7', 'UNKNOWN');
    expect(ipVx.operstate).toBe('UNKNOWN');
    expect(ipVx.flags).toEqual(expect.arrayContaining(['UP', 'LOWER_UP']));
    const upVx = await lib.call<Link>('getLink', vx.ifindex);
    expect(upVx.operstate).toBe(IF_OPER_UNKNOWN);
    expect(upVx.flags & IFF_LOWER_UP).toBe(IFF_LOWER_UP);

    const pair = await lib.call<VethPair>('createVeth', { name: 'va', peerName: 'vb' });
    expect((await operstateBecomes('va', 'UP')).operstate).toBe('UP');
    await lib.call('setLink', pair.peer.ifindex, { up: false });
    const lonely = await operstateBecomes('va', 'LOWERLAYERDOWN');
    expect(lonely.operstate).toBe('LOWERLAYERDOWN');
    expect(lonely.flags).toEqual(expect.arrayContaining(['UP', 'NO-CARRIER']));
    const got = await lib.call<Link>('getLink', pair.link.ifindex);
    expect(got.flags & IFF_UP).toBe(IFF_UP);
    expect(got.flags & IFF_LOWER_UP).toBe(0);
    await lib.call('setLink', pair.peer.ifindex, { up: true });
    expect((await operstateBecomes('va', 'UP')).operstate).toBe('UP');
  });

  it('sets bridge port flags as `bridge link set` does; AF_BRIDGE port messages match `bridge -j link show`', async () => {
    lib = await LibraryChild.start(ns);
    const { pair, vx } = await svdLayout(lib);
    await lib.call('setBridgePort', vx.ifindex, { learning: false, vlanTunnel: true, neighSuppress: true });
    await lib.call('setBridgePort', pair.link.ifindex, { learning: false });

    const ipPorts = await ns.bridgeJson<BridgeLinkJson>('-d', 'link', 'show');
    expect(ipPorts.find((p) => p.ifname === 'evpn0')).toMatchObject({ learning: false, vlan_tunnel: true, neigh_suppress: true, master: 'br-evpn' });
    expect(ipPorts.find((p) => p.ifname === 'evpn-ap0')).toMatchObject({ learning: false, vlan_tunnel: false, neigh_suppress: false });
    const ports = await lib.call<Link[]>('listBridgePorts');
    const links = await lib.call<Link[]>('listLinks');
    expect(ports.map((p) => p.family)).toEqual(ports.map(() => AF_BRIDGE));
    expect(bridgePortsFromLibrary(ports, links)).toEqual(bridgePortsFromIproute(ipPorts));
    expect(ports).toHaveLength(2);
    // The device's own (AF_UNSPEC) message carries the same settings as slave data.
    const vxNow = links.find((l) => l.ifindex === vx.ifindex)!;
    expect(vxNow.family).toBe(0);
    expect(vxNow.bridgePort).toMatchObject({ learning: false, vlanTunnel: true, neighSuppress: true });
    await expect(lib.call('setBridgePort', pair.peer.ifindex, { learning: false })).rejects.toMatchObject({ name: 'KernelError', detail: { code: 'EOPNOTSUPP' } });
  });

  it('edits a VNI filter as `bridge vni` does, and writes FDB entries keyed by (MAC, src VNI) on the external device', async () => {
    lib = await LibraryChild.start(ns);
    const { vx } = await svdLayout(lib);
    await lib.call('addVniFilter', vx.ifindex, 100);
    await lib.call('addVniFilter', vx.ifindex, 200, 202);
    await lib.call('addVniFilter', vx.ifindex, 100); // idempotent
    const expectVnisMatch = async () => {
      const links = await lib!.call<Link[]>('listLinks');
      const ours = vnisFromLibrary(await lib!.call<VniFilter[]>('listVniFilters'), links);
      expect(ours).toEqual(vnisFromIproute(await ns.bridgeJson<BridgeVniJson>('vni', 'show')));
      expect(vnisFromLibrary(await lib!.call<VniFilter[]>('listVniFilters', vx.ifindex), links)).toEqual(ours);
      return ours;
    };
    expect(await expectVnisMatch()).toEqual([{ dev: 'evpn0', vni: 100 }, { dev: 'evpn0', vni: 200, vniEnd: 202 }]);
    await lib.call('deleteVniFilter', vx.ifindex, 201);
    expect(await expectVnisMatch()).toEqual([{ dev: 'evpn0', vni: 100 }, { dev: 'evpn0', vni: 200 }, { dev: 'evpn0', vni: 202 }]);
    await expect(lib.call('deleteVniFilter', vx.ifindex, 999)).rejects.toMatchObject({ name: 'KernelError', detail: { code: 'ENOENT' } });
    const perVni = await lib.call<Link>('createVxlan', { name: 'vx300', vni: 300, port: 4790, learning: false });
    await expect(lib.call('addVniFilter', perVni.ifindex, 300)).rejects.toMatchObject({ name: 'KernelError', detail: { code: 'EOPNOTSUPP' } });

    await lib.call('addFdbNexthop', { id: 1, gateway: '198.51.100.2' });
    await lib.call('addFdbNexthop', { id: 2, gateway: '198.51.100.3' });
    await lib.call('addFdbGroup', { id: 10, members: [{ id: 1, weight: 1 }, { id: 2, weight: 1 }] });
    const mac = '02:00:00:00:00:01';
    await lib.call('addFdbEntry', { ifindex: vx.ifindex, mac, nhid: 10, srcVni: 100, state: FDB_STATE_STATIC });
    await lib.call('addFdbEntry', { ifindex: vx.ifindex, mac, nhid: 10, srcVni: 200, state: FDB_STATE_STATIC });
    // A VNI that is not in the filter is accepted too: the FDB does not consult the VNI filter.
    await lib.call('addFdbEntry', { ifindex: vx.ifindex, mac: '02:00:00:00:00:02', nhid: 10, srcVni: 999, state: FDB_STATE_STATIC });
    await lib.call('addFdbEntry', { ifindex: vx.ifindex, mac: '02:00:00:00:00:03', dst: '198.51.100.9', vni: 300, srcVni: 100, state: FDB_STATE_STATIC });
    // NDA_VNI names the remote VNI of a dst entry; with nhid it is refused.
    await expect(lib.call('addFdbEntry', { ifindex: vx.ifindex, mac: '02:00:00:00:00:04', nhid: 10, vni: 100, state: FDB_STATE_STATIC })).rejects.toMatchObject({
      name: 'KernelError',
      detail: { code: 'EINVAL', extack: expect.stringContaining('mutually exclusive with NH_ID') },
    });

    const ipFdb = await bridgeFdbOf('evpn0');
    const links = await lib.call<Link[]>('listLinks');
    const fdb = await lib.call<FdbEntry[]>('listFdb', vx.ifindex);
    expect(fdbFromLibrary(fdb, links)).toEqual(fdbFromIproute(ipFdb));
    const self = fdbFromIproute(ipFdb).filter((e) => e.flags.includes('self'));
    expect(self).toEqual([
      { mac: '02:00:00:00:00:01', dev: 'evpn0', nhid: 10, srcVni: 100, flags: ['self'], state: 'static' },
      { mac: '02:00:00:00:00:01', dev: 'evpn0', nhid: 10, srcVni: 200, flags: ['self'], state: 'static' },
      { mac: '02:00:00:00:00:02', dev: 'evpn0', nhid: 10, srcVni: 999, flags: ['self'], state: 'static' },
      { mac: '02:00:00:00:00:03', dev: 'evpn0', dst: '198.51.100.9', vni: 300, srcVni: 100, flags: ['self'], state: 'static' },
    ]);
    // Reported as written: NDA_SRC_VNI (never NDA_VNI for an nhid entry), NOARP|REACHABLE, NTF_SELF.
    expect(fdb.find((e) => e.mac === mac && e.srcVni === 200)).toMatchObject({ state: FDB_STATE_STATIC, flags: NTF_SELF, nhid: 10 });
    expect(fdb.find((e) => e.mac === mac && e.srcVni === 200)!.vni).toBeUndefined();

    // Deleting (MAC, VNI 200) leaves (MAC, VNI 100).
    await lib.call('deleteFdbEntry', { ifindex: vx.ifindex, mac, srcVni: 200 });
    const left = fdbFromIproute(await bridgeFdbOf('evpn0')).filter((e) => e.mac === mac);
    expect(left.map((e) => e.srcVni)).toEqual([100]);
    // Without src_vni the key is (MAC, 0): the VNI 100 entry is not it.
    await expect(lib.call('deleteFdbEntry', { ifindex: vx.ifindex, mac })).rejects.toMatchObject({ name: 'KernelError', detail: { code: 'ENOENT' } });
  });

  it('writes static bridge FDB entries on an access port (`master static`) and reads them as `bridge fdb` reports them', async () => {
    lib = await LibraryChild.start(ns);
    const { br, pair } = await svdLayout(lib);
    const mac = '02:00:00:00:01:01';
    await lib.call('addFdbEntry', { ifindex: pair.link.ifindex, mac, flags: NTF_MASTER, state: FDB_STATE_STATIC });
    const ipFdb = await bridgeFdbOf('evpn-ap0');
    expect(ipFdb.find((e) => e.mac === mac)).toEqual({ mac, ifname: 'evpn-ap0', master: 'br-evpn', flags: [], state: 'static' });
    const links = await lib.call<Link[]>('listLinks');
    const fdb = await lib.call<FdbEntry[]>('listFdb', pair.link.ifindex);
    expect(fdbFromLibrary(fdb, links)).toEqual(fdbFromIproute(ipFdb));
    // The bridge reports a static entry as NOARP alone (REACHABLE dropped), without NTF_MASTER, with NDA_MASTER.
    expect(fdb.find((e) => e.mac === mac)).toMatchObject({ state: NUD_NOARP, flags: 0, master: br.ifindex });
    expect(fdb.find((e) => e.mac === mac)!.vlan).toBeUndefined();
    await lib.call('deleteFdbEntry', { ifindex: pair.link.ifindex, mac, flags: NTF_MASTER });
    expect((await bridgeFdbOf('evpn-ap0')).find((e) => e.mac === mac)).toBeUndefined();
  });

  it('changes alias, master and admin state; the alias is there for the next client; a failed create leaves nothing behind', async () => {
    lib = await LibraryChild.start(ns);
    const { pair } = await svdLayout(lib);
    const ifindex = pair.link.ifindex;
    await lib.call('setLink', ifindex, { alias: 'evpn-ecmp:owned vni=100' });
    expect((await ipLink('evpn-ap0')).ifalias).toBe('evpn-ecmp:owned vni=100');
    await lib.stop();
    lib = await LibraryChild.start(ns);
    expect((await lib.call<Link>('getLinkByName', 'evpn-ap0')).alias).toBe('evpn-ecmp:owned vni=100');

    await lib.call('setLink', ifindex, { alias: '', master: 0, up: false });
    const ip = await ipLink('evpn-ap0');
    expect(ip.ifalias).toBeUndefined();
    expect(ip.master).toBeUndefined();
    expect(ip.flags).not.toContain('UP');
    const got = await lib.call<Link>('getLink', ifindex);
    expect(got.alias).toBeUndefined();
    expect(got.master).toBeUndefined();
    expect(got.flags & IFF_UP).toBe(0);
    await expect(lib.call('setLink', ifindex, { alias: 'x'.repeat(256) })).rejects.toMatchObject({ name: 'NetlinkEncodeError' });

    // The master does not exist: the kernel refuses the setup step, and the new device is deleted again.
    await expect(lib.call('createVxlan', { name: 'vxorphan', vni: 9, port: 4799, learning: false, alias: OWNED, master: 999_999 })).rejects.toMatchObject({ name: 'KernelError' });
    expect(await lib.call('getLinkByName', 'vxorphan')).toBeNull();
    await expect(ns.ip('link', 'show', 'dev', 'vxorphan')).rejects.toBeInstanceOf(CommandError);
  });

  it('bridge VLANs and VLAN→VNI mappings: as iproute2 where the kernel filters VLANs, refused alike where it cannot', async () => {
    let vlanFiltering = true;
    try {
      await ns.ip('link', 'add', 'probe0', 'type', 'bridge', 'vlan_filtering', '1');
      await ns.ip('link', 'del', 'probe0');
    } catch (err) {
      // Linux without CONFIG_BRIDGE_VLAN_FILTERING (these machines: CONFIG_VLAN_8021Q is off) answers EOPNOTSUPP.
      expect((err as CommandError).stderr).toContain('Operation not supported');
      vlanFiltering = false;
    }
    lib = await LibraryChild.start(ns);

    if (!vlanFiltering) {
      await expect(lib.call('createBridge', { name: 'br-vlan', vlanFiltering: true, vlanDefaultPvid: 0 })).rejects.toMatchObject({ name: 'KernelError', detail: { code: 'EOPNOTSUPP' } });
      expect(await lib.call('getLinkByName', 'br-vlan')).toBeNull();
      const { br, pair, vx } = await svdLayout(lib);
      await lib.call('setBridgePort', vx.ifindex, { vlanTunnel: true });
      await expect(lib.call('addBridgeVlan', pair.link.ifindex, { vid: 10, pvid: true, untagged: true })).rejects.toMatchObject({ name: 'KernelError', detail: { code: 'EOPNOTSUPP' } });
      await expect(ns.bridge('vlan', 'add', 'dev', 'evpn-ap0', 'vid', '10', 'pvid', 'untagged')).rejects.toBeInstanceOf(CommandError);
      await expect(lib.call('addBridgeVlan', br.ifindex, { vid: 10, self: true })).rejects.toMatchObject({ name: 'KernelError', detail: { code: 'EOPNOTSUPP' } });
      // A tunnel mapping is accepted and ignored (iproute2's `tunnel_info` exits 0 as well): nothing shows up.
      await lib.call('addBridgeVlan', vx.ifindex, { vid: 10, tunnelId: 100 });
      await ns.bridge('vlan', 'add', 'dev', 'evpn0', 'vid', '11', 'tunnel_info', 'id', '101');
      expect(await ns.bridgeJson('vlan', 'show')).toEqual([]);
      expect(await ns.bridgeJson('vlan', 'tunnelshow')).toEqual([]);
      const vlans = await lib.call<BridgePortVlans[]>('listBridgeVlans');
      expect(vlans.map((v) => v.name).sort()).toEqual(['br-evpn', 'evpn-ap0', 'evpn0']);
      for (const v of vlans) expect({ name: v.name, vlans: v.vlans, tunnels: v.tunnels }).toEqual({ name: v.name, vlans: [], tunnels: [] });
      // A VLAN on a bridge FDB entry needs the VLAN on the port: EINVAL, as for `bridge fdb add ... vlan 10`.
      await expect(lib.call('addFdbEntry', { ifindex: pair.link.ifindex, mac: '02:00:00:00:01:01', flags: NTF_MASTER, state: FDB_STATE_STATIC, vlan: 10 })).rejects.toMatchObject({ name: 'KernelError', detail: { code: 'EINVAL' } });
      await expect(ns.bridge('fdb', 'add', '02:00:00:00:01:01', 'dev', 'evpn-ap0', 'master', 'static', 'vlan', '10')).rejects.toBeInstanceOf(CommandError);
      return;
    }

    // A VLAN-filtering kernel: FRR's SVD layout, compared with `bridge -j vlan show` / `tunnelshow`.
    const br = await lib.call<Link>('createBridge', { name: 'br-evpn', vlanFiltering: true, vlanDefaultPvid: 0 });
    expect(br.bridge).toMatchObject({ vlanFiltering: true, vlanDefaultPvid: 0 });
    const pair = await lib.call<VethPair>('createVeth', { name: 'evpn-ap0', peerName: 'evpn-ap0-p', master: br.ifindex });
    const vx = await lib.call<Link>('createVxlan', { name: 'evpn0', external: true, vnifilter: true, local: '192.0.2.1', port: 4789, learning: false, master: br.ifindex });
    await lib.call('setBridgePort', vx.ifindex, { learning: false, vlanTunnel: true, neighSuppress: true });
    await lib.call('addBridgeVlan', br.ifindex, { vid: 10, self: true });
    await lib.call('addBridgeVlan', pair.link.ifindex, { vid: 10, pvid: true, untagged: true });
    await lib.call('addBridgeVlan', vx.ifindex, { vid: 10 });
    await lib.call('addBridgeVlan', vx.ifindex, { vid: 10, tunnelId: 100 });
    const vlans = await lib.call<BridgePortVlans[]>('listBridgeVlans');
    const ipVlans = await ns.bridgeJson<{ ifname: string; vlans: { vlan: number; vlanEnd?: number; flags?: string[] }[] }>('vlan', 'show');
    const ipVlanSet = ipVlans.flatMap((d) =>
      d.vlans.flatMap((v) => Array.from({ length: (v.vlanEnd ?? v.vlan) - v.vlan + 1 }, (_, i) => `${d.ifname}/${v.vlan + i}/${(v.flags ?? []).includes('PVID')}/${(v.flags ?? []).includes('Egress Untagged')}`)),
    );
    expect(vlans.flatMap((p) => p.vlans.map((v) => `${p.name}/${v.vid}/${v.pvid}/${v.untagged}`)).sort()).toEqual(ipVlanSet.sort());
    const ipTunnels = await ns.bridgeJson<{ ifname: string; tunnels: { vlan: number; tunnel_id: number }[] }>('vlan', 'tunnelshow');
    expect(vlans.flatMap((p) => p.tunnels.map((t) => `${p.name}/${t.vid}/${t.tunnelId}`))).toEqual(ipTunnels.flatMap((d) => d.tunnels.map((t) => `${d.ifname}/${t.vlan}/${t.tunnel_id}`)));
    expect(vlans.find((p) => p.ifindex === vx.ifindex)?.tunnels).toEqual([{ vid: 10, tunnelId: 100 }]);
    await lib.call('addFdbEntry', { ifindex: pair.link.ifindex, mac: '02:00:00:00:01:01', flags: NTF_MASTER, state: FDB_STATE_STATIC, vlan: 10 });
    expect((await bridgeFdbOf('evpn-ap0')).find((e) => e.mac === '02:00:00:00:01:01')).toMatchObject({ vlan: 10, state: 'static' });
    await lib.call('deleteFdbEntry', { ifindex: pair.link.ifindex, mac: '02:00:00:00:01:01', flags: NTF_MASTER, vlan: 10 });
    await lib.call('deleteBridgeVlan', vx.ifindex, { vid: 10, tunnelId: 100 });
    expect(await ns.bridgeJson('vlan', 'tunnelshow')).toEqual([]);
  });

  it('decodes what iproute2 made as iproute2 reports it', async () => {
    for (const line of [
      'link add br0 type bridge',
      'link set dev br0 alias hand-made',
      'link add p0 type veth peer name p1',
      'link set dev p0 master br0',
      'link add vxs type vxlan external vnifilter local 192.0.2.7 dstport 4789 nolearning',
      'link set dev vxs master br0',
      'link set dev vxs up',
      'link set dev br0 up',
      'nexthop add id 1 via 198.51.100.2 fdb',
      'nexthop add id 2 group 1 fdb',
    ]) {
      await ns.ip(...line.split(' '));
    }
    for (const line of [
      'link set dev vxs learning off vlan_tunnel on neigh_suppress on',
      'vni add dev vxs vni 100',
      'vni add dev vxs vni 300-310',
      'fdb add 02:00:00:00:00:0a dev p0 master static',
      'fdb add 02:00:00:00:00:0b dev vxs self static nhid 2 src_vni 100',
      'fdb add 02:00:00:00:00:0b dev vxs self static nhid 2 src_vni 300',
    ]) {
      await ns.bridge(...line.split(' '));
    }
    lib = await LibraryChild.start(ns);
    const links = await lib.call<Link[]>('listLinks');
    const byName = (n: string) => links.find((l) => l.name === n)!;
    expect(byName('br0')).toMatchObject({ kind: 'bridge', alias: 'hand-made' });
    expect(byName('p0')).toMatchObject({ kind: 'veth', master: byName('br0').ifindex, link: byName('p1').ifindex });
    expect(byName('vxs')).toMatchObject({ kind: 'vxlan', master: byName('br0').ifindex, vxlan: { external: true, vnifilter: true, local: '192.0.2.7', port: 4789, learning: false } });
    expect(byName('vxs').bridgePort).toMatchObject({ learning: false, vlanTunnel: true, neighSuppress: true });

    expect(bridgePortsFromLibrary(await lib.call<Link[]>('listBridgePorts'), links)).toEqual(bridgePortsFromIproute(await ns.bridgeJson<BridgeLinkJson>('-d', 'link', 'show')));
    expect(vnisFromLibrary(await lib.call<VniFilter[]>('listVniFilters'), links)).toEqual(vnisFromIproute(await ns.bridgeJson<BridgeVniJson>('vni', 'show')));
    expect(await lib.call<VniFilter[]>('listVniFilters')).toEqual([
      { ifindex: byName('vxs').ifindex, vni: 100 },
      { ifindex: byName('vxs').ifindex, vni: 300, vniEnd: 310 },
    ]);
    const fdb = await lib.call<FdbEntry[]>('listFdb');
    expect(fdbFromLibrary(fdb, links)).toEqual(fdbFromIproute(await ns.bridgeJson<BridgeFdb>('fdb', 'show')));
    expect(fdb.filter((e) => e.mac === '02:00:00:00:00:0b').map((e) => e.srcVni).sort()).toEqual([100, 300]);
  });
});
