import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeMessage, encodeMessage, type OfMessage } from '../../../src/lib/openflow/message.js';
import { MessageFramer } from '../../../src/lib/openflow/framer.js';
import { OpenFlowDecodeError } from '../../../src/lib/openflow/errors.js';
import { OFP13, OFP15 } from '../../../src/lib/openflow/constants.js';

// Messages the agent really exchanges; their truncations and bit flips must
// only ever produce OpenFlowDecodeError, never another exception.
const seeds: { version: 4 | 6; message: OfMessage }[] = [
  {
    version: OFP15,
    message: {
      type: 'groupMod',
      groupMod: {
        command: 'add', type: 'select', groupId: 65537, selectionMethod: { name: 'hash', param: 5n, fields: [{ field: 'eth_dst' }, { field: 'ip_dst', mask: '255.255.0.0' }] },
        buckets: [
          { bucketId: 0, weight: 3, actions: [{ type: 'setField', field: 'tun_id', value: 100n }, { type: 'setField', field: 'tun_dst', value: '198.51.100.2' }, { type: 'output', port: 5 }] },
          { bucketId: 1, weight: 1, actions: [{ type: 'setField', field: 'tun_ipv6_dst', value: '2001:db8::2' }, { type: 'output', port: 5 }] },
        ],
      },
    },
  },
  {
    version: OFP15,
    message: {
      type: 'flowMod',
      flowMod: {
        command: 'add', tableId: 1, priority: 100, cookie: 0x45564e0000000001n,
        match: { inPort: 3, metadata: { value: 100n, mask: 0xffffn }, ethDst: '02:00:00:00:00:aa', ethType: 0x0800, ipv4Dst: { value: '10.0.0.0', mask: '255.0.0.0' }, tunnelId: 7n, reg1: 9 },
        instructions: [{ type: 'applyActions', actions: [{ type: 'group', groupId: 65537 }] }, { type: 'gotoTable', tableId: 2 }, { type: 'writeMetadata', metadata: 1n, mask: 1n }],
      },
    },
  },
  {
    version: OFP15,
    message: {
      type: 'multipartReply', flags: 0,
      reply: {
        kind: 'flowStats',
        flows: [{ tableId: 1, priority: 5, idleTimeout: 0, hardTimeout: 0, flags: 0, importance: 0, cookie: 1n, durationSec: 3, durationNsec: 4, packetCount: 10n, byteCount: 640n, match: { ethDst: '02:00:00:00:00:01' }, instructions: [{ type: 'applyActions', actions: [{ type: 'output', port: 1 }] }] }],
      },
    },
  },
  {
    version: OFP15,
    message: { type: 'multipartReply', flags: 1, reply: { kind: 'groupStats', stats: [{ groupId: 1, refCount: 2, packetCount: 3n, byteCount: 4n, durationSec: 5, durationNsec: 6, buckets: [{ packetCount: 1n, byteCount: 2n }] }] } },
  },
  {
    version: OFP13,
    message: { type: 'bundleAdd', bundleId: 1, flags: 3, message: { type: 'groupMod', groupMod: { command: 'add', type: 'select', groupId: 2, buckets: [{ weight: 2, actions: [{ type: 'output', port: 1 }] }] } } },
  },
  {
    version: OFP15,
    message: { type: 'bundleAdd', bundleId: 7, flags: 3, message: { type: 'flowMod', flowMod: { command: 'delete', tableId: 1, priority: 0, cookie: 5n, match: {}, instructions: [] } } },
  },
  // What the agent reads back after (re)connecting: every group, with OVS's selection method.
  ...([OFP15, OFP13] as const).map((version) => ({
    version,
    message: {
      type: 'multipartReply' as const, flags: 1,
      reply: {
        kind: 'groupDesc' as const,
        groups: [
          {
            groupId: 65537, type: 'select' as const, ...(version === OFP15 ? { selectionMethod: { name: 'dp_hash', param: 0n } } : {}),
            buckets: [0, 1, 2].map((i) => ({ ...(version === OFP15 ? { bucketId: i } : {}), weight: 1 + i, actions: [{ type: 'setField' as const, field: 'tun_dst', value: `198.51.100.${i + 2}` }, { type: 'output' as const, port: 5 }] })),
          },
          { groupId: 65538, type: 'all' as const, buckets: [{ ...(version === OFP15 ? { bucketId: 0 } : {}), actions: [{ type: 'output' as const, port: 7 }] }] },
        ],
      },
    },
  })),
  { version: OFP15, message: { type: 'hello', versions: [4, 6] } },
  { version: OFP15, message: { type: 'error', errType: 1, code: 2, data: Buffer.from('0604001000000007', 'hex') } as OfMessage },
];

