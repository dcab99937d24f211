import { OpenFlowEncodeError } from './errors.js';

/**
 * Text forms of link and network addresses in the spelling ovs-ofctl prints:
 * lowercase MACs, dotted IPv4, RFC 5952 IPv6 (longest zero run compressed).
 */

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

export function macToBytes(field: string, mac: string): Buffer {
  // Fast path for the canonical xx:xx:xx:xx:xx:xx spelling (bundles carry 100k of them).
  if (mac.length === 17) {
    const out = Buffer.allocUnsafe(6);
    let ok = true;
    for (let i = 0; i < 6 && ok; i++) {
      const hi = hexDigit(mac.charCodeAt(i * 3));
      const lo = hexDigit(mac.charCodeAt(i * 3 + 1));
      if (hi < 0 || lo < 0 || (i < 5 && mac.charCodeAt(i * 3 + 2) !== 58)) ok = false;
      else out[i] = (hi << 4) | lo;
    }
    if (ok) return out;
  }
  const parts = mac.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new OpenFlowEncodeError(field, `"${mac}" is not a MAC address`);
  }
  return Buffer.from(parts.map((p) => parseInt(p, 16)));
}

const HEX_BYTE = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function macFromBytes(b: Uint8Array): string {
  let s = HEX_BYTE[b[0]!]!;
  for (let i = 1; i < b.length; i++) s += `:${HEX_BYTE[b[i]!]!}`;
  return s;
}

export function ipv4ToBytes(field: string, ip: string): Buffer {
  const out = Buffer.allocUnsafe(4);
  let octet = 0;
  let digits = 0;
  let n = 0;
  for (let i = 0; i <= ip.length; i++) {
    const c = i === ip.length ? 46 : ip.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || octet > 255 || n > 3) break;
      out[n++] = octet;
      octet = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57 && digits < 3) {
      octet = octet * 10 + (c - 48);
      digits++;
    } else {
      n = 5;
      break;
    }
  }
  if (n === 4) return out;
  const parts = ip.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
    throw new OpenFlowEncodeError(field, `"${ip}" is not an IPv4 address`);
  }
  return Buffer.from(parts.map(Number));
}

export function ipv4FromBytes(b: Uint8Array): string {
  return [...b].join('.');
}

export function ipv6ToBytes(field: string, ip: string): Buffer {
  const bad = () => new OpenFlowEncodeError(field, `"${ip}" is not an IPv6 address`);
  let text = ip;
  const tail: number[] = [];
  // An embedded IPv4 tail (::ffff:192.0.2.1) becomes the last two words.
  const v4 = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const b = ipv4ToBytes(field, v4[2]!);
    tail.push((b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!);
    text = v4[1]!.endsWith('::') ? v4[1]! : v4[1]!.slice(0, -1);
  }
  const halves = text.split('::');
  if (halves.length > 2) throw bad();
  const parse = (s: string): number[] => (s === '' ? [] : s.split(':').map((w) => {
    if (!/^[0-9a-fA-F]{1,4}$/.test(w)) throw bad();
    return parseInt(w, 16);
  }));
  const head = parse(halves[0]!);
  const back = halves.length === 2 ? [...parse(halves[1]!), ...tail] : [];
  const words = halves.length === 2 ? head : [...head, ...tail];
  const fill = 8 - words.length - back.length;
  if ((halves.length === 2 && fill < 1) || (halves.length === 1 && fill !== 0)) throw bad();
  const all = [...words, ...Array<number>(halves.length === 2 ? fill : 0).fill(0), ...back];
  const out = Buffer.alloc(16);
  all.forEach((w, i) => out.writeUInt16BE(w, i * 2));
  return out;
}

export function ipv6FromBytes(b: Uint8Array): string {
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((b[i]! << 8) | b[i + 1]!);
  // RFC 5952: compress the longest run of two or more zero words (the first on a tie).
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}
