/**
 * Whole-message codec: any datagram from a NETLINK_ROUTE socket to typed
 * messages and back. The transport and subscription decode straight from
 * their buffers; this is the entry point for tools, tests and fuzzing.
 */
import {
  AF_BRIDGE,
  NLMSG_DONE,
  NLMSG_ERROR,
  RTM_DELLINK,
  RTM_DELNEIGH,
  RTM_DELNEXTHOP,
  RTM_DELTUNNEL,
  RTM_GETLINK,
  RTM_GETNEIGH,
  RTM_GETNEXTHOP,
  RTM_GETTUNNEL,
  RTM_NEWLINK,
  RTM_NEWNEIGH,
  RTM_NEWNEXTHOP,
  RTM_NEWTUNNEL,
  RTM_SETLINK,
} from './constants.js';
import { decodeLink, encodeLinkBody, type Link } from './link.js';
import { decodeDone, decodeError, forEachMessage, NLMSG_HDRLEN, type NetlinkAck } from './message.js';
import { decodeFdbEntry, encodeFdbBody, neighFamily, type FdbEntry } from './neigh.js';
import { decodeNexthop, encodeNexthopBody, type Nexthop } from './nexthop.js';
import { decodeVniFilter, encodeVniFilterBody, type VniFilterMessage } from './vnifilter.js';
import { NetlinkWriter } from './writer.js';

interface Header {
  type: number;
  flags: number;
  seq: number;
  pid: number;
}

export type RtnetlinkMessage =
  | (Header & { kind: 'nexthop'; nexthop: Nexthop })
  | (Header & { kind: 'fdb'; entry: FdbEntry })
  /** Either family: `link.family` is AF_UNSPEC for a device, AF_BRIDGE for a bridge port message. */
  | (Header & { kind: 'link'; link: Link })
  | (Header & { kind: 'vnifilter'; vnifilter: VniFilterMessage })
  | (Header & { kind: 'error'; ack: NetlinkAck })
  | (Header & { kind: 'done'; status: number })
  /** Anything else (other neighbour families, other message types): payload kept verbatim. */
  | (Header & { kind: 'other'; payload: Uint8Array });

const NEXTHOP_TYPES = new Set([RTM_NEWNEXTHOP, RTM_DELNEXTHOP, RTM_GETNEXTHOP]);
const NEIGH_TYPES = new Set([RTM_NEWNEIGH, RTM_DELNEIGH, RTM_GETNEIGH]);
const LINK_TYPES = new Set([RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK, RTM_SETLINK]);
const TUNNEL_TYPES = new Set([RTM_NEWTUNNEL, RTM_DELTUNNEL, RTM_GETTUNNEL]);

/** Decodes every message of a datagram. Throws NetlinkDecodeError (offset, field) on malformed input. */
export function decodeMessage(buf: Buffer): RtnetlinkMessage[] {
  const out: RtnetlinkMessage[] = [];
  forEachMessage(buf, (msg) => {
    const h: Header = { type: msg.type, flags: msg.flags, seq: msg.seq, pid: msg.pid };
    if (NEXTHOP_TYPES.has(msg.type)) out.push({ ...h, kind: 'nexthop', nexthop: decodeNexthop(msg) });
    else if (NEIGH_TYPES.has(msg.type) && neighFamily(msg) === AF_BRIDGE) out.push({ ...h, kind: 'fdb', entry: decodeFdbEntry(msg) });
    else if (LINK_TYPES.has(msg.type)) out.push({ ...h, kind: 'link', link: decodeLink(msg) });
    else if (TUNNEL_TYPES.has(msg.type)) out.push({ ...h, kind: 'vnifilter', vnifilter: decodeVniFilter(msg) });
    else if (msg.type === NLMSG_ERROR) out.push({ ...h, kind: 'error', ack: decodeError(msg) });
    else if (msg.type === NLMSG_DONE) out.push({ ...h, kind: 'done', status: decodeDone(msg) });
    else out.push({ ...h, kind: 'other', payload: msg.buf.subarray(msg.offset + NLMSG_HDRLEN, msg.offset + msg.length) });
  });
  return out;
}

/** Encodes a nexthop, FDB, link, VNI filter or opaque message (not errors/done: only the kernel sends those). */
export function encodeMessage(m: RtnetlinkMessage): Buffer {
  const w = new NetlinkWriter(128);
  w.header(m.type, m.flags, m.seq, m.pid);
  switch (m.kind) {
    case 'nexthop':
      encodeNexthopBody(w, m.nexthop);
      break;
    case 'fdb':
      encodeFdbBody(w, m.entry);
      break;
    case 'link':
      encodeLinkBody(w, m.link);
      break;
    case 'vnifilter':
      encodeVniFilterBody(w, m.vnifilter);
      break;
    case 'other':
      w.bytes(m.payload);
      break;
    default:
      throw new Error(`encodeMessage: cannot encode a ${m.kind} message`);
  }
  return w.finish();
}
