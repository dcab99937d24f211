/**
 * Request messages, built exactly as iproute2 builds the equivalent command
 * (the byte vectors in shared/reference/wire-vectors.md are reproduced by
 * these functions). Sequence numbers are left 0: the transport assigns them.
 */
import { parseIp } from './address.js';
import {
  AF_BRIDGE,
  AF_INET6,
  AF_UNSPEC,
  FDB_STATE_PERMANENT,
  IFF_UP,
  IFLA_AF_SPEC,
  IFLA_EXT_MASK,
  IFLA_IFNAME,
  IFLA_INET6_ADDR_GEN_MODE,
  IN6_ADDR_GEN_MODE_NONE,
  NHA_ID,
  NLM_F_ACK,
  NLM_F_APPEND,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  NLM_F_REQUEST,
  NTF_SELF,
  RTEXT_FILTER_SKIP_STATS,
  RTM_DELLINK,
  RTM_DELNEIGH,
  RTM_DELNEXTHOP,
  RTM_GETLINK,
  RTM_GETNEIGH,
  RTM_GETNEXTHOP,
  RTM_NEWLINK,
  RTM_NEWNEIGH,
  RTM_NEWNEXTHOP,
} from './constants.js';
import { NetlinkEncodeError } from './errors.js';
import { encodeIfinfomsg, encodeVxlanLinkBody, type VxlanSpec } from './link.js';
import { encodeFdbBody, type FdbEntry } from './neigh.js';
import { encodeNexthopBody, type Nexthop, type NexthopGroupMember } from './nexthop.js';
import { NetlinkWriter } from './writer.js';

export interface FdbNexthopSpec {
  id: number;
  /** The remote VTEP's IPv4 or IPv6 address. */
  gateway: string;
  protocol?: number;
  /** Replace an existing nexthop with this id (NLM_F_REPLACE) instead of failing with EEXIST. */
  replace?: boolean;
}

export interface FdbGroupSpec {
  id: number;
  /** Members (fdb nexthops, all of one family), weights 1..256 (1..65535 on Linux >= 6.12). */
  members: NexthopGroupMember[];
  protocol?: number;
  /** Swap members and weights of an existing group atomically (NLM_F_REPLACE). */
  replace?: boolean;
}

export interface FdbEntrySpec {
  ifindex: number;
  mac: string;
  /** An fdb nexthop *group* (a single nexthop is refused: "Nexthop is not a multipath group"). */
  nhid?: number;
  /** Single destination VTEP; excludes nhid. */
  dst?: string;
  vni?: number;
  port?: number;
  srcVni?: number;
  /** NDA_PROTOCOL. Note: VXLAN devices accept but do not store it (Linux 6.18); dumps never return it. */
  protocol?: number;
  /** NTF_* (default NTF_SELF, as `bridge fdb add ... self`). */
  flags?: number;
  /** NUD_* (default NOARP|PERMANENT as `bridge fdb add`; FDB_STATE_STATIC for `static`). */
  state?: number;
  replace?: boolean;
  /** NLM_F_APPEND: add another destination to a flood-list (all-zeros MAC) entry. */
  append?: boolean;
}

export interface FdbEntryKey {
  ifindex: number;
  mac: string;
  /** For flood-list entries with several destinations: remove only this one. */
  dst?: string;
  vni?: number;
  flags?: number;
}

const WRITE = NLM_F_REQUEST | NLM_F_ACK;

function message(type: number, flags: number, body: (w: NetlinkWriter) => void): Buffer {
  const w = new NetlinkWriter(128);
  w.header(type, flags);
  body(w);
  return w.finish();
}

function createFlags(replace?: boolean): number {
  return WRITE | NLM_F_CREATE | (replace ? NLM_F_REPLACE : NLM_F_EXCL);
}

function checkNexthopId(id: number): void {
  if (!Number.isInteger(id) || id < 1 || id > 0xffffffff) throw new NetlinkEncodeError('NHA_ID', `${id} is not a nexthop id (1..4294967295)`);
}

/** Any RTM_NEWNEXTHOP (flags beyond REQUEST|ACK are the caller's). */
export function newNexthopRequest(flags: number, nh: Partial<Nexthop>): Buffer {
  if (nh.id !== undefined) checkNexthopId(nh.id);
  return message(RTM_NEWNEXTHOP, WRITE | flags, (w) => encodeNexthopBody(w, nh));
}

/** `ip nexthop add|replace id ID via GATEWAY fdb [proto P]` */
export function fdbNexthopRequest(spec: FdbNexthopSpec): Buffer {
  checkNexthopId(spec.id);
  const { family } = parseIp(spec.gateway);
  return message(RTM_NEWNEXTHOP, createFlags(spec.replace), (w) =>
    encodeNexthopBody(w, { id: spec.id, family, protocol: spec.protocol ?? 0, gateway: spec.gateway, fdb: true }),
  );
}

/** `ip nexthop add|replace id ID group A,WA/B,WB fdb [proto P]` (hash-threshold, the kernel's default type). */
export function fdbGroupRequest(spec: FdbGroupSpec): Buffer {
  checkNexthopId(spec.id);
  if (spec.members.length === 0) throw new NetlinkEncodeError('NHA_GROUP', 'a group needs at least one member');
  return message(RTM_NEWNEXTHOP, createFlags(spec.replace), (w) =>
    encodeNexthopBody(w, { id: spec.id, family: AF_UNSPEC, protocol: spec.protocol ?? 0, group: spec.members.map((m) => ({ id: m.id, weight: m.weight ?? 1 })), fdb: true }),
  );
}

