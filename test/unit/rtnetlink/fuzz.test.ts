import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeMessage,
  encodeMessage,
  NetlinkDecodeError,
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

function expectOnlyDecodeErrors(buf: Buffer): void {
  try {
    decodeMessage(buf);
  } catch (err) {
    if (!(err instanceof NetlinkDecodeError)) throw err;
  }
}

export type { RawAttribute };
