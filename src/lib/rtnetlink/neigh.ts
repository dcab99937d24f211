/**
 * Bridge FDB entries (RTM_NEWNEIGH / DELNEIGH / GETNEIGH with family
 * AF_BRIDGE): struct ndmsg plus NDA_* attributes (UAPI neighbour.h; Linux
 * drivers/net/vxlan/vxlan_core.c for what a VXLAN device accepts).
 */
import { attrTable, decodeAttributes, encodeAttributes, type AttrBag, type CustomKind, type RawAttribute } from './attributes.js';
import {
  NDA_CACHEINFO,
  NDA_DST,
  NDA_FDB_EXT_ATTRS,
  NDA_FLAGS_EXT,
  NDA_IFINDEX,
  NDA_LINK_NETNSID,
  NDA_LLADDR,
  NDA_MASTER,
  NDA_NH_ID,
  NDA_PORT,
  NDA_PROBES,
  NDA_PROTOCOL,
  NDA_SRC_VNI,
  NDA_VLAN,
  NDA_VNI,
} from './constants.js';
import { NetlinkDecodeError, NetlinkEncodeError } from './errors.js';
import { NLMSG_HDRLEN, type NetlinkMessage } from './message.js';
import type { NetlinkWriter } from './writer.js';

export const NDMSG_LEN = 12;

/** struct nda_cacheinfo, in clock ticks (USER_HZ) since the event. */
export interface NeighCacheInfo {
  confirmed: number;
  used: number;
  updated: number;
  refcnt: number;
}

/** A bridge / VXLAN FDB entry as the kernel reports it. */
export interface FdbEntry {
  /** AF_BRIDGE (7) for FDB entries. */
  family: number;
  /** The device the entry lives on (the VXLAN device for `self` entries). */
  ifindex: number;
  /** NUD_* bits (see fdbStateNames). */
  state: number;
  /** NTF_* bits (see fdbFlagNames). */
  flags: number;
  /** ndmsg.ndm_type. */
  ndmType: number;
  /** NDA_LLADDR: the MAC address ("00:00:00:00:00:00" is a VXLAN flood-list entry). */
  mac: string;
  /** NDA_DST: the remote VTEP of a single-destination entry. */
  dst?: string;
  /** NDA_NH_ID: the fdb nexthop group an ECMP entry points at. */
  nhid?: number;
  /** NDA_VNI: the VNI sent to the remote (a `dst` entry); absent when it is the device's own. */
  vni?: number;
  /**
   * NDA_SRC_VNI: on an `external` VXLAN device the entry is keyed by (MAC,
   * src VNI) — one MAC in two VNIs is two entries; 0 and absent are the same key.
   */
  srcVni?: number;
  port?: number;
  /** NDA_VLAN: the VLAN of a bridge FDB entry (absent for VLAN 0). */
  vlan?: number;
  /** NDA_IFINDEX: outgoing device for the remote (VXLAN). */
  viaIfindex?: number;
  master?: number;
  linkNetnsid?: number;
  protocol?: number;
  probes?: number;
  flagsExt?: number;
  cacheinfo?: NeighCacheInfo;
  fdbExtAttrs?: Uint8Array;
  raw?: RawAttribute[];
}

const cacheInfoKind: CustomKind = {
  decode(buf, off, len, field) {
    if (len < 16) throw new NetlinkDecodeError(field, off - 4, `struct nda_cacheinfo needs 16 bytes, attribute has ${len}`);
    return { confirmed: buf.readUInt32LE(off), used: buf.readUInt32LE(off + 4), updated: buf.readUInt32LE(off + 8), refcnt: buf.readUInt32LE(off + 12) };
  },
  encode(w, type, value, field) {
    const c = value as NeighCacheInfo;
    if (typeof c !== 'object' || c === null) throw new NetlinkEncodeError(field, 'expected {confirmed, used, updated, refcnt}');
    const b = Buffer.alloc(16);
    b.writeUInt32LE(c.confirmed >>> 0, 0);
    b.writeUInt32LE(c.used >>> 0, 4);
    b.writeUInt32LE(c.updated >>> 0, 8);
    b.writeUInt32LE(c.refcnt >>> 0, 12);
    w.attrBytes(type, b);
  },
};

