/**
 * Open vSwitch's `learn` action (Nicira extension NXAST_LEARN): when a
 * packet executes it, Open vSwitch adds or refreshes a flow built from the
 * packet — the way a switch learns where a MAC lives.
 *
 * Wire format (OVS include/openflow/nicira-ext.h, lib/learn.c): an
 * experimenter action (type 0xffff, vendor NX_VENDOR_ID, subtype 16) with
 * idle and hard timeouts, priority, cookie, flags, table, fin timeouts, then
 * flow_mod_spec elements up to the end of the action (zero padding to 8
 * bytes ends them). Each spec has a 16-bit header — bit 13 the source type
 * (0 field, 1 immediate), bits 12–11 the destination type (0 match, 1 load,
 * 2 output), bits 10–0 the number of bits — then the source (a field header
 * and bit offset, or the immediate value in whole 16-bit units) and, for
 * match and load, the destination field header and bit offset.
 *
 * Fields are named as OVS names them in a learn action and carried as
 * their NXM/OXM headers; a learn action naming a field outside FIELDS is
 * kept as a raw action, byte for byte.
 */
import { OpenFlowEncodeError } from './errors.js';
import { checkU64, checkUint, type Reader, type Writer } from './wire.js';

export const NX_VENDOR_ID = 0x00002320;
export const NXAST_LEARN = 16;

/** The fields a learn spec may name here, with their NXM/OXM headers (OVS meta-flow.xml). */
const FIELDS: Record<string, { header: number; bits: number }> = {
  NXM_OF_IN_PORT: { header: 0x00000002, bits: 16 },
  NXM_OF_ETH_DST: { header: 0x00000206, bits: 48 },
  NXM_OF_ETH_SRC: { header: 0x00000406, bits: 48 },
  OXM_OF_METADATA: { header: 0x80000408, bits: 64 },
};
const fieldByHeader = new Map(Object.entries(FIELDS).map(([name, f]) => [f.header, name]));

/** One flow_mod_spec: the learned flow matches on, loads, or outputs to what the source gives. */
export interface LearnSpec {
  /** A field of the packet (`NXM_OF_ETH_SRC`) or an immediate value. */
  src: { field: string; ofs?: number } | { value: bigint };
  dst: { match: string; ofs?: number } | { load: string; ofs?: number } | 'output';
  /** Bits taken from the source (the whole field when absent). */
  nBits?: number;
}

export interface LearnAction {
  type: 'learn';
  tableId: number;
  priority: number;
  idleTimeout?: number;
  hardTimeout?: number;
  cookie?: bigint;
  flags?: number;
  specs: LearnSpec[];
}

function fieldOf(name: string, what: string): { header: number; bits: number } {
  const f = FIELDS[name];
  if (!f) throw new OpenFlowEncodeError(what, `learn cannot name field "${name}" (known: ${Object.keys(FIELDS).join(', ')})`);
  return f;
}

function bitsOf(spec: LearnSpec, what: string): number {
  if (spec.nBits !== undefined) return checkUint(`${what}.nBits`, spec.nBits, 16);
  if ('field' in spec.src) return fieldOf(spec.src.field, `${what}.src`).bits;
  if (typeof spec.dst === 'object') return fieldOf('match' in spec.dst ? spec.dst.match : spec.dst.load, `${what}.dst`).bits;
  throw new OpenFlowEncodeError(`${what}.nBits`, 'an immediate output needs nBits');
}

/** The body after type and length (vendor, subtype, header fields, specs, zero padding). */
export function writeLearn(w: Writer, a: LearnAction, what: string): void {
  w.u32(NX_VENDOR_ID).u16(NXAST_LEARN);
  w.u16(checkUint(`${what}.idleTimeout`, a.idleTimeout ?? 0, 16)).u16(checkUint(`${what}.hardTimeout`, a.hardTimeout ?? 0, 16));
  w.u16(checkUint(`${what}.priority`, a.priority, 16)).u64(checkU64(`${what}.cookie`, a.cookie ?? 0n));
  w.u16(checkUint(`${what}.flags`, a.flags ?? 0, 16)).u8(checkUint(`${what}.tableId`, a.tableId, 8)).u8(0).u16(0).u16(0);
  a.specs.forEach((spec, i) => {
    const at = `${what}.specs[${i}]`;
    const nBits = bitsOf(spec, at);
    if (nBits < 1 || nBits > 0x7ff) throw new OpenFlowEncodeError(`${at}.nBits`, `${nBits} is not 1..2047`);
    const immediate = 'value' in spec.src;
    const dstType = spec.dst === 'output' ? 2 : 'match' in spec.dst ? 0 : 1;
    w.u16((immediate ? 0x2000 : 0) | (dstType << 11) | nBits);
    if ('value' in spec.src) {
      // The value in whole 16-bit units, big-endian, its low nBits significant.
      const units = Math.ceil(nBits / 16);
      if (spec.src.value < 0n || spec.src.value >= 1n << BigInt(nBits)) throw new OpenFlowEncodeError(`${at}.src.value`, `does not fit in ${nBits} bits`);
      for (let u = units - 1; u >= 0; u--) w.u16(Number((spec.src.value >> BigInt(u * 16)) & 0xffffn));
    } else {
      w.u32(fieldOf(spec.src.field, `${at}.src`).header).u16(checkUint(`${at}.src.ofs`, spec.src.ofs ?? 0, 16));
    }
    if (spec.dst !== 'output') {
      const name = 'match' in spec.dst ? spec.dst.match : spec.dst.load;
      w.u32(fieldOf(name, `${at}.dst`).header).u16(checkUint(`${at}.dst.ofs`, spec.dst.ofs ?? 0, 16));
    }
  });
}

