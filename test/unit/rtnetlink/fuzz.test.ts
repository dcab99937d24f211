import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeMessage,
  encodeMessage,
  NetlinkDecodeError,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLMSG_ERROR,
  NLMSGERR_ATTR_MSG,
  NLMSGERR_ATTR_OFFS,
  RTM_NEWLINK,
  RTM_NEWNEIGH,
  RTM_NEWNEXTHOP,
  type FdbEntry,
  type Link,
  type Nexthop,
  type RawAttribute,
  type RtnetlinkMessage,
} from '../../../src/lib/rtnetlink/index.js';

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const ipv4 = fc.ipV4();
// fast-check's ipV6 yields every textual form; we compare canonical text, so generate bytes and format via a round trip below.
const ipv6 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => {
  const words = Array.from({ length: 8 }, (_, i) => ((b[2 * i]! << 8) | b[2 * i + 1]!).toString(16));
  return words.join(':');
});
const mac = fc.uint8Array({ minLength: 6, maxLength: 6 }).map((b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':'));
const rawAttrs = (knownTypes: number[]) =>
  fc.array(
    fc.record({
      type: fc.integer({ min: 1, max: 0x3fff }).filter((t) => !knownTypes.includes(t)),
      nested: fc.boolean(),
      data: fc.uint8Array({ maxLength: 24 }),
    }),
    { maxLength: 3 },
  );

const opt = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

const nexthopArb: fc.Arbitrary<Nexthop> = fc
  .record({
    id: fc.integer({ min: 1, max: 0xffffffff }),
    family: u8,
    scope: u8,
    protocol: u8,
    flags: u32,
    fdb: fc.boolean(),
    blackhole: fc.boolean(),
    gateway: opt(fc.oneof(ipv4, ipv6)),
    oif: opt(u32),
    group: opt(fc.array(fc.record({ id: fc.integer({ min: 1, max: 0xffffffff }), weight: fc.integer({ min: 1, max: 65535 }) }), { minLength: 1, maxLength: 8 })),
    groupType: opt(u16),
    raw: rawAttrs([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14]),
  })
  .map((r) => {
    const nh = strip(r) as Nexthop;
    // weight_high is trusted only when the reply says so (NHA_OP_FLAGS bit 31); send it with every group.
    if (nh.group) nh.opFlags = 0x80000000;
    return nh;
  });

const fdbArb: fc.Arbitrary<FdbEntry> = fc
  .record({
    family: fc.constant(7),
    ifindex: fc.integer({ min: 0, max: 0x7fffffff }),
    state: u16,
    flags: u8,
    ndmType: u8,
    mac,
    dst: opt(fc.oneof(ipv4, ipv6)),
    nhid: opt(u32),
    vni: opt(fc.integer({ min: 0, max: 0xffffff })),
    srcVni: opt(fc.integer({ min: 0, max: 0xffffff })),
    port: opt(u16),
    vlan: opt(u16),
    master: opt(u32),
    protocol: opt(u8),
    raw: rawAttrs([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]),
  })
  .map((r) => strip(r) as FdbEntry);

const linkArb: fc.Arbitrary<Link> = fc
  .record({
    family: fc.constant(0),
    type: u16,
    ifindex: fc.integer({ min: 1, max: 0x7fffffff }),
    flags: u32,
    name: fc.stringMatching(/^[a-z][a-z0-9]{0,14}$/),
    mtu: opt(u32),
    vxlan: opt(
      fc.record({
        vni: opt(fc.integer({ min: 0, max: 0xffffff })),
        local: opt(ipv4),
        port: opt(u16),
        learning: opt(fc.boolean()),
        external: opt(fc.boolean()),
      }),
    ),
  })
  .map((r) => {
    const { vxlan, ...rest } = r;
    const link = strip(rest) as Link;
    if (vxlan) {
      link.kind = 'vxlan';
      link.linkinfo = { kind: 'vxlan' };
      link.vxlan = strip(vxlan);
    }
    return link;
  });

function strip<T extends object>(o: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined) continue;
    if (k === 'raw' && Array.isArray(v) && v.length === 0) continue;
    out[k] = v;
  }
  return out as T;
}

