import { ipv4FromBytes, ipv4ToBytes, ipv6FromBytes, ipv6ToBytes, macFromBytes, macToBytes } from './addresses.js';
import { OpenFlowEncodeError } from './errors.js';
import { checkU64, checkUint, pad8, Reader, type Writer } from './wire.js';

/**
 * OXM fields (OpenFlow 1.3+ match fields, plus the Nicira NXM fields Open
 * vSwitch accepts in OXM form). One table drives match encoding/decoding,
 * SET_FIELD actions and the selection-method hash fields. Fields not in the
 * table are carried raw in `Match.other`, never dropped.
 * Source: wire.md A4; OVS lib/meta-flow.xml, lib/nx-match.c.
 */
export type OxmKind = 'u8' | 'u16' | 'u32' | 'u64' | 'mac' | 'ipv4' | 'ipv6';
export type OxmValue = number | bigint | string;

export interface OxmFieldDef {
  /** Property name in `Match`. */
  key: MatchKey;
  /** Open vSwitch field name (set_field targets, hash fields). */
  name: string;
  /** Name ovs-ofctl prints in a flow's match. */
  matchName: string;
  oxmClass: number;
  field: number;
  kind: OxmKind;
  maskable: boolean;
}

const OFPXMC_OPENFLOW_BASIC = 0x8000;
/** OpenFlow 1.5 packet registers: xreg n is 64 bits, reg 2n in the high half and reg 2n+1 in the low half. */
const OFPXMC_PACKET_REGS = 0x8001;
const NXM_NX = 0x0001;

const KIND_SIZE: Record<OxmKind, number> = { u8: 1, u16: 2, u32: 4, u64: 8, mac: 6, ipv4: 4, ipv6: 16 };

type RegKey = `reg${0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10 | 11 | 12 | 13 | 14 | 15}`;
export type MatchKey =
  | 'inPort' | 'metadata' | 'ethDst' | 'ethSrc' | 'ethType' | 'ipProto' | 'ipv4Src' | 'ipv4Dst'
  | 'tcpSrc' | 'tcpDst' | 'udpSrc' | 'udpDst' | 'ipv6Src' | 'ipv6Dst' | 'tunnelId'
  | 'tunIpv4Src' | 'tunIpv4Dst' | 'tunIpv6Src' | 'tunIpv6Dst' | RegKey;

/** A value, or a value with a mask (bits set in the mask are matched). */
export type Masked<T> = T | { value: T; mask?: T };

/** Raw OXM TLV of a field this library does not model (payload hex, experimenter id included). */
export interface RawOxm {
  oxmClass: number;
  field: number;
  hasMask: boolean;
  payload: string;
}

/**
 * A flow match. Absent properties are wildcarded. Prerequisites (e.g.
 * `ethType: 0x0800` before `ipv4Dst`) are the caller's business; Open vSwitch
 * refuses a match without them (BAD_MATCH/BAD_PREREQ).
 */
export type Match = {
  inPort?: number;
  metadata?: Masked<bigint>;
  ethDst?: Masked<string>;
  ethSrc?: Masked<string>;
  ethType?: number;
  ipProto?: number;
  ipv4Src?: Masked<string>;
  ipv4Dst?: Masked<string>;
  tcpSrc?: number;
  tcpDst?: number;
  udpSrc?: number;
  udpDst?: number;
  ipv6Src?: Masked<string>;
  ipv6Dst?: Masked<string>;
  tunnelId?: Masked<bigint>;
  tunIpv4Src?: Masked<string>;
  tunIpv4Dst?: Masked<string>;
  tunIpv6Src?: Masked<string>;
  tunIpv6Dst?: Masked<string>;
  /** Fields outside the table, in wire order. */
  other?: RawOxm[];
} & { [K in RegKey]?: Masked<number> };

function def(key: MatchKey, name: string, matchName: string, oxmClass: number, field: number, kind: OxmKind, maskable: boolean): OxmFieldDef {
  return { key, name, matchName, oxmClass, field, kind, maskable };
}