// Encoding follows table order, which is the order `bridge fdb add|del`
// sends them in (iproute2 bridge/fdb.c fdb_modify): LLADDR, DST, VLAN, NH_ID,
// PORT, VNI, SRC_VNI, IFINDEX; the rest are only ever received.
export const fdbAttributes = attrTable('ndmsg', [
  { type: NDA_LLADDR, name: 'NDA_LLADDR', key: 'mac', kind: 'mac' },
  { type: NDA_DST, name: 'NDA_DST', key: 'dst', kind: 'ip' },
  { type: NDA_VLAN, name: 'NDA_VLAN', key: 'vlan', kind: 'u16' },
  { type: NDA_NH_ID, name: 'NDA_NH_ID', key: 'nhid', kind: 'u32' },
  { type: NDA_PORT, name: 'NDA_PORT', key: 'port', kind: 'be16' },
  { type: NDA_VNI, name: 'NDA_VNI', key: 'vni', kind: 'u32' },
  { type: NDA_SRC_VNI, name: 'NDA_SRC_VNI', key: 'srcVni', kind: 'u32' },
  { type: NDA_IFINDEX, name: 'NDA_IFINDEX', key: 'viaIfindex', kind: 'u32' },
  { type: NDA_CACHEINFO, name: 'NDA_CACHEINFO', key: 'cacheinfo', kind: cacheInfoKind },
  { type: NDA_PROBES, name: 'NDA_PROBES', key: 'probes', kind: 'u32' },
  { type: NDA_MASTER, name: 'NDA_MASTER', key: 'master', kind: 'u32' },
  { type: NDA_LINK_NETNSID, name: 'NDA_LINK_NETNSID', key: 'linkNetnsid', kind: 's32' },
  { type: NDA_PROTOCOL, name: 'NDA_PROTOCOL', key: 'protocol', kind: 'u8' },
  { type: NDA_FDB_EXT_ATTRS, name: 'NDA_FDB_EXT_ATTRS', key: 'fdbExtAttrs', kind: 'binary' },
  { type: NDA_FLAGS_EXT, name: 'NDA_FLAGS_EXT', key: 'flagsExt', kind: 'u32' },
]);

/** Reads the family byte of a neighbour message without decoding it (to skip ARP/ND entries cheaply). */
export function neighFamily(msg: NetlinkMessage): number {
  return msg.length > NLMSG_HDRLEN ? msg.buf[msg.offset + NLMSG_HDRLEN]! : -1;
}

/** Decodes an RTM_{NEW,DEL}NEIGH message of family AF_BRIDGE. */
export function decodeFdbEntry(msg: NetlinkMessage): FdbEntry {
  const { buf, offset, length } = msg;
  const p = offset + NLMSG_HDRLEN;
  const end = offset + length;
  if (end - p < NDMSG_LEN) throw new NetlinkDecodeError('ndmsg', p, `${end - p} bytes, struct ndmsg needs ${NDMSG_LEN}`);
  const entry: FdbEntry & AttrBag = {
    family: buf[p]!,
    ifindex: buf.readInt32LE(p + 4),
    state: buf.readUInt16LE(p + 8),
    flags: buf[p + 10]!,
    ndmType: buf[p + 11]!,
    mac: '',
  };
  decodeAttributes(buf, p + NDMSG_LEN, end, fdbAttributes, entry);
  if (entry.mac === '') throw new NetlinkDecodeError('NDA_LLADDR', p, 'an FDB entry without a MAC address');
  return entry;
}

/** Writes struct ndmsg and the attributes of `entry`. */
export function encodeFdbBody(w: NetlinkWriter, entry: Partial<FdbEntry>): void {
  w.u8(entry.family ?? 7).u8(0).u16(0).s32(entry.ifindex ?? 0).u16(entry.state ?? 0).u8(entry.flags ?? 0).u8(entry.ndmType ?? 0);
  const { family: _f, ifindex: _i, state: _s, flags: _fl, ndmType: _t, ...attrs } = entry;
  encodeAttributes(w, fdbAttributes, attrs);
}