/**
 * Reads the body after vendor and subtype. Returns undefined when a spec
 * names a field outside FIELDS (the caller keeps the action raw).
 */
export function readLearn(r: Reader, field: string): LearnAction | undefined {
  const idleTimeout = r.u16(`${field}.idle_timeout`);
  const hardTimeout = r.u16(`${field}.hard_timeout`);
  const priority = r.u16(`${field}.priority`);
  const cookie = r.u64(`${field}.cookie`);
  const flags = r.u16(`${field}.flags`);
  const tableId = r.u8(`${field}.table_id`);
  r.skip(1, `${field}.pad`);
  r.skip(4, `${field}.fin_timeouts`);
  const specs: LearnSpec[] = [];
  while (r.remaining >= 2) {
    const at = `${field}.specs[${specs.length}]`;
    const header = r.u16(`${at}.header`);
    // A zero header is padding: the specs are over.
    if (header === 0) break;
    const nBits = header & 0x7ff;
    const dstType = (header >> 11) & 3;
    if (dstType === 3 || (header & 0xc000) !== 0) throw r.fail(`${at}.header`, `0x${header.toString(16)} is not a flow_mod_spec header`);
    let src: LearnSpec['src'];
    if (header & 0x2000) {
      let value = 0n;
      for (let u = 0; u < Math.ceil(nBits / 16); u++) value = (value << 16n) | BigInt(r.u16(`${at}.src.value`));
      src = { value };
    } else {
      const name = fieldByHeader.get(r.u32(`${at}.src.field`));
      const ofs = r.u16(`${at}.src.ofs`);
      if (name === undefined) return undefined;
      src = ofs === 0 ? { field: name } : { field: name, ofs };
    }
    let dst: LearnSpec['dst'] = 'output';
    if (dstType !== 2) {
      const name = fieldByHeader.get(r.u32(`${at}.dst.field`));
      const ofs = r.u16(`${at}.dst.ofs`);
      if (name === undefined) return undefined;
      dst = dstType === 0 ? (ofs === 0 ? { match: name } : { match: name, ofs }) : ofs === 0 ? { load: name } : { load: name, ofs };
    }
    specs.push({ src, dst, nBits });
  }
  const a: LearnAction = { type: 'learn', tableId, priority, specs };
  if (idleTimeout) a.idleTimeout = idleTimeout;
  if (hardTimeout) a.hardTimeout = hardTimeout;
  if (cookie) a.cookie = cookie;
  if (flags) a.flags = flags;
  return a;
}

/** `learn(table=N,...)` in ovs-ofctl's words. */
export function formatLearn(a: LearnAction): string {
  const parts = [`table=${a.tableId}`];
  if (a.idleTimeout) parts.push(`idle_timeout=${a.idleTimeout}`);
  if (a.hardTimeout) parts.push(`hard_timeout=${a.hardTimeout}`);
  parts.push(`priority=${a.priority}`);
  if (a.cookie) parts.push(`cookie=0x${a.cookie.toString(16)}`);
  for (const s of a.specs) {
    const src = 'value' in s.src ? `0x${s.src.value.toString(16)}` : `${s.src.field}[]`;
    if (s.dst === 'output') parts.push(`output:${src}`);
    else if ('match' in s.dst) parts.push(`${s.dst.match}[]=${src}`);
    else parts.push(`load:${src}->${s.dst.load}[]`);
  }
  return `learn(${parts.join(',')})`;
}
