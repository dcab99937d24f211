/**
 * Nexthop, FDB and VNI filter requests, built exactly as iproute2 builds the
 * equivalent command (the byte vectors in shared/reference/wire-vectors.md
 * and the unit tests are reproduced by these functions). Sequence numbers
 * are left 0: the transport assigns them. Link requests: link-requests.ts.
 */
import { parseIp } from './address.js';
import {
  AF_BRIDGE,
  AF_UNSPEC,
  FDB_STATE_PERMANENT,
  NHA_ID,
  NLM_F_ACK,
  NLM_F_APPEND,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  NLM_F_REQUEST,
  NTF_MASTER,
  NTF_SELF,
  RTM_DELNEIGH,
  RTM_DELNEXTHOP,
  RTM_DELTUNNEL,
  RTM_GETNEIGH,
  RTM_GETNEXTHOP,
  RTM_GETTUNNEL,
  RTM_NEWNEIGH,
  RTM_NEWNEXTHOP,
  RTM_NEWTUNNEL,
} from './constants.js';
import { NetlinkEncodeError } from './errors.js';
import { encodeIfinfomsg } from './link.js';
import { encodeFdbBody, type FdbEntry } from './neigh.js';
import { encodeNexthopBody, type Nexthop, type NexthopGroupMember } from './nexthop.js';
import { encodeVniFilterBody } from './vnifilter.js';
import { buildMessage as message } from './writer.js';

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
  /** The device the entry lives on: the VXLAN device (`self`) or a bridge port (with flags NTF_MASTER). */
  ifindex: number;
  mac: string;
  /** An fdb nexthop *group* (a single nexthop is refused: "Nexthop is not a multipath group"). */
  nhid?: number;
  /** Single destination VTEP; excludes nhid. */
  dst?: string;
  vni?: number;
  port?: number;
  /** NDA_SRC_VNI: the VNI the entry belongs to on an `external` VXLAN device (SVD). */
  srcVni?: number;
  /** NDA_VLAN: the VLAN of a bridge FDB entry (`master ... vlan V`; needs a VLAN-filtering bridge). */
  vlan?: number;
  /** NDA_PROTOCOL. Note: VXLAN devices accept but do not store it (Linux 6.18); dumps never return it. */
  protocol?: number;
  /** NTF_* (default NTF_SELF, as `bridge fdb add ... self`; NTF_MASTER for the bridge's FDB via a port). */
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
  /** Part of the key on an `external` VXLAN device: (MAC, src VNI). */
  srcVni?: number;
  /** Part of the key in a VLAN-filtering bridge: (MAC, VLAN). */
  vlan?: number;
  /** NTF_SELF (default) or NTF_MASTER. */
  flags?: number;
}

const WRITE = NLM_F_REQUEST | NLM_F_ACK;
const MAX_VNI = 0xffffff;

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

/**
 * `bridge fdb add|replace|append MAC dev DEV self static nhid G [src_vni S]`,
 * `... dst IP [vni V]`, or (flags NTF_MASTER) `bridge fdb add MAC dev PORT
 * master static [vlan V]`.
 */
export function fdbEntryRequest(spec: FdbEntrySpec): Buffer {
  if (spec.nhid !== undefined && spec.dst !== undefined) throw new NetlinkEncodeError('NDA_NH_ID/NDA_DST', 'an FDB entry takes nhid or dst, not both');
  const flags0 = spec.flags ?? NTF_SELF;
  if (spec.nhid === undefined && spec.dst === undefined && !(flags0 & NTF_MASTER)) {
    throw new NetlinkEncodeError('NDA_NH_ID/NDA_DST', 'a VXLAN (self) FDB entry needs nhid or dst; an entry in a bridge FDB uses flags NTF_MASTER');
  }
  const flags = WRITE | NLM_F_CREATE | (spec.replace ? NLM_F_REPLACE : spec.append ? NLM_F_APPEND : NLM_F_EXCL);
  const entry: Partial<FdbEntry> = {
    family: AF_BRIDGE,
    ifindex: spec.ifindex,
    state: spec.state ?? FDB_STATE_PERMANENT,
    flags: flags0,
    mac: spec.mac,
    dst: spec.dst,
    nhid: spec.nhid,
    vni: spec.vni,
    port: spec.port,
    srcVni: spec.srcVni,
    vlan: spec.vlan,
    protocol: spec.protocol,
  };
  return message(RTM_NEWNEIGH, flags, (w) => encodeFdbBody(w, entry));
}

