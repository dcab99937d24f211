/**
 * Normal forms for comparing the library's decoded objects with iproute2's
 * JSON (`ip -j nexthop show`, `bridge -j fdb show`, `bridge -j link show`,
 * `bridge -j vni show`): iproute2 prints flags as keys with null values
 * (`"fdb": null`), omits weight 1 and protocol unspec, names states with one
 * word and devices by name.
 */
import { fdbFlagNames, fdbStateNames, protocolName, type FdbEntry, type Link, type Nexthop, type VniFilter } from '../../../src/lib/rtnetlink/index.js';

export interface NexthopForm {
  id: number;
  gateway?: string;
  group?: { id: number; weight: number }[];
  fdb: boolean;
  protocol: string;
}

export interface FdbForm {
  mac: string;
  dev: string;
  dst?: string;
  nhid?: number;
  vni?: number;
  srcVni?: number;
  vlan?: number;
  /** The bridge of a bridge FDB entry (NDA_MASTER), by name. */
  master?: string;
  flags: string[];
  state: string;
}

export interface IpNexthop {
  id: number;
  gateway?: string;
  group?: { id: number; weight?: number }[];
  fdb?: null;
  protocol?: string;
}

export interface BridgeFdb {
  mac: string;
  ifname: string;
  dst?: string;
  nhid?: number;
  vni?: number;
  src_vni?: number;
  vlan?: number;
  master?: string;
  flags: string[];
  state: string;
}

const byId = (a: { id: number }, b: { id: number }) => a.id - b.id;
const fdbKey = (e: FdbForm) => `${e.dev}/${e.mac}/${e.dst ?? ''}/${e.srcVni ?? ''}/${e.vlan ?? ''}`;
const byFdbKey = (a: FdbForm, b: FdbForm) => (fdbKey(a) < fdbKey(b) ? -1 : fdbKey(a) > fdbKey(b) ? 1 : 0);

export function nexthopsFromIproute(list: IpNexthop[]): NexthopForm[] {
  return list
    .map((n) => {
      const f: NexthopForm = { id: n.id, fdb: 'fdb' in n, protocol: n.protocol ?? 'unspec' };
      if (n.gateway !== undefined) f.gateway = n.gateway;
      if (n.group) f.group = n.group.map((m) => ({ id: m.id, weight: m.weight ?? 1 }));
      return f;
    })
    .sort(byId);
}

export function nexthopsFromLibrary(list: Nexthop[]): NexthopForm[] {
  return list
    .map((n) => {
      const f: NexthopForm = { id: n.id, fdb: n.fdb, protocol: protocolName(n.protocol) };
      if (n.gateway !== undefined) f.gateway = n.gateway;
      if (n.group) f.group = n.group.map((m) => ({ id: m.id, weight: m.weight }));
      return f;
    })
    .sort(byId);
}

export function fdbFromIproute(list: BridgeFdb[]): FdbForm[] {
  return list
    .map((e) => {
      const f: FdbForm = { mac: e.mac, dev: e.ifname, flags: e.flags, state: e.state };
      if (e.dst !== undefined) f.dst = e.dst;
      if (e.nhid !== undefined) f.nhid = e.nhid;
      if (e.vni !== undefined) f.vni = e.vni;
      if (e.src_vni !== undefined) f.srcVni = e.src_vni;
      if (e.vlan !== undefined) f.vlan = e.vlan;
      if (e.master !== undefined) f.master = e.master;
      return f;
    })
    .sort(byFdbKey);
}

export function fdbFromLibrary(list: FdbEntry[], links: Link[]): FdbForm[] {
  const names = new Map(links.map((l) => [l.ifindex, l.name]));
  return list
    .map((e) => {
      const f: FdbForm = { mac: e.mac, dev: names.get(e.ifindex) ?? String(e.ifindex), flags: fdbFlagNames(e.flags), state: fdbStateNames(e.state)[0] ?? '' };
      if (e.dst !== undefined) f.dst = e.dst;
      if (e.nhid !== undefined) f.nhid = e.nhid;
      if (e.vni !== undefined) f.vni = e.vni;
      if (e.srcVni !== undefined) f.srcVni = e.srcVni;
      if (e.vlan !== undefined) f.vlan = e.vlan;
      if (e.master !== undefined) f.master = names.get(e.master) ?? String(e.master);
      return f;
    })
    .sort(byFdbKey);
}

