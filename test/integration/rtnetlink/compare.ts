/**
 * Normal forms for comparing the library's decoded objects with iproute2's
 * JSON (`ip -j nexthop show`, `bridge -j fdb show`): iproute2 prints flags as
 * keys with null values (`"fdb": null`), omits weight 1 and protocol unspec,
 * and names states with one word.
 */
import { fdbFlagNames, fdbStateNames, protocolName, type FdbEntry, type Link, type Nexthop } from '../../../src/lib/rtnetlink/index.js';

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
  flags: string[];
  state: string;
}

const byId = (a: { id: number }, b: { id: number }) => a.id - b.id;
const fdbKey = (e: FdbForm) => `${e.dev}/${e.mac}/${e.dst ?? ''}`;
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
      return f;
    })
    .sort(byFdbKey);
}
