/**
 * VXLAN VNI filter (RTM_NEWTUNNEL / DELTUNNEL / GETTUNNEL, Linux >= 5.18):
 * struct tunnel_msg {u8 family (AF_BRIDGE); u8 flags; u16 reserved; u32
 * ifindex} plus VXLAN_VNIFILTER_ENTRY nests {START u32, END u32, GROUP,
 * GROUP6, STATS} (UAPI if_link.h; drivers/net/vxlan/vxlan_vnifilter.c). Only
 * an `external vnifilter` VXLAN device has a filter (EOPNOTSUPP on others);
 * `bridge vni add|delete|show` speaks this.
 */
import { attrTable, decodeAttributes, encodeAttributes, type AttrBag, type RawAttribute } from './attributes.js';
import {
  AF_BRIDGE,
  VXLAN_VNIFILTER_ENTRY,
  VXLAN_VNIFILTER_ENTRY_END,
  VXLAN_VNIFILTER_ENTRY_GROUP,
  VXLAN_VNIFILTER_ENTRY_GROUP6,
  VXLAN_VNIFILTER_ENTRY_START,
  VXLAN_VNIFILTER_ENTRY_STATS,
} from './constants.js';
import { NetlinkDecodeError } from './errors.js';
import { NLMSG_HDRLEN, type NetlinkMessage } from './message.js';
import type { NetlinkWriter } from './writer.js';

export const TUNNEL_MSG_LEN = 8;

/** One VXLAN_VNIFILTER_ENTRY: a VNI, or the range vni..vniEnd (dumps merge consecutive VNIs into ranges). */
export interface VniFilterRange {
  vni?: number;
  /** Last VNI of a range (inclusive); absent for a single VNI. */
  vniEnd?: number;
  /** Multicast group for the VNI's BUM traffic (needs a lower device). */
  group?: string;
  group6?: string;
  /** VXLAN_VNIFILTER_ENTRY_STATS undecoded (present when the dump asked for TUNNEL_MSG_FLAG_STATS). */
  stats?: Uint8Array;
  raw?: RawAttribute[];
}

/** An RTM_{NEW,DEL,GET}TUNNEL message. */
export interface VniFilterMessage {
  /** AF_BRIDGE (7), as iproute2 sends it. */
  family: number;
  /** TUNNEL_MSG_FLAG_* (STATS in a dump request). */
  flags: number;
  ifindex: number;
  entries: VniFilterRange[];
  raw?: RawAttribute[];
}

const entryAttributes = attrTable('VXLAN_VNIFILTER_ENTRY', [
  { type: VXLAN_VNIFILTER_ENTRY_START, name: 'VXLAN_VNIFILTER_ENTRY_START', key: 'vni', kind: 'u32' },
  { type: VXLAN_VNIFILTER_ENTRY_END, name: 'VXLAN_VNIFILTER_ENTRY_END', key: 'vniEnd', kind: 'u32' },
  { type: VXLAN_VNIFILTER_ENTRY_GROUP, name: 'VXLAN_VNIFILTER_ENTRY_GROUP', key: 'group', kind: 'ip' },
  { type: VXLAN_VNIFILTER_ENTRY_GROUP6, name: 'VXLAN_VNIFILTER_ENTRY_GROUP6', key: 'group6', kind: 'ip' },
  { type: VXLAN_VNIFILTER_ENTRY_STATS, name: 'VXLAN_VNIFILTER_ENTRY_STATS', key: 'stats', kind: 'binary' },
]);

export const vniFilterAttributes = attrTable('tunnel_msg', [
  { type: VXLAN_VNIFILTER_ENTRY, name: 'VXLAN_VNIFILTER_ENTRY', key: 'entries', kind: { nested: entryAttributes }, repeated: true },
]);

/** Decodes an RTM_{NEW,DEL,GET}TUNNEL message. */
export function decodeVniFilter(msg: NetlinkMessage): VniFilterMessage {
  const { buf, offset, length } = msg;
  const p = offset + NLMSG_HDRLEN;
  const end = offset + length;
  if (end - p < TUNNEL_MSG_LEN) throw new NetlinkDecodeError('tunnel_msg', p, `${end - p} bytes, struct tunnel_msg needs ${TUNNEL_MSG_LEN}`);
  const m: VniFilterMessage & AttrBag = { family: buf[p]!, flags: buf[p + 1]!, ifindex: buf.readUInt32LE(p + 4), entries: [] };
  decodeAttributes(buf, p + TUNNEL_MSG_LEN, end, vniFilterAttributes, m);
  return m;
}

/** Writes struct tunnel_msg and the entries of `m`. */
export function encodeVniFilterBody(w: NetlinkWriter, m: Partial<VniFilterMessage>): void {
  w.u8(m.family ?? AF_BRIDGE).u8(m.flags ?? 0).u16(0).u32(m.ifindex ?? 0);
  const { family: _f, flags: _fl, ifindex: _i, entries, ...rest } = m;
  encodeAttributes(w, vniFilterAttributes, { ...rest, ...(entries && entries.length > 0 ? { entries } : {}) });
}
