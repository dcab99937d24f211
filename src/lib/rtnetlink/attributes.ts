/**
 * Table-driven netlink attributes (struct nlattr): one table per message
 * family maps attribute types to a field name and a wire kind, and a single
 * generic decoder / encoder walks any table. Attributes a table does not know
 * are carried raw (`raw`), never dropped, and re-encoded verbatim.
 *
 * Wire rules (UAPI netlink.h): nla_len u16 counts the 4-byte header and the
 * payload but not the padding; each attribute starts 4-aligned; bit 15 of
 * nla_type is NLA_F_NESTED and bit 14 NLA_F_NET_BYTEORDER, both masked off to
 * find the type (the kernel often omits NESTED, e.g. on IFLA_LINKINFO).
 * Some attributes repeat inside one container (IFLA_BRIDGE_VLAN_INFO, one per
 * VLAN): a `repeated` field collects them into an array, in wire order.
 */
import { formatHwAddress, formatIp, formatMac, parseIp, parseMac } from './address.js';
import { NLA_F_NESTED, NLA_TYPE_MASK } from './constants.js';
import { NetlinkDecodeError, NetlinkEncodeError } from './errors.js';
import { NetlinkWriter } from './writer.js';

/** An attribute the table did not know, kept so nothing the kernel said is lost. */
export interface RawAttribute {
  type: number;
  nested: boolean;
  data: Uint8Array;
}

/** A kind that needs its own code (e.g. NHA_GROUP's array of nexthop_grp). */
export interface CustomKind {
  decode(buf: Buffer, off: number, len: number, field: string): unknown;
  encode(w: NetlinkWriter, type: number, value: unknown, field: string): void;
}

export type AttrKind =
  | 'u8'
  | 'u16'
  | 'u32'
  | 's32'
  | 'u64'
  | 'be16'
  | 'be32'
  | 'flag'
  /** A u8 that is 0 or 1 (IFLA_VXLAN_LEARNING, IFLA_BRPORT_*): false is sent as 0, never left out. */
  | 'bool'
  | 'string'
  /**
   * A string sent without a terminating NUL, as iproute2 sends IFLA_INFO_KIND
   * and IFLA_IFALIAS (NLA_STRING: the kernel takes nla_len bytes); read, like
   * 'string', up to the first NUL.
   */
  | 'chars'
  | 'ip'
  | 'mac'
  | 'hwaddr'
  | 'binary'
  /**
   * A nested attribute set. `flag: false` leaves NLA_F_NESTED off when
   * encoding, as iproute2 does for IFLA_LINKINFO and IFLA_AF_SPEC (the kernel
   * accepts both; decoding ignores the bit).
   */
  | { nested: AttrTable; flag?: boolean }
  | CustomKind;

export interface AttrField {
  /** Attribute type number. */
  type: number;
  /** UAPI name, used in error messages ("NHA_GATEWAY"). */
  name: string;
  /** Property of the decoded object that holds the value. */
  key: string;
  kind: AttrKind;
  /** The attribute may occur several times: the value is an array of decoded values, in wire order. */
  repeated?: boolean;
}

export interface AttrTable {
  name: string;
  fields: readonly AttrField[];
  /** fields indexed by type, for O(1) lookup while decoding. */
  byType: readonly (AttrField | undefined)[];
}

export function attrTable(name: string, fields: readonly AttrField[]): AttrTable {
  const byType: (AttrField | undefined)[] = [];
  for (const f of fields) byType[f.type] = f;
  return { name, fields, byType };
}

const FIXED_SIZE: Partial<Record<string, number>> = { u8: 1, u16: 2, u32: 4, s32: 4, u64: 8, be16: 2, be32: 4, bool: 1 };

/** A decoded attribute set: known fields by key, plus `raw` for the rest. */
export type AttrBag = Record<string, unknown> & { raw?: RawAttribute[] };

/**
 * Decodes the attributes in buf[start, end) into `into`, by `table`. Throws
 * NetlinkDecodeError naming the offset and the attribute on any length that
 * does not fit.
 */
export function decodeAttributes(buf: Buffer, start: number, end: number, table: AttrTable, into: AttrBag): void {
  let off = start;
  while (off + 4 <= end) {
    const nlaLen = buf.readUInt16LE(off);
    const rawType = buf.readUInt16LE(off + 2);
    const type = rawType & NLA_TYPE_MASK;
    const field = table.byType[type];
    if (nlaLen < 4) throw new NetlinkDecodeError(`${table.name}[${field?.name ?? type}].nla_len`, off, `length ${nlaLen} is shorter than the attribute header`);
    if (off + nlaLen > end) {
      throw new NetlinkDecodeError(`${table.name}[${field?.name ?? type}].nla_len`, off, `length ${nlaLen} runs past the end of its container (${end - off} bytes left)`);
    }
    const p = off + 4;
    const len = nlaLen - 4;
    if (field === undefined) {
      // Copied: a view would keep the whole receive buffer (64 KiB) alive for as long as the object lives.
      (into.raw ??= []).push({ type, nested: (rawType & NLA_F_NESTED) !== 0, data: Buffer.from(buf.subarray(p, p + len)) });
    } else if (field.repeated) {
      const list = (into[field.key] ??= []) as unknown[];
      list.push(decodeValue(buf, p, len, field));
    } else {
      into[field.key] = decodeValue(buf, p, len, field);
    }
    off += (nlaLen + 3) & ~3;
  }
  // 1-3 trailing bytes, too short for an attribute header: the kernel pads
  // every attribute, so they mean corruption.
  if (off < end) {
    throw new NetlinkDecodeError(`${table.name}.nlattr`, off, `${end - off} trailing bytes are too short for an attribute`);
  }
}

