/**
 * Links (RTM_NEWLINK / DELLINK / GETLINK): struct ifinfomsg plus the IFLA_*
 * attributes this project needs, with the IFLA_VXLAN_* data of VXLAN devices
 * decoded (UAPI if_link.h). Everything else a link reply carries (statistics,
 * AF_SPEC, ...) stays raw.
 */
import { attrTable, decodeAttributes, encodeAttributes, type AttrBag, type CustomKind, type RawAttribute } from './attributes.js';
import {
  IFLA_ADDRESS,
  IFLA_AF_SPEC,
  IFLA_IFNAME,
  IFLA_INFO_DATA,
  IFLA_INFO_KIND,
  IFLA_LINK,
  IFLA_LINKINFO,
  IFLA_MASTER,
  IFLA_MTU,
  IFLA_OPERSTATE,
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
  vnifilter?: boolean;
  ttl?: number;
  tos?: number;
  ageing?: number;
  link?: number;
  raw?: RawAttribute[];
}

export interface LinkInfo {
  kind?: string;
  /** IFLA_INFO_DATA undecoded (decoded into Link.vxlan when kind is "vxlan"). */
  data?: Uint8Array;
  slaveKind?: string;
  raw?: RawAttribute[];
}

/** A network device as the kernel reports it. */
export interface Link {
  ifindex: number;
  family: number;
  /** ARPHRD_* device type. */
  type: number;
  /** IFF_* flags. */
  flags: number;
  name: string;
  mtu?: number;
  master?: number;
  link?: number;
  address?: string;
  operstate?: number;
  linkinfo?: LinkInfo;
  /** Shortcut for linkinfo.kind ("vxlan", "bridge", ...). */
  kind?: string;
  vxlan?: VxlanInfo;
  afSpec?: Uint8Array;
  raw?: RawAttribute[];
}

/** IFLA_VXLAN_LEARNING and COLLECT_METADATA are u8 booleans on the wire. */
const u8Bool: CustomKind = {
  decode(buf, off, len, field) {
    if (len < 1) throw new NetlinkDecodeError(field, off - 4, 'a u8 needs 1 byte');
    return buf[off] !== 0;
  },
  encode(w, type, value) {
    w.attrU8(type, value ? 1 : 0);
  },
};

export const vxlanAttributes = attrTable('IFLA_INFO_DATA(vxlan)', [
  { type: IFLA_VXLAN_ID, name: 'IFLA_VXLAN_ID', key: 'vni', kind: 'u32' },
  { type: IFLA_VXLAN_GROUP, name: 'IFLA_VXLAN_GROUP', key: 'group', kind: 'ip' },
  { type: IFLA_VXLAN_LINK, name: 'IFLA_VXLAN_LINK', key: 'link', kind: 'u32' },
  { type: IFLA_VXLAN_LOCAL, name: 'IFLA_VXLAN_LOCAL', key: 'local', kind: 'ip' },
  { type: IFLA_VXLAN_TTL, name: 'IFLA_VXLAN_TTL', key: 'ttl', kind: 'u8' },
  { type: IFLA_VXLAN_TOS, name: 'IFLA_VXLAN_TOS', key: 'tos', kind: 'u8' },
  { type: IFLA_VXLAN_LEARNING, name: 'IFLA_VXLAN_LEARNING', key: 'learning', kind: u8Bool },
  { type: IFLA_VXLAN_AGEING, name: 'IFLA_VXLAN_AGEING', key: 'ageing', kind: 'u32' },
  { type: IFLA_VXLAN_PORT, name: 'IFLA_VXLAN_PORT', key: 'port', kind: 'be16' },
  { type: IFLA_VXLAN_GROUP6, name: 'IFLA_VXLAN_GROUP6', key: 'group6', kind: 'ip' },
  { type: IFLA_VXLAN_LOCAL6, name: 'IFLA_VXLAN_LOCAL6', key: 'local6', kind: 'ip' },
  { type: IFLA_VXLAN_COLLECT_METADATA, name: 'IFLA_VXLAN_COLLECT_METADATA', key: 'external', kind: u8Bool },
  { type: IFLA_VXLAN_VNIFILTER, name: 'IFLA_VXLAN_VNIFILTER', key: 'vnifilter', kind: u8Bool },
]);

const linkInfoAttributes = attrTable('IFLA_LINKINFO', [
  { type: IFLA_INFO_KIND, name: 'IFLA_INFO_KIND', key: 'kind', kind: 'string' },
  { type: IFLA_INFO_DATA, name: 'IFLA_INFO_DATA', key: 'data', kind: 'binary' },
  { type: 4, name: 'IFLA_INFO_SLAVE_KIND', key: 'slaveKind', kind: 'string' },
]);

