import { OpenFlowDecodeError } from './errors.js';

/**
 * Splits a byte stream into whole OpenFlow messages using the header's
 * length. A length below 8 means the stream is out of sync and cannot be
 * recovered: that is reported as an OpenFlowDecodeError so the connection
 * can be reset (never a crash).
 */
export class MessageFramer {
  private buffered: Buffer = Buffer.alloc(0);
  /** Offset of `buffered[0]` in the stream, for error reports. */
  private streamOffset = 0;

  /** Feeds a chunk; returns the complete messages it finishes. */
  push(chunk: Buffer): Buffer[] {
    const buf = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const out: Buffer[] = [];
    let pos = 0;
    while (buf.length - pos >= 8) {
      const len = buf.readUInt16BE(pos + 2);
      if (len < 8) throw new OpenFlowDecodeError('header.length', this.streamOffset + pos + 2, `length ${len} < 8: stream out of sync`);
      if (buf.length - pos < len) break;
      out.push(buf.subarray(pos, pos + len));
      pos += len;
    }
    this.streamOffset += pos;
    // Copy the tail so the big chunk it came from can be freed.
    this.buffered = pos === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(pos));
    return out;
  }

  reset(): void {
    this.buffered = Buffer.alloc(0);
    this.streamOffset = 0;
  }
}
