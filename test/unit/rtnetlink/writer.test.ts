import { describe, expect, it } from 'vitest';
import { NetlinkWriter } from '../../../src/lib/rtnetlink/index.js';

describe('NetlinkWriter', () => {
  it('keeps every value written while the buffer grows (each write lands after a reallocation)', () => {
    // A 1-byte start makes nearly every write below grow the buffer first.
    const w = new NetlinkWriter(1);
    w.u8(0x11).u8(0x22).u16(0x3344).u32(0x55667788).s32(-2);
    w.attrU8(1, 0xaa);
    w.attrU8(2, 0xbb);
    w.attrU16(3, 0xccdd);
    w.attrU32(4, 0x01020304);
    expect(w.bytesSoFar().toString('hex')).toBe(
      ['11', '22', '4433', '88776655', 'feffffff', '05000100aa000000', '05000200bb000000', '06000300ddcc0000', '0800040004030201'].join(''),
    );
  });
});