/** In encoding order: a field's prerequisites come before it. */
export const OXM_FIELDS: readonly OxmFieldDef[] = [
  def('inPort', 'in_port', 'in_port', OFPXMC_OPENFLOW_BASIC, 0, 'u32', false),
  def('metadata', 'metadata', 'metadata', OFPXMC_OPENFLOW_BASIC, 2, 'u64', true),
  def('ethDst', 'eth_dst', 'dl_dst', OFPXMC_OPENFLOW_BASIC, 3, 'mac', true),
  def('ethSrc', 'eth_src', 'dl_src', OFPXMC_OPENFLOW_BASIC, 4, 'mac', true),
  def('ethType', 'eth_type', 'dl_type', OFPXMC_OPENFLOW_BASIC, 5, 'u16', false),
  def('ipProto', 'ip_proto', 'nw_proto', OFPXMC_OPENFLOW_BASIC, 10, 'u8', false),
  def('ipv4Src', 'ip_src', 'nw_src', OFPXMC_OPENFLOW_BASIC, 11, 'ipv4', true),
  def('ipv4Dst', 'ip_dst', 'nw_dst', OFPXMC_OPENFLOW_BASIC, 12, 'ipv4', true),
  def('tcpSrc', 'tcp_src', 'tp_src', OFPXMC_OPENFLOW_BASIC, 13, 'u16', false),
  def('tcpDst', 'tcp_dst', 'tp_dst', OFPXMC_OPENFLOW_BASIC, 14, 'u16', false),
  def('udpSrc', 'udp_src', 'tp_src', OFPXMC_OPENFLOW_BASIC, 15, 'u16', false),
  def('udpDst', 'udp_dst', 'tp_dst', OFPXMC_OPENFLOW_BASIC, 16, 'u16', false),
  def('ipv6Src', 'ipv6_src', 'ipv6_src', OFPXMC_OPENFLOW_BASIC, 26, 'ipv6', true),
  def('ipv6Dst', 'ipv6_dst', 'ipv6_dst', OFPXMC_OPENFLOW_BASIC, 27, 'ipv6', true),
  def('tunnelId', 'tun_id', 'tun_id', OFPXMC_OPENFLOW_BASIC, 38, 'u64', true),
  def('tunIpv4Src', 'tun_src', 'tun_src', NXM_NX, 31, 'ipv4', true),
  def('tunIpv4Dst', 'tun_dst', 'tun_dst', NXM_NX, 32, 'ipv4', true),
  def('tunIpv6Src', 'tun_ipv6_src', 'tun_ipv6_src', NXM_NX, 109, 'ipv6', true),
  def('tunIpv6Dst', 'tun_ipv6_dst', 'tun_ipv6_dst', NXM_NX, 110, 'ipv6', true),
  ...Array.from({ length: 16 }, (_, n) => def(`reg${n}` as RegKey, `reg${n}`, `reg${n}`, NXM_NX, n, 'u32', true)),
];

const byKey = new Map(OXM_FIELDS.map((d) => [d.key, d]));
const orderOf = new Map(OXM_FIELDS.map((d, i) => [d, i]));
const byName = new Map(OXM_FIELDS.map((d) => [d.name, d]));
const byClassField = new Map(OXM_FIELDS.map((d) => [(d.oxmClass << 7) | d.field, d]));
// NXM_NX_TUN_ID is an alias of OXM_OF_TUNNEL_ID that older peers send.
byClassField.set((NXM_NX << 7) | 16, byKey.get('tunnelId')!);

export function oxmFieldByName(name: string): OxmFieldDef | undefined {
  return byName.get(name);
}

export function oxmFieldByKey(key: MatchKey): OxmFieldDef | undefined {
  return byKey.get(key);
}

export function oxmSize(d: OxmFieldDef): number {
  return KIND_SIZE[d.kind];
}

export function oxmHeader(d: OxmFieldDef, hasMask: boolean): number {
  const len = KIND_SIZE[d.kind] * (hasMask ? 2 : 1);
  return ((d.oxmClass << 16) | (d.field << 9) | (hasMask ? 0x100 : 0) | len) >>> 0;
}

