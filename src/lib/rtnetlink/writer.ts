import { NLA_F_NESTED } from './constants.js';
import { NetlinkEncodeError } from './errors.js';

/**
 * Builds netlink messages into one growing buffer: a 16-byte nlmsghdr, the
 * family's fixed header, then 4-aligned attributes. `finish()` fills in the
 * message length. Integers are host order (little-endian on every platform
 * this project targets) unless the method says `Be`.
 */
export class NetlinkWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initial = 256) {
    this.buf = Buffer.alloc(initial);
  }

  get length(): number {
    return this.pos;
  }

  /**
   * Makes room for n bytes and returns where they start. It may replace
   * this.buf, so callers read this.buf only after calling it.
   */
  private reserve(n: number): number {
    if (this.pos + n > this.buf.length) {
      const next = Buffer.alloc(Math.max(this.buf.length * 2, this.pos + n));
      this.buf.copy(next, 0, 0, this.pos);
      this.buf = next;
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  /** Starts a message: nlmsghdr with the length patched in by `finish`. */
  header(type: number, flags: number, seq = 0, pid = 0): this {
    const at = this.reserve(16);
    this.buf.writeUInt32LE(0, at);
    this.buf.writeUInt16LE(type, at + 4);
    this.buf.writeUInt16LE(flags, at + 6);
    this.buf.writeUInt32LE(seq >>> 0, at + 8);
    this.buf.writeUInt32LE(pid >>> 0, at + 12);
    return this;
  }

  u8(v: number): this {
    const at = this.reserve(1);
    this.buf[at] = v;
    return this;
  }
  u16(v: number): this {
    const at = this.reserve(2);
    this.buf.writeUInt16LE(v, at);
    return this;
  }
  u32(v: number): this {
    const at = this.reserve(4);
    this.buf.writeUInt32LE(v >>> 0, at);
    return this;
  }
  s32(v: number): this {
    const at = this.reserve(4);
    this.buf.writeInt32LE(v, at);
    return this;
  }
  bytes(b: Uint8Array): this {
    const at = this.reserve(b.length);
    this.buf.set(b, at);
    return this;
  }
  /** Zero bytes up to the next multiple of 4. */
  align(): this {
    const pad = (4 - (this.pos & 3)) & 3;
    if (pad) this.reserve(pad);
    return this;
  }

  private attrHeader(type: number, payloadLen: number): number {
    const total = 4 + payloadLen;
    if (total > 0xffff) throw new NetlinkEncodeError(`attribute ${type & 0x3fff}`, `payload of ${payloadLen} bytes does not fit nla_len`);
    this.align();
    const at = this.reserve(total);
    this.buf.writeUInt16LE(total, at);
    this.buf.writeUInt16LE(type, at + 2);
    return at + 4;
  }

  attrU8(type: number, v: number): void {
    // attrHeader may grow (replace) this.buf: index the buffer after it returns.
    const p = this.attrHeader(type, 1);
    this.buf[p] = v;
    this.align();
  }
  attrU16(type: number, v: number): void {
    const p = this.attrHeader(type, 2);
    this.buf.writeUInt16LE(v, p);
    this.align();
  }
  attrBe16(type: number, v: number): void {
    const p = this.attrHeader(type, 2);
    this.buf.writeUInt16BE(v, p);
    this.align();
  }
  attrU32(type: number, v: number): void {
    const p = this.attrHeader(type, 4);
    this.buf.writeUInt32LE(v >>> 0, p);
  }
  attrS32(type: number, v: number): void {
    const p = this.attrHeader(type, 4);
    this.buf.writeInt32LE(v, p);
  }
  attrBe32(type: number, v: number): void {
    const p = this.attrHeader(type, 4);
    this.buf.writeUInt32BE(v >>> 0, p);
  }
  attrU64(type: number, v: bigint): void {
    const p = this.attrHeader(type, 8);
    this.buf.writeBigUInt64LE(v, p);
  }
  attrBytes(type: number, data: Uint8Array): void {
    const p = this.attrHeader(type, data.length);
    this.buf.set(data, p);
    this.align();
  }
  /** A NUL-terminated string, as the kernel's NLA_NUL_STRING/NLA_STRING policies accept. */
  attrString(type: number, s: string): void {
    const bytes = Buffer.from(s + '\0', 'utf8');
    this.attrBytes(type, bytes);
  }

  /**
   * Opens a nested attribute; pass the returned mark to `endNested`.
   * `flagged: false` leaves NLA_F_NESTED off, as iproute2 does for
   * IFLA_LINKINFO and IFLA_AF_SPEC.
   */
  beginNested(type: number, flagged = true): number {
    this.align();
    const at = this.reserve(4);
    this.buf.writeUInt16LE(flagged ? type | NLA_F_NESTED : type, at + 2);
    return at;
  }
  endNested(mark: number): void {
    const len = this.pos - mark;
    if (len > 0xffff) throw new NetlinkEncodeError(`nested attribute ${this.buf.readUInt16LE(mark + 2) & 0x3fff}`, `${len} bytes do not fit nla_len`);
    this.buf.writeUInt16LE(len, mark);
    this.align();
  }

  /** A copy of everything written so far (for building a nested payload separately). */
  bytesSoFar(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }

  /** Completes the message started at `start` (default 0) and returns a copy of the bytes. */
  finish(start = 0): Buffer {
    this.align();
    this.buf.writeUInt32LE(this.pos - start, start);
    return Buffer.from(this.buf.subarray(start, this.pos));
  }
}

/** One complete request: nlmsghdr (seq left 0: the transport assigns it), then what `body` writes. */
export function buildMessage(type: number, flags: number, body: (w: NetlinkWriter) => void): Buffer {
  const w = new NetlinkWriter(128);
  w.header(type, flags);
  body(w);
  return w.finish();
}