export const linkAttributes = attrTable('ifinfomsg', [
  { type: IFLA_ADDRESS, name: 'IFLA_ADDRESS', key: 'address', kind: 'hwaddr' },
  { type: IFLA_IFNAME, name: 'IFLA_IFNAME', key: 'name', kind: 'string' },
  { type: IFLA_MTU, name: 'IFLA_MTU', key: 'mtu', kind: 'u32' },
  { type: IFLA_LINK, name: 'IFLA_LINK', key: 'link', kind: 'u32' },
  { type: IFLA_MASTER, name: 'IFLA_MASTER', key: 'master', kind: 'u32' },
  { type: IFLA_OPERSTATE, name: 'IFLA_OPERSTATE', key: 'operstate', kind: 'u8' },
  { type: IFLA_LINKINFO, name: 'IFLA_LINKINFO', key: 'linkinfo', kind: { nested: linkInfoAttributes } },
  { type: IFLA_AF_SPEC, name: 'IFLA_AF_SPEC', key: 'afSpec', kind: 'binary' },
]);

/** Decodes an RTM_{NEW,DEL}LINK message. */
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
  decodeAttributes(buf, p + IFINFOMSG_LEN, end, linkAttributes, link);
  const info = link.linkinfo;
  if (info?.kind !== undefined) link.kind = info.kind;
  if (info?.kind === 'vxlan' && info.data) {
    const data = info.data as Buffer;
    const vx: VxlanInfo & AttrBag = {};
    // Error offsets here are relative to IFLA_INFO_DATA's payload.
    decodeAttributes(data, 0, data.length, vxlanAttributes, vx);
    if (vx.local === undefined && vx.local6 !== undefined) vx.local = vx.local6;
    link.vxlan = vx;
  }
  return link;
}

/** What `createVxlan` asks for; mirrors `ip link add NAME type vxlan id VNI ...`. */
export interface VxlanSpec {
  name: string;
  vni?: number;
  local?: string;
  port?: number;
  learning?: boolean;
  external?: boolean;
  vnifilter?: boolean;
  ttl?: number;
  ageing?: number;
  /** Underlay device (IFLA_VXLAN_LINK). */
  link?: number;
  mtu?: number;
}

/** Writes ifinfomsg {family, type, index, flags, change}. */
export function encodeIfinfomsg(w: NetlinkWriter, index: number, flags = 0, change = 0, family = 0, type = 0): void {
  w.u8(family).u8(0).u16(type).s32(index).u32(flags).u32(change);
}

/** Writes struct ifinfomsg and the attributes of a new VXLAN device. */
export function encodeVxlanLinkBody(w: NetlinkWriter, spec: VxlanSpec): void {
  if (!spec.name || Buffer.byteLength(spec.name) > 15) throw new NetlinkEncodeError('IFLA_IFNAME', `"${spec.name}" is not a valid device name (1..15 bytes)`);
  if (spec.vni !== undefined && (!Number.isInteger(spec.vni) || spec.vni < 0 || spec.vni > 0xffffff)) throw new NetlinkEncodeError('IFLA_VXLAN_ID', `${spec.vni} is outside 0..16777215`);
  encodeIfinfomsg(w, 0);
  const data = new NetlinkWriter(64);
  const { local, ...rest } = spec;
  const vx: AttrBag = { vni: rest.vni, port: rest.port, learning: rest.learning, ttl: rest.ttl, ageing: rest.ageing, link: rest.link };
  if (rest.external !== undefined) vx.external = rest.external;
  if (rest.vnifilter !== undefined) vx.vnifilter = rest.vnifilter;
  if (local !== undefined) {
    if (local.includes(':')) vx.local6 = local;
    else vx.local = local;
  }
  encodeVxlanData(data, vx);
  encodeAttributes(w, linkAttributes, {
    name: spec.name,
    mtu: spec.mtu,
    linkinfo: { kind: 'vxlan', data: data.bytesSoFar() },
  });
}

function encodeVxlanData(w: NetlinkWriter, vx: AttrBag): void {
  // u8 booleans must be sent even when false (learning off is the point), so
  // they bypass encodeAttributes' "false means absent" rule for flags.
  const { learning, external, vnifilter, ...rest } = vx;
  encodeAttributes(w, vxlanAttributes, rest);
  if (learning !== undefined) w.attrU8(IFLA_VXLAN_LEARNING, learning ? 1 : 0);
  if (external !== undefined) w.attrU8(IFLA_VXLAN_COLLECT_METADATA, external ? 1 : 0);
  if (vnifilter !== undefined) w.attrU8(IFLA_VXLAN_VNIFILTER, vnifilter ? 1 : 0);
}

/** Re-encodes a decoded Link (for round-trip tests and tools that relay messages). */
export function encodeLinkBody(w: NetlinkWriter, link: Partial<Link>): void {
  encodeIfinfomsg(w, link.ifindex ?? 0, link.flags ?? 0, 0, link.family ?? 0, link.type ?? 0);
  const { ifindex: _i, flags: _f, family: _fa, type: _t, kind: _k, vxlan, linkinfo, ...rest } = link;
  let info = linkinfo;
  if (vxlan && linkinfo?.kind === 'vxlan') {
    const data = new NetlinkWriter(64);
    const { local, local6, ...vrest } = vxlan;
    encodeVxlanData(data, { ...vrest, ...(local6 !== undefined ? { local6 } : local !== undefined ? { local } : {}) });
    info = { ...linkinfo, data: data.bytesSoFar() };
  }
  encodeAttributes(w, linkAttributes, { ...rest, ...(info ? { linkinfo: info } : {}) });
}