function decodeValue(buf: Buffer, p: number, len: number, field: AttrField): unknown {
  const kind = field.kind;
  if (typeof kind === 'string') {
    const size = FIXED_SIZE[kind];
    if (size !== undefined && len < size) throw new NetlinkDecodeError(field.name, p - 4, `${kind} needs ${size} bytes, attribute has ${len}`);
    switch (kind) {
      case 'u8':
        return buf[p]!;
      case 'u16':
        return buf.readUInt16LE(p);
      case 'u32':
        return buf.readUInt32LE(p);
      case 's32':
        return buf.readInt32LE(p);
      case 'u64':
        return buf.readBigUInt64LE(p);
      case 'be16':
        return buf.readUInt16BE(p);
      case 'be32':
        return buf.readUInt32BE(p);
      case 'flag':
        return true;
      case 'bool':
        return buf[p] !== 0;
      case 'string':
      case 'chars': {
        const nul = buf.indexOf(0, p);
        return buf.toString('utf8', p, nul === -1 || nul > p + len ? p + len : nul);
      }
      case 'ip':
        if (len !== 4 && len !== 16) throw new NetlinkDecodeError(field.name, p - 4, `an IP address has 4 or 16 bytes, attribute has ${len}`);
        return formatIp(buf, p, len);
      case 'mac':
        if (len !== 6) throw new NetlinkDecodeError(field.name, p - 4, `a MAC address has 6 bytes, attribute has ${len}`);
        return formatMac(buf, p);
      case 'hwaddr':
        return formatHwAddress(buf, p, len);
      case 'binary':
        return Buffer.from(buf.subarray(p, p + len));
    }
  }
  if ('nested' in kind) {
    const inner: AttrBag = {};
    decodeAttributes(buf, p, p + len, kind.nested, inner);
    return inner;
  }
  return kind.decode(buf, p, len, field.name);
}

/**
 * Writes every field of `table` present in `value` (in table order), then its
 * raw attributes. Absent means undefined or null, and false for a 'flag'.
 */
export function encodeAttributes(w: NetlinkWriter, table: AttrTable, value: AttrBag): void {
  for (const field of table.fields) {
    const v = value[field.key];
    if (v === undefined || v === null || (v === false && field.kind === 'flag')) continue;
    if (field.repeated) {
      if (!Array.isArray(v)) throw new NetlinkEncodeError(field.name, 'expected an array (the attribute repeats)');
      for (const item of v as unknown[]) encodeValue(w, field, item);
    } else {
      encodeValue(w, field, v);
    }
  }
  for (const raw of value.raw ?? []) w.attrBytes(raw.type | (raw.nested ? NLA_F_NESTED : 0), raw.data);
}

function checkInt(field: AttrField, v: unknown, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) throw new NetlinkEncodeError(field.name, `${String(v)} is not an integer in 0..${max}`);
  return v;
}

function encodeValue(w: NetlinkWriter, field: AttrField, v: unknown): void {
  const { type, kind } = field;
  if (typeof kind === 'string') {
    switch (kind) {
      case 'u8':
        return w.attrU8(type, checkInt(field, v, 0xff));
      case 'u16':
        return w.attrU16(type, checkInt(field, v, 0xffff));
      case 'u32':
        return w.attrU32(type, checkInt(field, v, 0xffffffff));
      case 's32':
        if (typeof v !== 'number' || !Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) throw new NetlinkEncodeError(field.name, `${String(v)} is not a 32-bit signed integer`);
        return w.attrS32(type, v);
      case 'u64':
        if (typeof v !== 'bigint' || v < 0n || v > 0xffffffffffffffffn) throw new NetlinkEncodeError(field.name, `${String(v)} is not a u64 bigint`);
        return w.attrU64(type, v);
      case 'be16':
        return w.attrBe16(type, checkInt(field, v, 0xffff));
      case 'be32':
        return w.attrBe32(type, checkInt(field, v, 0xffffffff));
      case 'flag':
        if (v !== true) throw new NetlinkEncodeError(field.name, 'a flag attribute is true or absent');
        return w.attrBytes(type, EMPTY);
      case 'bool':
        if (typeof v !== 'boolean') throw new NetlinkEncodeError(field.name, 'expected a boolean');
        return w.attrU8(type, v ? 1 : 0);
      case 'string':
        if (typeof v !== 'string') throw new NetlinkEncodeError(field.name, 'expected a string');
        return w.attrString(type, v);
      case 'chars':
        if (typeof v !== 'string') throw new NetlinkEncodeError(field.name, 'expected a string');
        return w.attrBytes(type, Buffer.from(v, 'utf8'));
      case 'ip':
        if (typeof v !== 'string') throw new NetlinkEncodeError(field.name, 'expected an IP address string');
        return w.attrBytes(type, parseIp(v).bytes);
      case 'mac':
        if (typeof v !== 'string') throw new NetlinkEncodeError(field.name, 'expected a MAC address string');
        return w.attrBytes(type, parseMac(v));
      case 'hwaddr':
        if (typeof v !== 'string') throw new NetlinkEncodeError(field.name, 'expected a hardware address string');
        return w.attrBytes(type, Buffer.from(v.split(':').map((h) => parseInt(h, 16))));
      case 'binary':
        if (!(v instanceof Uint8Array)) throw new NetlinkEncodeError(field.name, 'expected bytes');
        return w.attrBytes(type, v);
    }
  }
  if ('nested' in kind) {
    if (typeof v !== 'object') throw new NetlinkEncodeError(field.name, 'expected an object of nested attributes');
    const mark = w.beginNested(type, kind.flag ?? true);
    encodeAttributes(w, kind.nested, v as AttrBag);
    w.endNested(mark);
    return;
  }
  kind.encode(w, type, v, field.name);
}

const EMPTY = new Uint8Array(0);