/** PORT_DESC replies as Open vSwitch sends them (the library decodes but does not encode them). */
function portDescReply(version: 4 | 6): Buffer {
  const ports: Buffer[] = [];
  for (const [no, name] of [[1, 'br-evpn'], [5, 'evpn-vxlan']] as const) {
    const mac = Buffer.from([0x02, 0, 0, 0, 0, no]);
    const nameBytes = Buffer.alloc(16);
    nameBytes.write(name);
    if (version === OFP13) {
      const p = Buffer.alloc(64);
      p.writeUInt32BE(no, 0);
      mac.copy(p, 8);
      nameBytes.copy(p, 16);
      ports.push(p);
    } else {
      // ofp_port (40 bytes) + an OFPPDPT_ETHERNET property (32 bytes).
      const p = Buffer.alloc(72);
      p.writeUInt32BE(no, 0);
      p.writeUInt16BE(72, 4);
      mac.copy(p, 8);
      nameBytes.copy(p, 16);
      p.writeUInt16BE(0, 40);
      p.writeUInt16BE(32, 42);
      p.writeUInt32BE(10_000_000, 64);
      ports.push(p);
    }
  }
  const body = Buffer.concat(ports);
  const head = Buffer.alloc(16);
  head[0] = version;
  head[1] = 19; // MULTIPART_REPLY
  head.writeUInt16BE(16 + body.length, 2);
  head.writeUInt32BE(9, 4);
  head.writeUInt16BE(13, 8); // OFPMP_PORT_DESC
  return Buffer.concat([head, body]);
}

/** Every seed as bytes: the encodable messages, and the PORT_DESC replies. */
function seedBytes(xid = 1): Buffer[] {
  return [...seeds.map((s) => encodeMessage(s.version, xid, s.message)), portDescReply(OFP15), portDescReply(OFP13)];
}

/** `depth` BUNDLE_ADD headers, each wrapping the next, around a BARRIER_REQUEST. */
function nestedBundles(version: 4 | 6, depth: number): Buffer {
  const inner = encodeMessage(version, 1, { type: 'barrierRequest' });
  const wrapper = version === OFP15 ? 16 : 24;
  const total = inner.length + depth * wrapper;
  const buf = Buffer.alloc(total);
  for (let d = 0; d < depth; d++) {
    const at = d * wrapper;
    buf[at] = version;
    buf[at + 1] = version === OFP15 ? 34 : 4;
    buf.writeUInt16BE(Math.min(total - at, 0xffff), at + 2);
    buf.writeUInt32BE(1, at + 4);
    let body = at + 8;
    if (version === OFP13) {
      buf.writeUInt32BE(0x4f4e4600, body);
      buf.writeUInt32BE(2301, body + 4);
      body += 8;
    }
    buf.writeUInt32BE(1, body);
    buf.writeUInt16BE(3, body + 6);
  }
  inner.copy(buf, depth * wrapper);
  return buf;
}

function decodeOnlyTypedErrors(buf: Buffer): void {
  try {
    decodeMessage(buf);
  } catch (err) {
    if (!(err instanceof OpenFlowDecodeError)) throw err;
    expect(err.offset).toBeGreaterThanOrEqual(0);
    expect(err.field).toBeTruthy();
  }
}