/** `ip nexthop del id ID` */
export function deleteNexthopRequest(id: number): Buffer {
  checkNexthopId(id);
  return message(RTM_DELNEXTHOP, WRITE, (w) => {
    encodeNexthopBody(w, {});
    w.attrU32(NHA_ID, id);
  });
}

/** `ip nexthop get id ID` */
export function getNexthopRequest(id: number): Buffer {
  checkNexthopId(id);
  return message(RTM_GETNEXTHOP, NLM_F_REQUEST, (w) => {
    encodeNexthopBody(w, {});
    w.attrU32(NHA_ID, id);
  });
}

/** `ip nexthop show` (NHA_FDB as a dump filter is ignored by Linux 6.18, so none is sent). */
export function dumpNexthopsRequest(): Buffer {
  return message(RTM_GETNEXTHOP, NLM_F_REQUEST | NLM_F_DUMP, (w) => encodeNexthopBody(w, {}));
}

/** `bridge fdb add|replace|append MAC dev DEV self static nhid G` or `... dst IP [vni V]` */
export function fdbEntryRequest(spec: FdbEntrySpec): Buffer {
  if ((spec.nhid === undefined) === (spec.dst === undefined)) throw new NetlinkEncodeError('NDA_NH_ID/NDA_DST', 'an FDB entry needs exactly one of nhid and dst');
  const flags = WRITE | NLM_F_CREATE | (spec.replace ? NLM_F_REPLACE : spec.append ? NLM_F_APPEND : NLM_F_EXCL);
  const entry: Partial<FdbEntry> = {
    family: AF_BRIDGE,
    ifindex: spec.ifindex,
    state: spec.state ?? FDB_STATE_PERMANENT,
    flags: spec.flags ?? NTF_SELF,
    mac: spec.mac,
    dst: spec.dst,
    nhid: spec.nhid,
    vni: spec.vni,
    port: spec.port,
    srcVni: spec.srcVni,
    protocol: spec.protocol,
  };
  return message(RTM_NEWNEIGH, flags, (w) => encodeFdbBody(w, entry));
}

/** `bridge fdb del MAC dev DEV self [dst IP] [vni V]` */
export function deleteFdbEntryRequest(key: FdbEntryKey): Buffer {
  const entry: Partial<FdbEntry> = { family: AF_BRIDGE, ifindex: key.ifindex, flags: key.flags ?? NTF_SELF, mac: key.mac, dst: key.dst, vni: key.vni };
  return message(RTM_DELNEIGH, WRITE, (w) => encodeFdbBody(w, entry));
}

/**
 * `bridge fdb show [brport DEV]`. Without NETLINK_GET_STRICT_CHK the kernel
 * reads a 16-byte ifinfomsg header as the per-port filter (rtnl_fdb_dump's
 * legacy path, wire.md B3); a 12-byte ndmsg dumps every device.
 */
export function dumpFdbRequest(ifindex?: number): Buffer {
  return message(RTM_GETNEIGH, NLM_F_REQUEST | NLM_F_DUMP, (w) => {
    if (ifindex === undefined) w.u8(AF_BRIDGE).u8(0).u16(0).s32(0).u16(0).u8(0).u8(0);
    else encodeIfinfomsg(w, ifindex, 0, 0, AF_BRIDGE);
  });
}

/** `ip link show` without statistics. */
export function dumpLinksRequest(): Buffer {
  return message(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, (w) => {
    encodeIfinfomsg(w, 0);
    w.attrU32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  });
}

/** `ip link show dev NAME` (by name) or by ifindex. */
export function getLinkRequest(which: { name: string } | { ifindex: number }): Buffer {
  return message(RTM_GETLINK, NLM_F_REQUEST, (w) => {
    encodeIfinfomsg(w, 'ifindex' in which ? which.ifindex : 0);
    if ('name' in which) w.attrString(IFLA_IFNAME, which.name);
    w.attrU32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  });
}

/** `ip link add NAME type vxlan id VNI [local IP] dstport P [no]learning [external]` */
export function createVxlanRequest(spec: VxlanSpec): Buffer {
  return message(RTM_NEWLINK, WRITE | NLM_F_CREATE | NLM_F_EXCL, (w) => encodeVxlanLinkBody(w, spec));
}

/** `ip link set dev DEV addrgenmode none` (IFLA_AF_SPEC / AF_INET6 / IFLA_INET6_ADDR_GEN_MODE). */
export function addrGenModeNoneRequest(ifindex: number): Buffer {
  return message(RTM_NEWLINK, WRITE, (w) => {
    encodeIfinfomsg(w, ifindex);
    const spec = w.beginNested(IFLA_AF_SPEC);
    const inet6 = w.beginNested(AF_INET6);
    w.attrU8(IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
    w.endNested(inet6);
    w.endNested(spec);
  });
}

/** `ip link set dev DEV up|down` */
export function setLinkUpRequest(ifindex: number, up: boolean): Buffer {
  return message(RTM_NEWLINK, WRITE, (w) => encodeIfinfomsg(w, ifindex, up ? IFF_UP : 0, IFF_UP));
}

/** `ip link del DEV` */
export function deleteLinkRequest(ifindex: number): Buffer {
  return message(RTM_DELLINK, WRITE, (w) => encodeIfinfomsg(w, ifindex));
}
