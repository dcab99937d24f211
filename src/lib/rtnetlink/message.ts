/**
 * Netlink framing (UAPI netlink.h): the 16-byte nlmsghdr, 4-aligned messages
 * packed in one datagram, NLMSG_ERROR with its optional extended-ack TLVs and
 * NLMSG_DONE. Nothing here knows a message family.
 */
import {
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSGERR_ATTR_MISS_NEST,
  NLMSGERR_ATTR_MISS_TYPE,
  NLMSGERR_ATTR_MSG,
  NLMSGERR_ATTR_OFFS,
} from './constants.js';
import { NetlinkDecodeError } from './errors.js';

export const NLMSG_HDRLEN = 16;

/** One message inside a datagram: its header fields and where its payload lies. */
export interface NetlinkMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  buf: Buffer;
  /** Offset of the nlmsghdr in `buf`. */
  offset: number;
  /** nlmsg_len: header plus payload. */
  length: number;
}

/**
 * Walks the messages of one datagram and calls `visit` for each; returning
 * false stops the walk. Throws NetlinkDecodeError on a length that cannot be
 * right (shorter than the header, or past the datagram's end).
 */
export function forEachMessage(buf: Buffer, visit: (msg: NetlinkMessage) => boolean | void): void {
  let off = 0;
  while (off < buf.length) {
    if (buf.length - off < NLMSG_HDRLEN) throw new NetlinkDecodeError('nlmsghdr', off, `${buf.length - off} bytes left, a header needs ${NLMSG_HDRLEN}`);
    const length = buf.readUInt32LE(off);
    if (length < NLMSG_HDRLEN) throw new NetlinkDecodeError('nlmsghdr.len', off, `length ${length} is shorter than the header`);
    if (off + length > buf.length) throw new NetlinkDecodeError('nlmsghdr.len', off, `length ${length} runs past the end of the datagram (${buf.length - off} bytes left)`);
    const msg: NetlinkMessage = {
      type: buf.readUInt16LE(off + 4),
      flags: buf.readUInt16LE(off + 6),
      seq: buf.readUInt32LE(off + 8),
      pid: buf.readUInt32LE(off + 12),
      buf,
      offset: off,
      length,
    };
    if (visit(msg) === false) return;
    off += (length + 3) & ~3;
  }
}

/** The content of an NLMSG_ERROR: errno 0 is an ACK. */
export interface NetlinkAck {
  /** Positive errno, 0 for success. */
  errno: number;
  /** Header of the request this answers. */
  requestType: number;
  requestSeq: number;
  /** NLMSGERR_ATTR_MSG: the kernel's human-readable reason. */
  message?: string;
  /** NLMSGERR_ATTR_OFFS: byte offset of the offending attribute in the request. */
  offset?: number;
  /** NLMSGERR_ATTR_MISS_TYPE / MISS_NEST: a required attribute that was missing. */
  missingType?: number;
  missingNest?: number;
}

/**
 * Decodes an NLMSG_ERROR message. Layout: s32 error (−errno), then the
 * request's nlmsghdr, then (unless NLM_F_CAPPED) the request's payload, then
 * (if NLM_F_ACK_TLVS) extended-ack TLVs.
 */
export function decodeError(msg: NetlinkMessage): NetlinkAck {
  const { buf, offset, length, flags } = msg;
  const p = offset + NLMSG_HDRLEN;
  const end = offset + length;
  if (end - p < 4 + NLMSG_HDRLEN) throw new NetlinkDecodeError('nlmsgerr', p, `${end - p} bytes, needs ${4 + NLMSG_HDRLEN}`);
  const error = buf.readInt32LE(p);
  const reqLen = buf.readUInt32LE(p + 4);
  const ack: NetlinkAck = {
    errno: 0 - error,
    requestType: buf.readUInt16LE(p + 8),
    requestSeq: buf.readUInt32LE(p + 12),
  };
  if (flags & NLM_F_ACK_TLVS) {
    // The echoed request is its header alone (NLM_F_CAPPED) or the whole
    // request, padded to 4 bytes. reqLen is a u32 from the wire: it is
    // checked against the bytes present before any 32-bit arithmetic, which
    // would turn a length of 2^31 or more negative.
    const echoed = flags & NLM_F_CAPPED ? NLMSG_HDRLEN : reqLen;
    if (echoed < NLMSG_HDRLEN) throw new NetlinkDecodeError('nlmsgerr.msg.nlmsg_len', p + 4, `echoed request length ${reqLen} is shorter than a header`);
    if (echoed > end - (p + 4)) throw new NetlinkDecodeError('nlmsgerr.msg.nlmsg_len', p + 4, `echoed request length ${reqLen} runs past the error message`);
    let tlv = p + 4 + Math.min(echoed + ((4 - (echoed % 4)) % 4), end - (p + 4));
    while (tlv + 4 <= end) {
      const len = buf.readUInt16LE(tlv);
      const type = buf.readUInt16LE(tlv + 2) & 0x3fff;
      if (len < 4 || tlv + len > end) throw new NetlinkDecodeError('nlmsgerr extack TLV', tlv, `length ${len} does not fit`);
      const v = tlv + 4;
      switch (type) {
        case NLMSGERR_ATTR_MSG: {
          const nul = buf.indexOf(0, v);
          ack.message = buf.toString('utf8', v, nul === -1 || nul > tlv + len ? tlv + len : nul);
          break;
        }
        case NLMSGERR_ATTR_OFFS:
          if (len >= 8) ack.offset = buf.readUInt32LE(v);
          break;
        case NLMSGERR_ATTR_MISS_TYPE:
          if (len >= 8) ack.missingType = buf.readUInt32LE(v);
          break;
        case NLMSGERR_ATTR_MISS_NEST:
          if (len >= 8) ack.missingNest = buf.readUInt32LE(v);
          break;
        default:
          break; // COOKIE, POLICY: not needed to explain an error to a user.
      }
      tlv += (len + 3) & ~3;
    }
  }
  return ack;
}

/** NLMSG_DONE carries an s32 status (0, or −errno when the dump failed). */
export function decodeDone(msg: NetlinkMessage): number {
  if (msg.length - NLMSG_HDRLEN < 4) return 0;
  return 0 - msg.buf.readInt32LE(msg.offset + NLMSG_HDRLEN);
}

export function isError(msg: NetlinkMessage): boolean {
  return msg.type === NLMSG_ERROR;
}
export function isDone(msg: NetlinkMessage): boolean {
  return msg.type === NLMSG_DONE;
}
