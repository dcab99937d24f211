/**
 * Links (RTM_NEWLINK / DELLINK / GETLINK): struct ifinfomsg plus the IFLA_*
 * attributes this project needs (UAPI if_link.h), with the IFLA_INFO_DATA of
 * VXLAN and bridge devices and a bridge port's IFLA_BRPORT_* decoded.
 * Everything else a link reply carries (statistics, ...) stays raw.
 *
 * Two kinds of message share these types, told apart by `family`:
 * - AF_UNSPEC (0): the device itself (`ip link`): link dumps, lookups and
 *   RTNLGRP_LINK notifications. A bridge port's message also carries its
 *   port settings in IFLA_LINKINFO / IFLA_INFO_SLAVE_DATA.
 * - AF_BRIDGE (7): a bridge's view of one of its ports (`bridge link`,
 *   `bridge vlan`; net/bridge/br_netlink.c br_fill_ifinfo): IFLA_PROTINFO
 *   holds the port's settings and IFLA_AF_SPEC its VLANs. An RTM_DELLINK of
 *   this family means the device left the bridge, not that it is gone.
 * Each family is read with its own attribute table (IFLA_PROTINFO and
 * IFLA_AF_SPEC mean different things in each).
 */
import { attrTable, decodeAttributes, encodeAttributes, type AttrBag, type AttrField, type AttrTable, type CustomKind, type RawAttribute } from './attributes.js';
import { bridgeAfSpecAttributes, bridgeInfoAttributes, bridgePortAttributes, type BridgeAfSpec, type BridgeInfo, type BridgePortInfo } from './bridge.js';
import {
  AF_BRIDGE,
  IFLA_ADDRESS,
  IFLA_AF_SPEC,
  IFLA_IFALIAS,
  IFLA_IFNAME,
  IFLA_INFO_DATA,
  IFLA_INFO_KIND,
  IFLA_INFO_SLAVE_DATA,
  IFLA_INFO_SLAVE_KIND,
  IFLA_LINK,
  IFLA_LINKINFO,
  IFLA_MASTER,
  IFLA_MTU,
  IFLA_OPERSTATE,
  IFLA_PROTINFO,
  IFLA_VXLAN_AGEING,
  IFLA_VXLAN_COLLECT_METADATA,
  IFLA_VXLAN_GROUP,
  IFLA_VXLAN_GROUP6,
  IFLA_VXLAN_ID,
  IFLA_VXLAN_LEARNING,
  IFLA_VXLAN_LINK,
  IFLA_VXLAN_LOCAL,
  IFLA_VXLAN_LOCAL6,
  IFLA_VXLAN_PORT,
  IFLA_VXLAN_TOS,
  IFLA_VXLAN_TTL,
  IFLA_VXLAN_VNIFILTER,
} from './constants.js';
import { NetlinkDecodeError, NetlinkEncodeError } from './errors.js';
import { NLMSG_HDRLEN, type NetlinkMessage } from './message.js';
import { NetlinkWriter } from './writer.js';

export const IFINFOMSG_LEN = 16;
/** IFALIASZ − 1: the longest alias the kernel stores (dev_set_alias refuses more with EINVAL). */
export const MAX_ALIAS_BYTES = 255;

/** IFLA_VXLAN_* of a VXLAN device, as decoded. */
export interface VxlanInfo {
  vni?: number;
  /** IFLA_VXLAN_LOCAL or LOCAL6. */
  local?: string;
  local6?: string;
  group?: string;
  group6?: string;
  /** UDP destination port. */
  port?: number;
  learning?: boolean;
  /** IFLA_VXLAN_COLLECT_METADATA ("external"): flow-based, no fixed VNI. */
  external?: boolean;
  /** With `external`: only VNIs added with RTM_NEWTUNNEL (`bridge vni add`) are received. */
  vnifilter?: boolean;
  ttl?: number;
  tos?: number;
  ageing?: number;
  link?: number;
  raw?: RawAttribute[];
}

export interface LinkInfo {
  kind?: string;
  /** IFLA_INFO_DATA undecoded (decoded into Link.vxlan / Link.bridge for those kinds). */
  data?: Uint8Array;
  /** The master's kind for a port ("bridge"). */
  slaveKind?: string;
  /** IFLA_INFO_SLAVE_DATA undecoded (decoded into Link.bridgePort when slaveKind is "bridge"). */
  slaveData?: Uint8Array;
  raw?: RawAttribute[];
}

