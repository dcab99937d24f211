/**
 * Nexthop objects (RTM_NEWNEXTHOP / DELNEXTHOP / GETNEXTHOP): struct nhmsg
 * plus the NHA_* attributes (UAPI nexthop.h; Linux net/ipv4/nexthop.c).
 */
import { attrTable, decodeAttributes, encodeAttributes, type AttrBag, type CustomKind, type RawAttribute } from './attributes.js';
import {
  NHA_BLACKHOLE,
  NHA_ENCAP,
  NHA_ENCAP_TYPE,
  NHA_FDB,
  NHA_GATEWAY,
  NHA_GROUP,
  NHA_GROUP_TYPE,
  NHA_GROUPS,
  NHA_ID,
  NHA_MASTER,
  NHA_OIF,
  NHA_OP_FLAG_RESP_GRP_RESVD_0,
  NHA_OP_FLAGS,
  NHA_RES_GROUP,
} from './constants.js';
import { NetlinkDecodeError, NetlinkEncodeError } from './errors.js';
import { NLMSG_HDRLEN, type NetlinkMessage } from './message.js';
import type { NetlinkWriter } from './writer.js';

export const NHMSG_LEN = 8;

/** One member of a nexthop group. `weight` is the real weight (1..65535), not the stored weight−1. */
export interface NexthopGroupMember {
  id: number;
  weight: number;
}

/** Parameters of a resilient group (NHA_RES_GROUP). */
export interface ResilientGroupParams {
  buckets?: number;
  idleTimer?: number;
  unbalancedTimer?: number;
  unbalancedTime?: bigint;
  raw?: RawAttribute[];
}

/** A nexthop or nexthop group as the kernel reports it. */
export interface Nexthop {
  id: number;
  /** AF_INET / AF_INET6 for a single nexthop; AF_UNSPEC (0) for a group. */
  family: number;
  scope: number;
  /** rtnetlink protocol that installed it (RTPROT_*; e.g. 236 for this project's fabric default). */
  protocol: number;
  /** RTNH_F_* flags. */
  flags: number;
  /** NHA_FDB: usable only by VXLAN FDB entries, never by routes. */
  fdb: boolean;
  blackhole: boolean;
  gateway?: string;
  oif?: number;
  group?: NexthopGroupMember[];
  /** NEXTHOP_GRP_TYPE_MPATH (0) or _RES (1). */
  groupType?: number;
  resGroup?: ResilientGroupParams;
  encapType?: number;
  encap?: Uint8Array;
  /** NHA_OP_FLAGS as received (bit 31: weight_high is valid). */
  opFlags?: number;
  master?: number;
  /** NHA_GROUPS: a dump filter flag, only ever in requests. */
  groupsOnly?: boolean;
  raw?: RawAttribute[];
}

/**
 * The largest weight the kernel accepts: weight−1 is stored in 16 bits, but
 * Linux computes the weight as a u16 (weight_high << 8 | weight) + 1, so
 * 0xffff would wrap to 0 and is refused ("Invalid value for weight",
 * checked on 6.18). Before 6.12 the limit is 256.
 */
export const MAX_NEXTHOP_WEIGHT = 65535;

/**
 * NHA_GROUP: an array of struct nexthop_grp {u32 id; u8 weight; u8
 * weight_high; u16 resvd2}, each weight stored as weight−1 split into a low
 * and a high byte (the high byte exists since Linux 6.12; before it was resvd1
 * and had to be 0). Decoding assumes the high byte is valid; `decodeNexthop`
 * drops it again when the reply does not set NHA_OP_FLAG_RESP_GRP_RESVD_0.
 */
const nexthopGroupKind: CustomKind = {
  decode(buf, off, len, field) {
    if (len % 8 !== 0) throw new NetlinkDecodeError(field, off - 4, `length ${len} is not a multiple of sizeof(struct nexthop_grp) = 8`);
    const members: NexthopGroupMember[] = new Array<NexthopGroupMember>(len / 8);
    for (let i = 0, p = off; p < off + len; p += 8, i++) {
      members[i] = { id: buf.readUInt32LE(p), weight: (buf[p + 4]! | (buf[p + 5]! << 8)) + 1 };
    }
    return members;
  },
  encode(w, type, value, field) {
    if (!Array.isArray(value)) throw new NetlinkEncodeError(field, 'expected an array of {id, weight}');
    const bytes = Buffer.alloc(value.length * 8);
    value.forEach((m: NexthopGroupMember, i) => {
      const weight = m.weight ?? 1;
      if (!Number.isInteger(m.id) || m.id <= 0 || m.id > 0xffffffff) throw new NetlinkEncodeError(`${field}[${i}].id`, `${m.id} is not a nexthop id`);
      if (!Number.isInteger(weight) || weight < 1 || weight > MAX_NEXTHOP_WEIGHT) throw new NetlinkEncodeError(`${field}[${i}].weight`, `${weight} is outside 1..${MAX_NEXTHOP_WEIGHT}`);
      bytes.writeUInt32LE(m.id, i * 8);
      bytes[i * 8 + 4] = (weight - 1) & 0xff;
      bytes[i * 8 + 5] = (weight - 1) >> 8;
    });
    w.attrBytes(type, bytes);
  },
};

