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
];

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
    for (const s of seeds) {
      const bytes = encodeMessage(s.version, 1, s.message);
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
    const encoded = seeds.map((s) => encodeMessage(s.version, 1, s.message));
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