/** A network device (family AF_UNSPEC) or a bridge's port message (family AF_BRIDGE), as the kernel reports it. */
export interface Link {
  ifindex: number;
  /** AF_UNSPEC (0): the device. AF_BRIDGE (7): a bridge port message (see the module comment). */
  family: number;
  /** ARPHRD_* device type. */
  type: number;
  /** IFF_* flags (IFF_UP is the admin state; IFF_LOWER_UP and IFF_RUNNING report carrier / oper state). */
  flags: number;
  /** ifi_change: the IFF_* bits a request changes, or a notification reports changed; absent when 0. */
  change?: number;
  name: string;
  mtu?: number;
  master?: number;
  link?: number;
  address?: string;
  /** IF_OPER_* (a VXLAN device without a lower device reports IF_OPER_UNKNOWN when up). */
  operstate?: number;
  /** IFLA_IFALIAS; absent when the device has none. */
  alias?: string;
  linkinfo?: LinkInfo;
  /** Shortcut for linkinfo.kind ("vxlan", "bridge", "veth", ...). */
  kind?: string;
  vxlan?: VxlanInfo;
  /** IFLA_BR_* of a bridge device. */
  bridge?: BridgeInfo;
  /** A bridge port's settings: IFLA_PROTINFO (AF_BRIDGE) or IFLA_INFO_SLAVE_DATA (AF_UNSPEC). */
  bridgePort?: BridgePortInfo;
  /** AF_BRIDGE only: IFLA_AF_SPEC with the port's VLANs and VLAN→tunnel mappings. */
  bridgeAfSpec?: BridgeAfSpec;
  /** AF_UNSPEC only: IFLA_AF_SPEC undecoded (per address family data). */
  afSpec?: Uint8Array;
  raw?: RawAttribute[];
}

/**
 * IFLA_IFALIAS is written without a NUL, as iproute2 writes it: the kernel
 * stores nla_len bytes (dev_set_alias), so a NUL would become part of the
 * alias. The kernel sends it NUL-terminated; read up to the NUL.
 */
const ifaliasKind: CustomKind = {
  decode(buf, off, len) {
    const nul = buf.indexOf(0, off);
    return buf.toString('utf8', off, nul === -1 || nul > off + len ? off + len : nul);
  },
  // (Not the 'chars' kind: an alias has a length limit and must not contain a NUL.)
  encode(w, type, value, field) {
    if (typeof value !== 'string') throw new NetlinkEncodeError(field, 'expected a string');
    const bytes = Buffer.from(value, 'utf8');
    if (bytes.length > MAX_ALIAS_BYTES) throw new NetlinkEncodeError(field, `an alias of ${bytes.length} bytes is longer than ${MAX_ALIAS_BYTES}`);
    if (bytes.includes(0)) throw new NetlinkEncodeError(field, 'an alias cannot contain a NUL byte');
    w.attrBytes(type, bytes);
  },
};

// Table order is the order `ip link add NAME type vxlan [external] [vnifilter]
// [dev D] [ttl T] [tos T] [ageing A] [id VNI] [local IP] [nolearning] dstport P`
// sends them in (iproute2 ip/iplink_vxlan.c: the first six while parsing, the
// rest after), so create requests are byte-identical to iproute2's.
export const vxlanAttributes = attrTable('IFLA_INFO_DATA(vxlan)', [
  { type: IFLA_VXLAN_COLLECT_METADATA, name: 'IFLA_VXLAN_COLLECT_METADATA', key: 'external', kind: 'bool' },
  { type: IFLA_VXLAN_VNIFILTER, name: 'IFLA_VXLAN_VNIFILTER', key: 'vnifilter', kind: 'bool' },
  { type: IFLA_VXLAN_LINK, name: 'IFLA_VXLAN_LINK', key: 'link', kind: 'u32' },
  { type: IFLA_VXLAN_TTL, name: 'IFLA_VXLAN_TTL', key: 'ttl', kind: 'u8' },
  { type: IFLA_VXLAN_TOS, name: 'IFLA_VXLAN_TOS', key: 'tos', kind: 'u8' },
  { type: IFLA_VXLAN_AGEING, name: 'IFLA_VXLAN_AGEING', key: 'ageing', kind: 'u32' },
  { type: IFLA_VXLAN_ID, name: 'IFLA_VXLAN_ID', key: 'vni', kind: 'u32' },
  { type: IFLA_VXLAN_LOCAL, name: 'IFLA_VXLAN_LOCAL', key: 'local', kind: 'ip' },
  { type: IFLA_VXLAN_LOCAL6, name: 'IFLA_VXLAN_LOCAL6', key: 'local6', kind: 'ip' },
  { type: IFLA_VXLAN_GROUP, name: 'IFLA_VXLAN_GROUP', key: 'group', kind: 'ip' },
  { type: IFLA_VXLAN_GROUP6, name: 'IFLA_VXLAN_GROUP6', key: 'group6', kind: 'ip' },
  { type: IFLA_VXLAN_LEARNING, name: 'IFLA_VXLAN_LEARNING', key: 'learning', kind: 'bool' },
  { type: IFLA_VXLAN_PORT, name: 'IFLA_VXLAN_PORT', key: 'port', kind: 'be16' },
]);