/** Compares decoded objects with Buffers/Uint8Arrays turned into plain arrays. */
function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return Array.from(v);
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === 'bigint') return v.toString();
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined).map(([k, x]) => [k, plain(x)]));
  return v;
}

function canonicalIp(text: string): string {
  // Our decoder prints inet_ntop's canonical text; normalise the generated text the same way.
  const [m] = decodeMessage(
    encodeMessage({ type: RTM_NEWNEXTHOP, flags: 0, seq: 0, pid: 0, kind: 'nexthop', nexthop: { id: 1, family: 0, scope: 0, protocol: 0, flags: 0, fdb: false, blackhole: false, gateway: text } }),
  );
  return m?.kind === 'nexthop' ? m.nexthop.gateway! : text;
}

describe('rtnetlink codec properties', () => {
  it('encode → decode is the identity for nexthop messages (unknown attributes carried raw)', () => {
    fc.assert(
      fc.property(nexthopArb, fc.integer({ min: 0, max: 0xffff }), u32, (nh, flags, seq) => {
        const msg: RtnetlinkMessage = { type: RTM_NEWNEXTHOP, flags, seq, pid: 0, kind: 'nexthop', nexthop: nh };
        const [back] = decodeMessage(encodeMessage(msg));
        const expected = { ...nh, ...(nh.gateway ? { gateway: canonicalIp(nh.gateway) } : {}) };
        expect(plain(back)).toEqual(plain({ ...msg, nexthop: expected }));
      }),
      { numRuns: 300 },
    );
  });

  it('encode → decode is the identity for FDB messages', () => {
    fc.assert(
      fc.property(fdbArb, (entry) => {
        const msg: RtnetlinkMessage = { type: RTM_NEWNEIGH, flags: 0, seq: 1, pid: 2, kind: 'fdb', entry };
        const [back] = decodeMessage(encodeMessage(msg));
        const expected = { ...entry, ...(entry.dst ? { dst: canonicalIp(entry.dst) } : {}) };
        expect(plain(back)).toEqual(plain({ ...msg, entry: expected }));
      }),
      { numRuns: 300 },
    );
  });

  it('encode → decode is the identity for links, VXLAN data included', () => {
    fc.assert(
      fc.property(linkArb, (link) => {
        const msg: RtnetlinkMessage = { type: RTM_NEWLINK, flags: 0, seq: 1, pid: 0, kind: 'link', link };
        const [back] = decodeMessage(encodeMessage(msg));
        if (back?.kind !== 'link') throw new Error('not a link');
        const { linkinfo: _li, ...got } = back.link;
        const { linkinfo: _le, ...want } = link;
        expect(plain(got)).toEqual(plain(want));
      }),
      { numRuns: 200 },
    );
  });

  it('random bytes never crash the decoder: it returns or throws NetlinkDecodeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        expectOnlyDecodeErrors(Buffer.from(bytes));
      }),
      { numRuns: 3000 },
    );
  });

  it('random bytes behind a valid header of each family never crash the decoder', () => {
    fc.assert(
      fc.property(fc.constantFrom(RTM_NEWNEXTHOP, RTM_NEWNEIGH, RTM_NEWLINK, 2, 3), fc.uint8Array({ maxLength: 300 }), (type, body) => {
        const buf = Buffer.alloc(16 + body.length);
        buf.writeUInt32LE(buf.length, 0);
        buf.writeUInt16LE(type, 4);
        if (type === RTM_NEWNEIGH && body.length > 0) body[0] = 7;
        buf.set(body, 16);
        expectOnlyDecodeErrors(buf);
      }),
      { numRuns: 3000 },
    );
  });

  it('every truncation and every single-byte corruption of valid messages is handled', () => {
    fc.assert(
      fc.property(fc.oneof(nexthopArb.map((n) => ({ kind: 'nexthop' as const, nexthop: n, type: RTM_NEWNEXTHOP })), fdbArb.map((e) => ({ kind: 'fdb' as const, entry: e, type: RTM_NEWNEIGH }))), fc.nat(), u8, (m, pos, val) => {
        const bytes = encodeMessage({ ...m, flags: 0, seq: 0, pid: 0 });
        for (let cut = 0; cut < bytes.length; cut++) {
          const t = Buffer.from(bytes.subarray(0, cut));
          if (t.length >= 4) t.writeUInt32LE(Math.max(t.length, 0), 0); // header claims what is there
          expectOnlyDecodeErrors(t);
          expectOnlyDecodeErrors(bytes.subarray(0, cut)); // header claims more than is there
        }
        const c = Buffer.from(bytes);
        c[pos % c.length] = val;
        expectOnlyDecodeErrors(c);
      }),
      { numRuns: 200 },
    );
  });

  it('every truncation and every single-byte corruption of an extended ACK, and of a link with VXLAN data, is handled', { timeout: 60_000 }, () => {
    const seeds = fc.oneof(
      fc.tuple(nexthopArb, fc.boolean(), fc.string({ maxLength: 40 })).map(([nh, capped, text]) => extendedAck(nh, capped, text)),
      linkArb.filter((l) => l.vxlan !== undefined).map((link) => encodeMessage({ type: RTM_NEWLINK, flags: 0, seq: 1, pid: 0, kind: 'link', link })),
    );
    fc.assert(
      fc.property(seeds, fc.nat(), u8, (bytes, pos, val) => {
        for (let cut = 0; cut < bytes.length; cut++) {
          const t = Buffer.from(bytes.subarray(0, cut));
          if (t.length >= 4) t.writeUInt32LE(t.length, 0);
          expectOnlyDecodeErrors(t);
        }
        const c = Buffer.from(bytes);
        c[pos % c.length] = val;
        expectOnlyDecodeErrors(c);
      }),
      { numRuns: 150 },
    );
  });

  it('an extended ACK decodes its text and offset, and any echoed request length is a decode error or fits', () => {
    const nh: Nexthop = { id: 9, family: 2, scope: 0, protocol: 236, flags: 0, fdb: true, blackhole: false, gateway: '198.51.100.2' };
    const [ack] = decodeMessage(extendedAck(nh, false, 'Nexthop id does not exist'));
    expect(ack).toMatchObject({ kind: 'error', ack: { errno: 22, message: 'Nexthop id does not exist', offset: 36 } });
    // The echoed nlmsg_len is a u32: lengths of 2^31 and more turned negative
    // in 32-bit arithmetic and the decoder read at a negative offset (RangeError).
    const lengthAt = 16 + 4;
    for (const echoed of [0, 1, 15, 0x7fffffff, 0x80000000, 0x80000001, 0xfffffffc, 0xfffffffd, 0xffffffff]) {
      const bytes = extendedAck(nh, false, 'x');
      bytes.writeUInt32LE(echoed, lengthAt);
      expect(() => decodeMessage(bytes), `echoed length ${echoed}`).toThrow(NetlinkDecodeError);
    }
    fc.assert(
      fc.property(u32, fc.boolean(), (echoed, capped) => {
        const bytes = extendedAck(nh, capped, 'Nexthop id does not exist');
        bytes.writeUInt32LE(echoed, lengthAt);
        expectOnlyDecodeErrors(bytes);
      }),
      { numRuns: 2000 },
    );
  });

  it('decodes worst-case 64 KiB datagrams in bounded time', { timeout: 60_000 }, () => {
    // Work, not speed, is what this bounds: the decoder must stay linear in
    // the datagram (one visit per attribute) however the bytes are arranged.
    // The limit is tens of times what that needs on a slow machine.
    const datagram = (type: number, bodyHead: number, fill: (buf: Buffer, at: number) => number) => {
      const buf = Buffer.alloc(0xfffc);
      buf.writeUInt32LE(buf.length, 0);
      buf.writeUInt16LE(type, 4);
      if (type === RTM_NEWNEIGH) buf[16] = 7;
      let at = 16 + bodyHead;
      while (at + 8 <= buf.length) at = fill(buf, at);
      buf.writeUInt32LE(at, 0);
      return buf.subarray(0, at);
    };
    const emptyAttribute = (buf: Buffer, at: number) => {
      buf.writeUInt16LE(4, at);
      buf.writeUInt16LE(0x3000 + (at % 0x100), at + 2);
      return at + 4;
    };
    const cases = [
      datagram(RTM_NEWNEXTHOP, 8, emptyAttribute),
      datagram(RTM_NEWNEIGH, 12, emptyAttribute),
      datagram(RTM_NEWLINK, 16, emptyAttribute),
      // NLMSG_ERROR whose extended ACK is all TLVs.
      datagram(NLMSG_ERROR, 0, (buf, at) => {
        if (at === 16) {
          buf.writeInt32LE(-22, 16);
          buf.writeUInt32LE(16, 20);
          buf.writeUInt16LE(NLM_F_ACK_TLVS | NLM_F_CAPPED, 6);
          return 36;
        }
        return emptyAttribute(buf, at);
      }),
      // Many small messages in one datagram.
      (() => {
        const one = encodeMessage({ type: RTM_NEWNEXTHOP, flags: 0, seq: 0, pid: 0, kind: 'nexthop', nexthop: { id: 1, family: 2, scope: 0, protocol: 0, flags: 0, fdb: true, blackhole: false, gateway: '198.51.100.2' } });
        return Buffer.concat(Array.from({ length: Math.floor(0xfffc / one.length) }, () => one));
      })(),
    ];
    const started = performance.now();
    for (let i = 0; i < 10; i++) for (const c of cases) expectOnlyDecodeErrors(c);
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it('names offset and field in decode errors', () => {
    // NDA_LLADDR with 5 bytes at offset 28.
    const buf = Buffer.from('2c0000001c000000000000000000000007000000070000004200020009000200020000000000000008000d008c230000', 'hex');
    buf.writeUInt32LE(buf.length, 0);
    try {
      decodeMessage(buf);
      expect.unreachable('should throw');
    } catch (err) {
      expect(err).toBeInstanceOf(NetlinkDecodeError);
      expect((err as NetlinkDecodeError).field).toBe('NDA_LLADDR');
      expect((err as NetlinkDecodeError).offset).toBe(28);
    }
  });
});

