import { AF_INET, AF_INET6 } from './constants.js';
import { NetlinkEncodeError } from './errors.js';

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Six bytes as iproute2 prints a MAC: lower-case, colon-separated. */
export function formatMac(buf: Uint8Array, off: number): string {
  return `${HEX[buf[off]!]}:${HEX[buf[off + 1]!]}:${HEX[buf[off + 2]!]}:${HEX[buf[off + 3]!]}:${HEX[buf[off + 4]!]}:${HEX[buf[off + 5]!]}`;
}

/** Any link-layer address (not only 6 bytes), colon-separated hex. */
export function formatHwAddress(buf: Uint8Array, off: number, len: number): string {
  const parts: string[] = [];
  for (let i = 0; i < len; i++) parts.push(HEX[buf[off + i]!]!);
  return parts.join(':');
}

const MAC_RE = /^[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2}){5}$/;

export function parseMac(mac: string): Buffer {
  if (!MAC_RE.test(mac)) throw new NetlinkEncodeError('mac', `"${mac}" is not a MAC address`);
  return Buffer.from(mac.split(':').map((h) => parseInt(h, 16)));
}

/**
 * Network-order address bytes as text, the way inet_ntop (and so iproute2)
 * prints them: dotted quad for 4 bytes; for 16 bytes the longest run of two
 * or more zero groups becomes "::" (the first on a tie), with the
 * IPv4-mapped form `::ffff:a.b.c.d`.
 */
export function formatIp(buf: Uint8Array, off: number, len: number): string {
  if (len === 4) return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
  const words: number[] = new Array<number>(8);
  for (let i = 0; i < 8; i++) words[i] = (buf[off + 2 * i]! << 8) | buf[off + 2 * i + 1]!;
  let bestBase = -1;
  let bestLen = 0;
  let curBase = -1;
  for (let i = 0; i <= 8; i++) {
    if (i < 8 && words[i] === 0) {
      if (curBase === -1) curBase = i;
    } else if (curBase !== -1) {
      const curLen = i - curBase;
      if (curLen > bestLen) {
        bestBase = curBase;
        bestLen = curLen;
      }
      curBase = -1;
    }
  }
  if (bestLen < 2) bestBase = -1;
  const mapped = bestBase === 0 && (bestLen === 6 || (bestLen === 5 && words[5] === 0xffff));
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestBase) {
      out += '::';
      i += bestLen - 1;
      continue;
    }
    if (mapped && i === 6) {
      if (!out.endsWith(':')) out += ':';
      out += `${buf[off + 12]}.${buf[off + 13]}.${buf[off + 14]}.${buf[off + 15]}`;
      break;
    }
    if (out !== '' && !out.endsWith(':')) out += ':';
    out += words[i]!.toString(16);
  }
  return out;
}

export interface IpBytes {
  family: typeof AF_INET | typeof AF_INET6;
  bytes: Buffer;
}

/** Parses an IPv4 or IPv6 address into its family and network-order bytes. */
export function parseIp(text: string): IpBytes {
  const v4 = parseIpv4(text);
  if (v4) return { family: AF_INET, bytes: v4 };
  const v6 = parseIpv6(text);
  if (v6) return { family: AF_INET6, bytes: v6 };
  throw new NetlinkEncodeError('address', `"${text}" is not an IPv4 or IPv6 address`);
}

function parseIpv4(text: string): Buffer | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out = Buffer.alloc(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

function parseIpv6(text: string): Buffer | undefined {
  if (text.length < 2 || text.length > 45) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    const parts = s.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (i === parts.length - 1 && p.includes('.')) {
        const v4 = parseIpv4(p);
        if (!v4) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return undefined;
        out.push(parseInt(p, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const words = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  const out = Buffer.alloc(16);
  words.forEach((w, i) => out.writeUInt16BE(w, 2 * i));
  return out;
}