const resGroupTable = attrTable('NHA_RES_GROUP', [
  { type: 1, name: 'NHA_RES_GROUP_BUCKETS', key: 'buckets', kind: 'u16' },
  { type: 2, name: 'NHA_RES_GROUP_IDLE_TIMER', key: 'idleTimer', kind: 'u32' },
  { type: 3, name: 'NHA_RES_GROUP_UNBALANCED_TIMER', key: 'unbalancedTimer', kind: 'u32' },
  { type: 4, name: 'NHA_RES_GROUP_UNBALANCED_TIME', key: 'unbalancedTime', kind: 'u64' },
]);

export const nexthopAttributes = attrTable('nhmsg', [
  { type: NHA_ID, name: 'NHA_ID', key: 'id', kind: 'u32' },
  { type: NHA_GROUP, name: 'NHA_GROUP', key: 'group', kind: nexthopGroupKind },
  { type: NHA_GROUP_TYPE, name: 'NHA_GROUP_TYPE', key: 'groupType', kind: 'u16' },
  { type: NHA_BLACKHOLE, name: 'NHA_BLACKHOLE', key: 'blackhole', kind: 'flag' },
  { type: NHA_OIF, name: 'NHA_OIF', key: 'oif', kind: 'u32' },
  { type: NHA_GATEWAY, name: 'NHA_GATEWAY', key: 'gateway', kind: 'ip' },
  { type: NHA_ENCAP_TYPE, name: 'NHA_ENCAP_TYPE', key: 'encapType', kind: 'u16' },
  { type: NHA_ENCAP, name: 'NHA_ENCAP', key: 'encap', kind: 'binary' },
  { type: NHA_GROUPS, name: 'NHA_GROUPS', key: 'groupsOnly', kind: 'flag' },
  { type: NHA_MASTER, name: 'NHA_MASTER', key: 'master', kind: 'u32' },
  { type: NHA_FDB, name: 'NHA_FDB', key: 'fdb', kind: 'flag' },
  { type: NHA_RES_GROUP, name: 'NHA_RES_GROUP', key: 'resGroup', kind: { nested: resGroupTable } },
  { type: NHA_OP_FLAGS, name: 'NHA_OP_FLAGS', key: 'opFlags', kind: 'u32' },
]);

/** Decodes the payload of an RTM_{NEW,DEL}NEXTHOP message. */
export function decodeNexthop(msg: NetlinkMessage): Nexthop {
  const { buf, offset, length } = msg;
  const p = offset + NLMSG_HDRLEN;
  const end = offset + length;
  if (end - p < NHMSG_LEN) throw new NetlinkDecodeError('nhmsg', p, `${end - p} bytes, struct nhmsg needs ${NHMSG_LEN}`);
  const nh: Nexthop & AttrBag = {
    id: 0,
    family: buf[p]!,
    scope: buf[p + 1]!,
    protocol: buf[p + 2]!,
    flags: buf.readUInt32LE(p + 4),
    fdb: false,
    blackhole: false,
  };
  decodeAttributes(buf, p + NHMSG_LEN, end, nexthopAttributes, nh);
  if (nh.group && !((nh.opFlags ?? 0) & NHA_OP_FLAG_RESP_GRP_RESVD_0)) {
    // Pre-6.12 semantics: the second byte was reserved, only the low byte counts.
    for (const m of nh.group) m.weight = ((m.weight - 1) & 0xff) + 1;
  }
  return nh;
}

/** Writes struct nhmsg and the attributes of `nh` (fields left undefined are not sent). */
export function encodeNexthopBody(w: NetlinkWriter, nh: Partial<Nexthop>): void {
  w.u8(nh.family ?? 0).u8(nh.scope ?? 0).u8(nh.protocol ?? 0).u8(0).u32(nh.flags ?? 0);
  const { id, ...rest } = nh;
  // NHA_ID 0 asks the kernel to pick an id; leave it out rather than send 0.
  encodeAttributes(w, nexthopAttributes, (id ? { id, ...rest } : rest));
}
