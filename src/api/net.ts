/**
 * Address validators shared by the zod schemas and, through the CEL rules
 * beside them, by the CRDs. They follow the apiserver's CEL IP library
 * (k8s.io/apiserver/pkg/cel/library/ip.go, which parses with Go's
 * net/netip) exactly, because a test feeds the same objects to both and
 * requires the same verdicts:
 * - IPv4 is dotted decimal with four octets and no leading zeros;
 * - IPv6 zones (`fe80::1%eth0`) and IPv4-mapped IPv6 (`::ffff:192.0.2.1`)
 *   are refused;
 * - the canonical form is netip's `Addr.String()`: lowercase, RFC 5952 zero
 *   compression (the first longest run of two or more zero groups).
 */

export type AddressFamily = 'IPv4' | 'IPv6';

export interface ParsedIp {
  family: AddressFamily;
  /** 4 or 16 bytes, network order. */
  bytes: Uint8Array;
}

const DECIMAL_OCTET = /^(0|[1-9][0-9]{0,2})$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

function parseIpv4(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const bytes = new Uint8Array(4);
  for (const [i, part] of parts.entries()) {
    if (!DECIMAL_OCTET.test(part)) return undefined;
    const value = Number(part);
    if (value > 255) return undefined;
    bytes[i] = value;
  }
  return bytes;
}

function parseIpv6(text: string): Uint8Array | undefined {
  if (text.includes('%')) return undefined; // zones are refused
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (half: string): number[] | undefined => {
    if (half === '') return [];
    const out: number[] = [];
    const parts = half.split(':');
    for (const [i, part] of parts.entries()) {
      // An embedded IPv4 tail is legal only as the very last part.
      if (i === parts.length - 1 && part.includes('.')) {
        const v4 = parseIpv4(part);
        if (!v4) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
        continue;
      }
      if (!HEX_GROUP.test(part)) return undefined;
      out.push(parseInt(part, 16));
    }
    return out;
  };
  const head = groupsOf(halves[0]!);
  const tail = halves.length === 2 ? groupsOf(halves[1]!) : [];
  if (!head || !tail) return undefined;
  if (halves.length === 2 && head.length + tail.length > 7) return undefined;
  if (halves.length === 1 && head.length !== 8) return undefined;
  // An IPv4 tail before `::` (e.g. `1.2.3.4::`) is not an address.
  if (halves.length === 2 && halves[0]!.includes('.')) return undefined;
  const groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  for (const [i, g] of groups.entries()) {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  }
  return bytes;
}

function isV4Mapped(bytes: Uint8Array): boolean {
  return bytes.length === 16 && bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
}

/** Parses an IP address the way the apiserver's CEL `ip()` does; undefined when it refuses it. */
export function parseIp(text: string): ParsedIp | undefined {
  if (text.includes(':')) {
    const bytes = parseIpv6(text);
    if (!bytes || isV4Mapped(bytes)) return undefined;
    return { family: 'IPv6', bytes };
  }
  const bytes = parseIpv4(text);
  return bytes ? { family: 'IPv4', bytes } : undefined;
}

/** netip's `Addr.String()`: the one spelling of an address. */
export function formatIp(ip: ParsedIp): string {
  if (ip.family === 'IPv4') return Array.from(ip.bytes).join('.');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((ip.bytes[i]! << 8) | ip.bytes[i + 1]!);
  // RFC 5952 4.2: compress the first longest run of at least two zero groups.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]): string => gs.map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

/** CEL `isIP(s)`. */
export function isIp(text: string): boolean {
  return parseIp(text) !== undefined;
}

/** CEL `ip.isCanonical(s)` for a string that `isIp` accepts. */
export function isCanonicalIp(text: string): boolean {
  const ip = parseIp(text);
  return ip !== undefined && formatIp(ip) === text;
}

/**
 * CEL `ip(s).isGlobalUnicast()` (Go `netip.Addr.IsGlobalUnicast`): anything
 * but unspecified, loopback, multicast, link-local unicast and IPv4
 * broadcast. Private ranges count as global unicast, as VTEPs need.
 */
export function isGlobalUnicastIp(text: string): boolean {
  const ip = parseIp(text);
  if (!ip) return false;
  const b = ip.bytes;
  if (ip.family === 'IPv4') {
    if (b.every((x) => x === 0) || b.every((x) => x === 255)) return false;
    if (b[0] === 127) return false; // loopback
    if (b[0]! >= 224 && b[0]! <= 239) return false; // multicast
    if (b[0] === 169 && b[1] === 254) return false; // link-local
    return true;
  }
  if (b.every((x) => x === 0)) return false; // ::
  if (b.subarray(0, 15).every((x) => x === 0) && b[15] === 1) return false; // ::1
  if (b[0] === 0xff) return false; // multicast ff00::/8
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0x80) return false; // link-local fe80::/10
  return true;
}

/** CEL `ip(s).family()` as our enum; undefined for a non-address. */
export function ipFamily(text: string): AddressFamily | undefined {
  return parseIp(text)?.family;
}

/**
 * A MAC as the project spells it: six lowercase hex octets separated by
 * colons, as iproute2 prints them, so that equal MACs are equal strings.
 * The lowest bit of the first octet (I/G) must be 0: a unicast address.
 */
export const UNICAST_MAC_PATTERN = '^[0-9a-f][02468ace](:[0-9a-f]{2}){5}$';
const unicastMac = new RegExp(UNICAST_MAC_PATTERN);
export const ZERO_MAC = '00:00:00:00:00:00';

/** True for a lowercase, colon-separated unicast MAC other than all zeros. */
export function isUnicastMac(text: string): boolean {
  return unicastMac.test(text) && text !== ZERO_MAC;
}

/** VXLAN network identifiers are 24 bits; 0 is reserved. */
export const VNI_MIN = 1;
export const VNI_MAX = 0xffffff;

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * RFC 3339 date-time as the apiserver's `format: date-time` accepts it
 * (Go time.Parse with RFC3339Nano: `T`/`Z` in either case, fractional
 * seconds of any length, a real calendar date, no leap second, and a
 * mandatory zone `Z` or `±hh:mm`).
 */
export function isRfc3339DateTime(text: string): boolean {
  const m = RFC3339.exec(text);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const daysIn = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;
  if (day > daysIn) return false;
  // The zone offset's digits are not range-checked: Go's RFC 3339 parser
  // (time.parseRFC3339, used by the apiserver's date-time format) takes any
  // two-digit hours and minutes, and the corpus test holds us to it.
  return true;
}