const linkInfoAttributes = attrTable('IFLA_LINKINFO', [
  { type: IFLA_INFO_KIND, name: 'IFLA_INFO_KIND', key: 'kind', kind: 'chars' },
  { type: IFLA_INFO_DATA, name: 'IFLA_INFO_DATA', key: 'data', kind: 'binary' },
  { type: IFLA_INFO_SLAVE_KIND, name: 'IFLA_INFO_SLAVE_KIND', key: 'slaveKind', kind: 'string' },
  { type: IFLA_INFO_SLAVE_DATA, name: 'IFLA_INFO_SLAVE_DATA', key: 'slaveData', kind: 'binary' },
]);

// Encoding order is `ip link add`'s: generic options (iproute2 ip/iplink.c
// adds them while parsing), then the name, then the kind's IFLA_LINKINFO.
const commonLinkFields: AttrField[] = [
  { type: IFLA_ADDRESS, name: 'IFLA_ADDRESS', key: 'address', kind: 'hwaddr' },
  { type: IFLA_IFALIAS, name: 'IFLA_IFALIAS', key: 'alias', kind: ifaliasKind },
  { type: IFLA_MTU, name: 'IFLA_MTU', key: 'mtu', kind: 'u32' },
  { type: IFLA_IFNAME, name: 'IFLA_IFNAME', key: 'name', kind: 'string' },
  { type: IFLA_LINK, name: 'IFLA_LINK', key: 'link', kind: 'u32' },
  { type: IFLA_MASTER, name: 'IFLA_MASTER', key: 'master', kind: 'u32' },
  { type: IFLA_OPERSTATE, name: 'IFLA_OPERSTATE', key: 'operstate', kind: 'u8' },
  // iproute2 sends IFLA_LINKINFO without NLA_F_NESTED; so does the kernel.
  { type: IFLA_LINKINFO, name: 'IFLA_LINKINFO', key: 'linkinfo', kind: { nested: linkInfoAttributes, flag: false } },
];

/** Attributes of an AF_UNSPEC link message (the device). */
export const linkAttributes = attrTable('ifinfomsg', [...commonLinkFields, { type: IFLA_AF_SPEC, name: 'IFLA_AF_SPEC', key: 'afSpec', kind: 'binary' }]);

/** Attributes of an AF_BRIDGE link message (a bridge's port). */
export const bridgePortLinkAttributes = attrTable('ifinfomsg(AF_BRIDGE)', [
  ...commonLinkFields,
  { type: IFLA_PROTINFO, name: 'IFLA_PROTINFO', key: 'bridgePort', kind: { nested: bridgePortAttributes } },
  { type: IFLA_AF_SPEC, name: 'IFLA_AF_SPEC', key: 'bridgeAfSpec', kind: { nested: bridgeAfSpecAttributes, flag: false } },
]);

/** Decodes the attributes inside an undecoded IFLA_INFO_DATA-like payload (error offsets are relative to it). */
function decodeNestedPayload<T>(data: Uint8Array, table: AttrTable): T {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const into: AttrBag = {};
  decodeAttributes(buf, 0, buf.length, table, into);
  return into as T;
}