describe('decoder robustness', () => {
  it('decodes the PORT_DESC seeds', () => {
    for (const version of [OFP15, OFP13] as const) {
      const d = decodeMessage(portDescReply(version));
      if (d.message.type !== 'multipartReply' || d.message.reply.kind !== 'portDesc') throw new Error('not a PORT_DESC reply');
      expect(d.message.reply.ports.map((p) => [p.portNo, p.name, p.hwAddr])).toEqual([[1, 'br-evpn', '02:00:00:00:00:01'], [5, 'evpn-vxlan', '02:00:00:00:00:05']]);
    }
  });

  it('refuses a bundle inside a bundle with a typed error, at any depth, without recursing', () => {
    for (const version of [OFP15, OFP13] as const) {
      // 64 KiB of nested BUNDLE_ADD headers: ~4,000 levels (the stack overflowed at ~2,000).
      for (const depth of [2, 3, 100, Math.floor((0xffff - 16) / (version === OFP15 ? 16 : 24))]) {
        const err = (() => {
          try {
            decodeMessage(nestedBundles(version, depth));
          } catch (e) {
            return e;
          }
          return undefined;
        })();
        expect(err, `depth ${depth}`).toBeInstanceOf(OpenFlowDecodeError);
        expect((err as OpenFlowDecodeError).reason).toMatch(/bundle cannot carry bundle messages/);
      }
      // One level is a bundle's normal content.
      expect(decodeMessage(nestedBundles(version, 1)).message).toMatchObject({ type: 'bundleAdd', message: { type: 'barrierRequest' } });
    }
  });

  it('reads at most the 256 versions a HELLO bitmap can name, however long the bitmap', { timeout: 30_000 }, () => {
    // One VERSIONBITMAP element filling a whole 64 KiB message, every bit set.
    const len = 0xffff - 8 - 7;
    const buf = Buffer.alloc(8 + ((len + 7) & ~7), 0xff);
    buf[0] = OFP15;
    buf[1] = 0;
    buf.writeUInt16BE(buf.length, 2);
    buf.writeUInt32BE(1, 4);
    buf.writeUInt16BE(1, 8);
    buf.writeUInt16BE(len, 10);
    const d = decodeMessage(buf);
    if (d.message.type !== 'hello') throw new Error('not a hello');
    expect(d.message.versions).toEqual(Array.from({ length: 256 }, (_, i) => i));
  });

  it('decodes worst-case 64 KiB messages in bounded time', { timeout: 60_000 }, () => {
    // Work, not speed, is what this bounds: each case below made the decoder
    // do work quadratic in, or far beyond linear in, the message size (a HELLO
    // bitmap: ~1 s each; nested bundles: a stack overflow). The limit is
    // generous — tens of times what a linear decoder needs on a slow machine.
    const hello = Buffer.alloc(0xfff8, 0xff);
    hello[0] = OFP15;
    hello[1] = 0;
    hello.writeUInt16BE(hello.length, 2);
    for (let at = 8; at + 8 <= hello.length; at += 8) {
      hello.writeUInt16BE(1, at);
      hello.writeUInt16BE(8, at + 2);
    }
    const oneBitmap = Buffer.from(hello);
    oneBitmap.writeUInt16BE(oneBitmap.length - 8, 10);
    const cases = [hello, oneBitmap, nestedBundles(OFP15, 4000), nestedBundles(OFP13, 2700)];
    const started = performance.now();
    for (let i = 0; i < 20; i++) for (const c of cases) decodeOnlyTypedErrors(c);
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it('round-trips the seed messages', () => {
    for (const s of seeds) {
      const bytes = encodeMessage(s.version, 42, s.message);
      const d = decodeMessage(bytes);
      expect(d.xid).toBe(42);
      expect(encodeMessage(s.version, 42, d.message).toString('hex')).toBe(bytes.toString('hex'));
    }
  });

  it('every truncation of every seed is a typed error naming field and offset', () => {
    let typed = 0;
    for (const bytes of seedBytes()) {
      for (let cut = 0; cut < bytes.length; cut++) {
        // Keep the header's length honest so the body decoders see the truncation.
        const t = Buffer.from(bytes.subarray(0, cut));
        if (t.length >= 4) t.writeUInt16BE(t.length, 2);
        try {
          decodeMessage(t);
        } catch (err) {
          expect(err).toBeInstanceOf(OpenFlowDecodeError);
          typed++;
        }
      }
    }
    expect(typed).toBeGreaterThan(100);
  });

  it('random bytes never throw anything but OpenFlowDecodeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 300 }), fc.constantFrom(4, 6), fc.integer({ min: 0, max: 40 }), (body, version, type) => {
        const buf = Buffer.alloc(8 + body.length);
        buf[0] = version;
        buf[1] = type;
        buf.writeUInt16BE(buf.length, 2);
        Buffer.from(body).copy(buf, 8);
        decodeOnlyTypedErrors(buf);
      }),
      { numRuns: 3000 },
    );
  });

  it('bit flips in valid messages never throw anything but OpenFlowDecodeError', () => {
    const encoded = seedBytes();
    fc.assert(
      fc.property(fc.constantFrom(...encoded), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), (bytes, flips) => {
        const b = Buffer.from(bytes);
        for (const [pos, val] of flips) b[8 + (pos % (b.length - 8))] = val;
        decodeOnlyTypedErrors(b);
      }),
      { numRuns: 3000 },
    );
  });

  it('the stream framer reassembles split messages and rejects an out-of-sync length', () => {
    const a = encodeMessage(OFP15, 1, { type: 'barrierReply' });
    const b = encodeMessage(OFP15, 2, { type: 'echoRequest', data: Buffer.from('hi') });
    const stream = Buffer.concat([a, b]);
    const framer = new MessageFramer();
    const out: Buffer[] = [];
    for (const byte of stream) out.push(...framer.push(Buffer.from([byte])));
    expect(out.map((m) => m.toString('hex'))).toEqual([a.toString('hex'), b.toString('hex')]);
    expect(() => new MessageFramer().push(Buffer.from('0600000300000001', 'hex'))).toThrow(OpenFlowDecodeError);
  });
});
