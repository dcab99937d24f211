import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ADDRESSES, TIMESTAMPS } from './corpus.js';
import { formatIp, isRfc3339DateTime, isCanonicalIp, isGlobalUnicastIp, isIp, isUnicastMac, ipFamily, parseIp } from '../../../src/api/net.js';

describe('IP validators (mirror of the apiserver CEL ip library)', () => {
  it.each(ADDRESSES)('%s', (text, want) => {
    expect(isIp(text)).toBe(want.ip);
    if (want.ip) {
      expect(isCanonicalIp(text)).toBe(want.canonical);
      expect(isGlobalUnicastIp(text)).toBe(want.unicast);
      expect(ipFamily(text)).toBe(text.includes(':') ? 'IPv6' : 'IPv4');
    } else {
      expect(isCanonicalIp(text)).toBe(false);
      expect(isGlobalUnicastIp(text)).toBe(false);
      expect(ipFamily(text)).toBeUndefined();
    }
  });

  const notMapped = (b: Uint8Array) => !(b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff);
  // Sparse addresses exercise zero-run compression; uniform bytes rarely have runs.
  const ipv6Bytes = fc
    .array(fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 })
    .map((groups) => new Uint8Array(groups.flatMap((g) => [g >> 8, g & 0xff])))
    .filter(notMapped);

  it('formats IPv6 like the WHATWG serializer (RFC 5952), and parses its own output back', () => {
    fc.assert(
      fc.property(ipv6Bytes, (bytes) => {
        const text = formatIp({ family: 'IPv6', bytes });
        expect(new URL(`http://[${text}]/`).hostname).toBe(`[${text}]`);
        expect(isCanonicalIp(text)).toBe(true);
        expect(parseIp(text)?.bytes).toEqual(bytes);
      }),
    );
  });

  it('finds any other spelling of an address non-canonical', () => {
    fc.assert(
      fc.property(ipv6Bytes, (bytes) => {
        const groups: string[] = [];
        for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16).padStart(4, '0').toUpperCase());
        const spelled = groups.join(':');
        expect(parseIp(spelled)?.bytes).toEqual(bytes);
        expect(isCanonicalIp(spelled)).toBe(false);
      }),
    );
  });

  it('round-trips every IPv4 address', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), (bytes) => {
        const text = Array.from(bytes).join('.');
        expect(parseIp(text)).toEqual({ family: 'IPv4', bytes });
        expect(isCanonicalIp(text)).toBe(true);
      }),
    );
  });
});

describe('isUnicastMac', () => {
  it.each([
    ['02:00:00:00:00:aa', true],
    ['00:00:00:00:00:01', true],
    ['fe:ff:ff:ff:ff:ff', true],
    ['00:00:00:00:00:00', false],
    ['01:00:5e:00:00:01', false],
    ['33:33:00:00:00:01', false],
    ['ff:ff:ff:ff:ff:ff', false],
    ['02:00:00:00:00:AA', false],
    ['02-00-00-00-00-aa', false],
    ['02:00:00:00:00', false],
    ['2:0:0:0:0:aa', false],
  ] as const)('%s → %s', (mac, want) => {
    expect(isUnicastMac(mac)).toBe(want);
  });
});

describe('isRfc3339DateTime (mirror of the apiserver\'s format: date-time)', () => {
  it.each(TIMESTAMPS)('%s → %s', (text, want) => {
    expect(isRfc3339DateTime(text)).toBe(want);
  });

  it('accepts what Date#toISOString produces', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }), (d) => {
        expect(isRfc3339DateTime(d.toISOString())).toBe(true);
      }),
    );
  });
});