export function writeOxmValue(w: Writer, d: OxmFieldDef, v: OxmValue, what: string): void {
  const field = `${what}.${d.name}`;
  switch (d.kind) {
    case 'u8':
      w.u8(checkUint(field, asNumber(field, v), 8));
      return;
    case 'u16':
      w.u16(checkUint(field, asNumber(field, v), 16));
      return;
    case 'u32':
      w.u32(checkUint(field, asNumber(field, v), 32));
      return;
    case 'u64':
      w.u64(checkU64(field, asBigint(field, v)));
      return;
    case 'mac':
      w.bytes(macToBytes(field, asString(field, v)));
      return;
    case 'ipv4':
      w.bytes(ipv4ToBytes(field, asString(field, v)));
      return;
    case 'ipv6':
      w.bytes(ipv6ToBytes(field, asString(field, v)));
      return;
  }
}

export function readOxmValue(r: Reader, d: OxmFieldDef, field: string): OxmValue {
  switch (d.kind) {
    case 'u8':
      return r.u8(field);
    case 'u16':
      return r.u16(field);
    case 'u32':
      return r.u32(field);
    case 'u64':
      return r.u64(field);
    case 'mac':
      return macFromBytes(r.bytes(6, field));
    case 'ipv4':
      return ipv4FromBytes(r.bytes(4, field));
    case 'ipv6':
      return ipv6FromBytes(r.bytes(16, field));
  }
}

/** The all-ones mask of a field: "match exactly". */
export function fullMask(d: OxmFieldDef): OxmValue {
  switch (d.kind) {
    case 'u8':
      return 0xff;
    case 'u16':
      return 0xffff;
    case 'u32':
      return 0xffffffff;
    case 'u64':
      return 0xffffffffffffffffn;
    case 'mac':
      return 'ff:ff:ff:ff:ff:ff';
    case 'ipv4':
      return '255.255.255.255';
    case 'ipv6':
      return 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff';
  }
}

function asNumber(field: string, v: OxmValue): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint' && v <= 0xffffffffn && v >= 0n) return Number(v);
  throw new OpenFlowEncodeError(field, `expected a number, got ${typeof v}`);
}

function asBigint(field: string, v: OxmValue): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  throw new OpenFlowEncodeError(field, `expected a bigint, got ${typeof v}`);
}

function asString(field: string, v: OxmValue): string {
  if (typeof v === 'string') return v;
  throw new OpenFlowEncodeError(field, `expected an address string, got ${typeof v}`);
}

export function splitMasked<T extends OxmValue>(m: Masked<T>): { value: T; mask?: T } {
  if (typeof m === 'object' && m !== null) return m;
  return { value: m };
}

/** One OXM TLV as read off the wire. */
export interface DecodedOxm {
  def?: OxmFieldDef;
  value?: OxmValue;
  mask?: OxmValue;
  raw: RawOxm;
}

export function readOxm(r: Reader, field: string): DecodedOxm {
  const header = r.u32(`${field}.header`);
  const oxmClass = header >>> 16;
  const fieldNo = (header >>> 9) & 0x7f;
  const hasMask = (header & 0x100) !== 0;
  const len = header & 0xff;
  const start = r.absolute;
  const bytes = r.bytes(len, `${field}.payload`);
  const raw: RawOxm = { oxmClass, field: fieldNo, hasMask, payload: bytes.toString('hex') };
  const d = byClassField.get((oxmClass << 7) | fieldNo);
  if (d && len === KIND_SIZE[d.kind] * (hasMask ? 2 : 1)) {
    const body = new Reader(bytes, start, r.path);
    const value = readOxmValue(body, d, `${field}.${d.name}`);
    const mask = hasMask ? readOxmValue(body, d, `${field}.${d.name}.mask`) : undefined;
    return { def: d, value, ...(mask !== undefined ? { mask } : {}), raw };
  }
  return { raw };
}

function writeRawOxm(w: Writer, raw: RawOxm): void {
  const payload = Buffer.from(raw.payload, 'hex');
  w.u32(((raw.oxmClass << 16) | (raw.field << 9) | (raw.hasMask ? 0x100 : 0) | payload.length) >>> 0);
  w.bytes(payload);
}