/** Decodes an RTM_{NEW,DEL}LINK message of any family (see the module comment). */
export function decodeLink(msg: NetlinkMessage): Link {
  const { buf, offset, length } = msg;
  const p = offset + NLMSG_HDRLEN;
  const end = offset + length;
  if (end - p < IFINFOMSG_LEN) throw new NetlinkDecodeError('ifinfomsg', p, `${end - p} bytes, struct ifinfomsg needs ${IFINFOMSG_LEN}`);
  const link: Link & AttrBag = {
    family: buf[p]!,
    type: buf.readUInt16LE(p + 2),
    ifindex: buf.readInt32LE(p + 4),
    flags: buf.readUInt32LE(p + 8),
    name: '',
  };
  const change = buf.readUInt32LE(p + 12);
  if (change !== 0) link.change = change;
  decodeAttributes(buf, p + IFINFOMSG_LEN, end, link.family === AF_BRIDGE ? bridgePortLinkAttributes : linkAttributes, link);
  const info = link.linkinfo;
  if (info?.kind !== undefined) link.kind = info.kind;
  if (info?.kind === 'vxlan' && info.data) {
    const vx = decodeNestedPayload<VxlanInfo>(info.data, vxlanAttributes);
    if (vx.local === undefined && vx.local6 !== undefined) vx.local = vx.local6;
    link.vxlan = vx;
  }
  if (info?.kind === 'bridge' && info.data) link.bridge = decodeNestedPayload<BridgeInfo>(info.data, bridgeInfoAttributes);
  if (info?.slaveKind === 'bridge' && info.slaveData) link.bridgePort = decodeNestedPayload<BridgePortInfo>(info.slaveData, bridgePortAttributes);
  return link;
}

/** Writes ifinfomsg {family, type, index, flags, change}. */
export function encodeIfinfomsg(w: NetlinkWriter, index: number, flags = 0, change = 0, family = 0, type = 0): void {
  w.u8(family).u8(0).u16(type).s32(index).u32(flags).u32(change);
}

/** The payload of IFLA_INFO_DATA for a VXLAN device (`local` goes to LOCAL or LOCAL6 by its family). */
export function vxlanInfoData(vx: VxlanInfo): Buffer {
  const { local, local6, ...rest } = vx;
  const bag: AttrBag = { ...rest };
  const addr = local6 ?? local;
  if (addr !== undefined) bag[addr.includes(':') ? 'local6' : 'local'] = addr;
  const w = new NetlinkWriter(64);
  encodeAttributes(w, vxlanAttributes, bag);
  return w.bytesSoFar();
}

/** The payload of an attribute set encoded by `table` (for IFLA_INFO_DATA / SLAVE_DATA). */
export function nestedPayload(table: AttrTable, value: object): Buffer {
  const w = new NetlinkWriter(64);
  encodeAttributes(w, table, value as AttrBag);
  return w.bytesSoFar();
}

/** Re-encodes a decoded Link (for round-trip tests and tools that relay messages). */
export function encodeLinkBody(w: NetlinkWriter, link: Partial<Link>): void {
  encodeIfinfomsg(w, link.ifindex ?? 0, link.flags ?? 0, link.change ?? 0, link.family ?? 0, link.type ?? 0);
  const { ifindex: _i, flags: _f, change: _c, family, type: _t, kind: _k, vxlan, bridge, bridgePort, linkinfo, name, ...attrs } = link;
  // decodeLink reports a message without IFLA_IFNAME as name ''.
  const rest = name ? { name, ...attrs } : attrs;
  let info = linkinfo;
  if (vxlan && linkinfo?.kind === 'vxlan') info = { ...info, data: vxlanInfoData(vxlan) };
  if (bridge && linkinfo?.kind === 'bridge') info = { ...info, data: nestedPayload(bridgeInfoAttributes, bridge) };
  if (family === AF_BRIDGE) {
    encodeAttributes(w, bridgePortLinkAttributes, { ...rest, ...(info ? { linkinfo: info } : {}), ...(bridgePort ? { bridgePort } : {}) });
    return;
  }
  if (bridgePort && linkinfo?.slaveKind === 'bridge') info = { ...info, slaveData: nestedPayload(bridgePortAttributes, bridgePort) };
  encodeAttributes(w, linkAttributes, { ...rest, ...(info ? { linkinfo: info } : {}) });
}