/**
 * The kernel's refusal of an RTM_NEWNEXTHOP request with extended ACK TLVs
 * (netlink_ack with NETLINK_EXT_ACK): error −EINVAL, the echoed request (its
 * header alone when `capped`), NLMSGERR_ATTR_MSG and NLMSGERR_ATTR_OFFS.
 */
function extendedAck(nh: Nexthop, capped: boolean, text: string): Buffer {
  const request = encodeMessage({ type: RTM_NEWNEXTHOP, flags: 0x405, seq: 7, pid: 0, kind: 'nexthop', nexthop: nh });
  const echoed = capped ? request.subarray(0, 16) : request;
  const tlv = (type: number, value: Buffer) => {
    const len = 4 + value.length;
    const b = Buffer.alloc((len + 3) & ~3);
    b.writeUInt16LE(len, 0);
    b.writeUInt16LE(type, 2);
    value.copy(b, 4);
    return b;
  };
  const offs = Buffer.alloc(4);
  offs.writeUInt32LE(36, 0);
  const body = Buffer.concat([Buffer.alloc(4), echoed, Buffer.alloc((4 - (echoed.length % 4)) % 4), tlv(NLMSGERR_ATTR_MSG, Buffer.from(`${text}\0`)), tlv(NLMSGERR_ATTR_OFFS, offs)]);
  body.writeInt32LE(-22, 0);
  const head = Buffer.alloc(16);
  head.writeUInt32LE(16 + body.length, 0);
  head.writeUInt16LE(NLMSG_ERROR, 4);
  head.writeUInt16LE(NLM_F_ACK_TLVS | (capped ? NLM_F_CAPPED : 0), 6);
  head.writeUInt32LE(7, 8);
  return Buffer.concat([head, body]);
}

function expectOnlyDecodeErrors(buf: Buffer): void {
  try {
    decodeMessage(buf);
  } catch (err) {
    if (!(err instanceof NetlinkDecodeError)) throw err;
  }
}

export type { RawAttribute };