/**
 * `bridge fdb del MAC dev DEV self [dst IP] [vni V] [src_vni S]` or
 * `bridge fdb del MAC dev PORT master [vlan V]`. ndm_state is sent as 0
 * (shared/reference/wire-vectors.md); iproute2 6.1 sends NOARP|PERMANENT
 * there, which the kernel ignores on delete.
 */
export function deleteFdbEntryRequest(key: FdbEntryKey): Buffer {
  const entry: Partial<FdbEntry> = {
    family: AF_BRIDGE,
    ifindex: key.ifindex,
    flags: key.flags ?? NTF_SELF,
    mac: key.mac,
    dst: key.dst,
    vlan: key.vlan,
    vni: key.vni,
    srcVni: key.srcVni,
  };
  return message(RTM_DELNEIGH, WRITE, (w) => encodeFdbBody(w, entry));
}

/** Which FDB entry `bridge fdb get` looks up. */
export interface FdbLookup {
  /** The device holding the entry (the VXLAN device for `self` entries). */
  ifindex: number;
  mac: string;
  /** The entry's VNI on an `external` VXLAN device (its NDA_SRC_VNI): the lookup takes it as NDA_VNI. */
  vni?: number;
  vlan?: number;
  /** NTF_SELF (default) or NTF_MASTER. */
  flags?: number;
}

/**
 * `bridge fdb get MAC dev DEV self [vni V]` (RTM_GETNEIGH without
 * NLM_F_DUMP). The kernel checks the request strictly
 * (valid_fdb_get_strict in net/core/rtnetlink.c, Linux 6.18): ndm_state and
 * ndm_type zero, only NDA_LLADDR, NDA_VLAN, NDA_VNI and NDA_MASTER; a VXLAN
 * device looks the MAC up under NDA_VNI, else under its own VNI
 * (vxlan_fdb_get). The reply holds one RTM_NEWNEIGH (for a flood-list
 * entry, its first destination only), or the request fails with ENOENT.
 */
export function getFdbEntryRequest(lookup: FdbLookup): Buffer {
  const entry: Partial<FdbEntry> = { family: AF_BRIDGE, ifindex: lookup.ifindex, flags: lookup.flags ?? NTF_SELF, mac: lookup.mac, vlan: lookup.vlan, vni: lookup.vni };
  return message(RTM_GETNEIGH, NLM_F_REQUEST, (w) => encodeFdbBody(w, entry));
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

function checkVniRange(vni: number, vniEnd: number | undefined): void {
  if (!Number.isInteger(vni) || vni < 1 || vni > MAX_VNI) throw new NetlinkEncodeError('VXLAN_VNIFILTER_ENTRY_START', `${vni} is outside 1..${MAX_VNI}`);
  if (vniEnd !== undefined && (!Number.isInteger(vniEnd) || vniEnd < vni || vniEnd > MAX_VNI)) {
    throw new NetlinkEncodeError('VXLAN_VNIFILTER_ENTRY_END', `${vniEnd} is outside ${vni}..${MAX_VNI}`);
  }
}

/** `bridge vni add dev DEV vni V[-END]` (RTM_NEWTUNNEL; adding a VNI that is there already succeeds). */
export function addVniFilterRequest(ifindex: number, vni: number, vniEnd?: number): Buffer {
  checkVniRange(vni, vniEnd);
  return message(RTM_NEWTUNNEL, WRITE, (w) => encodeVniFilterBody(w, { ifindex, entries: [{ vni, vniEnd }] }));
}

/** `bridge vni delete dev DEV vni V[-END]` (RTM_DELTUNNEL; ENOENT when the VNI is not there). */
export function deleteVniFilterRequest(ifindex: number, vni: number, vniEnd?: number): Buffer {
  checkVniRange(vni, vniEnd);
  return message(RTM_DELTUNNEL, WRITE, (w) => encodeVniFilterBody(w, { ifindex, entries: [{ vni, vniEnd }] }));
}

/** `bridge vni show [dev DEV]` (RTM_GETTUNNEL dump; ifindex 0 = every vnifilter device). */
export function dumpVniFiltersRequest(ifindex = 0): Buffer {
  return message(RTM_GETTUNNEL, NLM_F_REQUEST | NLM_F_DUMP, (w) => encodeVniFilterBody(w, { ifindex }));
}
