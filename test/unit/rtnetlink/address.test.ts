import { describe, expect, it } from 'vitest';
import { formatIp, NetlinkEncodeError, parseIp, parseMac } from '../../../src/lib/rtnetlink/index.js';

const fmt = (text: string) => {
  const { bytes } = parseIp(text);
  return formatIp(bytes, 0, bytes.length);
};

describe('addresses as iproute2 prints them (inet_ntop)', () => {
  it.each([
    ['198.51.100.2', '198.51.100.2'],
    ['2001:db8::1', '2001:db8::1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['::', '::'],
    ['::1', '::1'],
    ['fe80::', 'fe80::'],
    // a single zero group is not compressed; the first of two equal runs is
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['1:0:0:2:0:0:3:4', '1::2:0:0:3:4'],
    ['1:0:0:2:0:0:0:4', '1:0:0:2::4'],
    ['::ffff:192.0.2.1', '::ffff:192.0.2.1'],
    ['2001:DB8::A', '2001:db8::a'],
  ])('%s → %s', (input, want) => {
    expect(fmt(input)).toBe(want);
  });

  it.each(['1.2.3', '256.1.1.1', '01.2.3.4', '1::2::3', '12345::', 'x', '1:2:3:4:5:6:7:8:9', ':::'])('rejects %s', (bad) => {
    expect(() => parseIp(bad)).toThrow(NetlinkEncodeError);
  });

  it('parses MACs and rejects non-MACs', () => {
    expect(Array.from(parseMac('02:00:00:00:00:aA'))).toEqual([2, 0, 0, 0, 0, 0xaa]);
    expect(() => parseMac('02:00:00:00:00')).toThrow(NetlinkEncodeError);
  });
});
