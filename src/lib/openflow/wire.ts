import { OpenFlowDecodeError, OpenFlowEncodeError } from './errors.js';

/**
 * Bounds-checked big-endian reader over one OpenFlow message (or a slice of
 * it). Every read names the field it is reading so that a short or corrupt
 * message becomes an OpenFlowDecodeError with the field and absolute offset.
 */
export class Reader {
  private pos = 0;

  constructor(
    private readonly buf: Buffer,
    /** Offset of `buf[0]` within the whole message, for error reports. */
    readonly base = 0,
    /** Field path prefix for error reports. */
    readonly path = '',
  ) {}

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  get absolute(): number {
    return this.base + this.pos;
  }

  private need(n: number, field: string): void {
    if (this.pos + n > this.buf.length) {
      throw this.fail(field, `needs ${n} bytes, ${this.buf.length - this.pos} left`);
    }
  }

  fail(field: string, reason: string, at = this.pos): OpenFlowDecodeError {
    return new OpenFlowDecodeError(this.path ? `${this.path}.${field}` : field, this.base + at, reason);
  }

  u8(field: string): number {
    this.need(1, field);
    return this.buf[this.pos++]!;
  }

  u16(field: string): number {
    this.need(2, field);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  u32(field: string): number {
    this.need(4, field);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  u64(field: string): bigint {
    this.need(8, field);
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  bytes(n: number, field: string): Buffer {
    this.need(n, field);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  skip(n: number, field: string): void {
    this.need(n, field);
    this.pos += n;
  }

  /** Reads a length-delimited region as its own Reader (offsets stay absolute). */
  sub(n: number, field: string): Reader {
    this.need(n, field);
    const r = new Reader(this.buf.subarray(this.pos, this.pos + n), this.base + this.pos, this.path ? `${this.path}.${field}` : field);
    this.pos += n;
    return r;
  }

  /** The rest of the buffer as a Reader. */
  rest(field: string): Reader {
    return this.sub(this.remaining, field);
  }

  peekU16(field: string): number {
    this.need(2, field);
    return this.buf.readUInt16BE(this.pos);
  }

  peekU32(field: string): number {
    this.need(4, field);
    return this.buf.readUInt32BE(this.pos);
  }
}

/** Growable big-endian writer; `patchU16` fills in length fields once known. */
export class Writer {
  private buf: Buffer;
  private pos = 0;

  constructor(initial = 256) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  get length(): number {
    return this.pos;
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): this {
    this.room(1);
    this.buf[this.pos++] = v & 0xff;
    return this;
  }

  u16(v: number): this {
    this.room(2);
    this.buf.writeUInt16BE(v & 0xffff, this.pos);
    this.pos += 2;
    return this;
  }

  u32(v: number): this {
    this.room(4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
    return this;
  }

  u64(v: bigint): this {
    this.room(8);
    this.buf.writeBigUInt64BE(BigInt.asUintN(64, v), this.pos);
    this.pos += 8;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  zeros(n: number): this {
    this.room(n);
    this.buf.fill(0, this.pos, this.pos + n);
    this.pos += n;
    return this;
  }

  /** Zero padding from `start` up to the next multiple of 8. */
  padTo8(start = 0): this {
    const rem = (this.pos - start) % 8;
    return rem === 0 ? this : this.zeros(8 - rem);
  }

  patchU16(at: number, v: number): void {
    this.buf.writeUInt16BE(v & 0xffff, at);
  }

  patchU32(at: number, v: number): void {
    this.buf.writeUInt32BE(v >>> 0, at);
  }

  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

export function pad8(n: number): number {
  return (n + 7) & ~7;
}

/** Checks an integer fits in `bits` unsigned bits; names the field otherwise. */
const UINT_MAX: Record<number, number> = { 5: 31, 8: 0xff, 16: 0xffff, 32: 0xffffffff };

export function checkUint(field: string, v: number, bits: number): number {
  if (!(v >= 0 && v <= (UINT_MAX[bits] ?? 2 ** bits - 1) && Number.isInteger(v))) {
    throw new OpenFlowEncodeError(field, `${v} is not an unsigned ${bits}-bit integer`);
  }
  return v;
}

export function checkU64(field: string, v: bigint): bigint {
  if (typeof v !== 'bigint' || v < 0n || v > 0xffffffffffffffffn) {
    throw new OpenFlowEncodeError(field, `${String(v)} is not an unsigned 64-bit integer (bigint)`);
  }
  return v;
}