/** Writes one field as an OXM TLV (value, plus mask if given). */
export function writeOxm(w: Writer, d: OxmFieldDef, value: OxmValue, mask: OxmValue | undefined, what: string): void {
  if (mask !== undefined && !d.maskable) throw new OpenFlowEncodeError(`${what}.${d.name}`, 'field cannot be masked');
  w.u32(oxmHeader(d, mask !== undefined));
  writeOxmValue(w, d, value, what);
  if (mask !== undefined) writeOxmValue(w, d, mask, `${what}.mask`);
}

/** ofp_match (type OXM): type, length (without padding), fields, zero padding to 8. */
export function writeMatch(w: Writer, match: Match): void {
  const start = w.length;
  w.u16(1).u16(0);
  const m = match as Record<string, Masked<OxmValue> | undefined>;
  // Only the fields present, in table order (prerequisites first).
  const present: OxmFieldDef[] = [];
  for (const key in m) {
    const d = byKey.get(key as MatchKey);
    if (d && m[key] !== undefined) present.push(d);
  }
  if (present.length > 1) present.sort((a, b) => orderOf.get(a)! - orderOf.get(b)!);
  for (const d of present) {
    const { value, mask } = splitMasked(m[d.key]!);
    writeOxm(w, d, value, mask, 'match');
  }
  for (const raw of match.other ?? []) writeRawOxm(w, raw);
  w.patchU16(start + 2, w.length - start);
  w.padTo8(start);
}

export function readMatch(r: Reader, field = 'match'): Match {
  const type = r.u16(`${field}.type`);
  if (type !== 1) throw r.fail(`${field}.type`, `match type ${type} is not OXM (1)`, r.offset - 2);
  const len = r.u16(`${field}.length`);
  if (len < 4) throw r.fail(`${field}.length`, `length ${len} < 4`, r.offset - 2);
  const body = r.sub(len - 4, field);
  r.skip(pad8(len) - len, `${field}.padding`);
  const match: Match = {};
  const m = match as Record<string, Masked<OxmValue>>;
  let i = 0;
  while (body.remaining > 0) {
    const oxm = readOxm(body, `oxm[${i++}]`);
    if (oxm.raw.oxmClass === OFPXMC_PACKET_REGS && splitXreg(oxm.raw, m)) continue;
    if (oxm.def && oxm.value !== undefined && m[oxm.def.key] === undefined) {
      m[oxm.def.key] = oxm.mask !== undefined ? { value: oxm.value, mask: oxm.mask } : oxm.value;
    } else {
      // Unknown fields and duplicates of modelled ones are kept raw, not dropped.
      (match.other ??= []).push(oxm.raw);
    }
  }
  return match;
}

/**
 * Open vSwitch reports register matches in OpenFlow 1.5 as 64-bit packet
 * registers (OXM class 0x8001, OVS lib/meta-flow.xml "xreg"), even when they
 * were set as 32-bit NXM regs. Splits one into the two regs it holds; returns
 * false (keep it raw) if that cannot be done cleanly.
 */
function splitXreg(raw: RawOxm, m: Record<string, Masked<OxmValue>>): boolean {
  const bytes = Buffer.from(raw.payload, 'hex');
  if (raw.field > 7 || bytes.length !== (raw.hasMask ? 16 : 8)) return false;
  const halves: [string, number, number][] = [
    [`reg${raw.field * 2}`, bytes.readUInt32BE(0), raw.hasMask ? bytes.readUInt32BE(8) : 0xffffffff],
    [`reg${raw.field * 2 + 1}`, bytes.readUInt32BE(4), raw.hasMask ? bytes.readUInt32BE(12) : 0xffffffff],
  ];
  if (halves.some(([key, , mask]) => mask !== 0 && m[key] !== undefined)) return false;
  for (const [key, value, mask] of halves) {
    if (mask === 0) continue;
    m[key] = mask === 0xffffffff ? value : { value, mask };
  }
  return true;
}