/** `bridge -j link show` entry (iproute2 6.1 bridge/link.c). */
export interface BridgeLinkJson {
  ifindex: number;
  ifname: string;
  master?: string;
  state: string;
  priority?: number;
  cost?: number;
  learning?: boolean;
  flood?: boolean;
  mcast_flood?: boolean;
  bcast_flood?: boolean;
  neigh_suppress?: boolean;
  vlan_tunnel?: boolean;
  isolated?: boolean;
}

export interface BridgePortForm {
  ifindex: number;
  name: string;
  master?: string;
  state: string;
  priority?: number;
  cost?: number;
  learning?: boolean;
  unicastFlood?: boolean;
  mcastFlood?: boolean;
  bcastFlood?: boolean;
  neighSuppress?: boolean;
  vlanTunnel?: boolean;
  isolated?: boolean;
}

/** BR_STATE_* in `bridge link show`'s words (iproute2 bridge/link.c port_states). */
const PORT_STATES = ['disabled', 'listening', 'learning', 'forwarding', 'blocking'];

export function bridgePortsFromIproute(list: BridgeLinkJson[]): BridgePortForm[] {
  return list
    .map((p) => {
      const f: BridgePortForm = { ifindex: p.ifindex, name: p.ifname, state: p.state };
      if (p.master !== undefined) f.master = p.master;
      const copy: [keyof BridgeLinkJson, keyof BridgePortForm][] = [
        ['priority', 'priority'],
        ['cost', 'cost'],
        ['learning', 'learning'],
        ['flood', 'unicastFlood'],
        ['mcast_flood', 'mcastFlood'],
        ['bcast_flood', 'bcastFlood'],
        ['neigh_suppress', 'neighSuppress'],
        ['vlan_tunnel', 'vlanTunnel'],
        ['isolated', 'isolated'],
      ];
      for (const [from, to] of copy) if (p[from] !== undefined) (f as unknown as Record<string, unknown>)[to] = p[from];
      return f;
    })
    .sort((a, b) => a.ifindex - b.ifindex);
}

export function bridgePortsFromLibrary(ports: Link[], links: Link[]): BridgePortForm[] {
  const names = new Map(links.map((l) => [l.ifindex, l.name]));
  return ports
    .filter((p) => p.bridgePort !== undefined)
    .map((p) => {
      const bp = p.bridgePort!;
      const f: BridgePortForm = { ifindex: p.ifindex, name: p.name, state: PORT_STATES[bp.state ?? -1] ?? String(bp.state) };
      if (p.master !== undefined) f.master = names.get(p.master) ?? String(p.master);
      const { priority, cost, learning, unicastFlood, mcastFlood, bcastFlood, neighSuppress, vlanTunnel, isolated } = bp;
      Object.assign(f, JSON.parse(JSON.stringify({ priority, cost, learning, unicastFlood, mcastFlood, bcastFlood, neighSuppress, vlanTunnel, isolated })));
      return f;
    })
    .sort((a, b) => a.ifindex - b.ifindex);
}

/** `bridge -j vni show` entry. */
export interface BridgeVniJson {
  ifname: string;
  vnis: { vni: number; vniEnd?: number; group?: string }[];
}

export interface VniForm {
  dev: string;
  vni: number;
  vniEnd?: number;
}

const vniKey = (v: VniForm) => `${v.dev}/${String(v.vni).padStart(8, '0')}`;
const byVni = (a: VniForm, b: VniForm) => (vniKey(a) < vniKey(b) ? -1 : vniKey(a) > vniKey(b) ? 1 : 0);

export function vnisFromIproute(list: BridgeVniJson[]): VniForm[] {
  return list.flatMap((d) => d.vnis.map((v) => ({ dev: d.ifname, vni: v.vni, ...(v.vniEnd !== undefined ? { vniEnd: v.vniEnd } : {}) }))).sort(byVni);
}

export function vnisFromLibrary(list: VniFilter[], links: Link[]): VniForm[] {
  const names = new Map(links.map((l) => [l.ifindex, l.name]));
  return list.map((v) => ({ dev: names.get(v.ifindex) ?? String(v.ifindex), vni: v.vni, ...(v.vniEnd !== undefined ? { vniEnd: v.vniEnd } : {}) })).sort(byVni);
}
