/**
 * Property tests for the link decoders added for bridges, bridge ports and
 * VNI filters (the fuzz.test.ts style: encode → decode identity with unknown
 * attributes carried, and hostile bytes only ever producing
 * NetlinkDecodeError).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AF_BRIDGE,
  decodeMessage,
  encodeMessage,
  RTM_DELLINK,
  RTM_NEWLINK,
  RTM_NEWTUNNEL,
  type BridgeAfSpec,
  type BridgePortInfo,
  type Link,
  type RtnetlinkMessage,
  type VniFilterMessage,
} from '../../../src/lib/rtnetlink/index.js';
import { expectDecodeError, expectOnlyDecodeErrors, expectTruncationsAndCorruptionHandled, opt, plain, rawAttrs, strip } from './codec-properties.js';

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });

const BRPORT_TYPES = [1, 2, 3, 8, 9, 27, 29, 30, 32, 33];
const bridgePortArb: fc.Arbitrary<BridgePortInfo> = fc
  .record({
    state: opt(u8),
    priority: opt(u16),
    cost: opt(u32),
    learning: opt(fc.boolean()),
    unicastFlood: opt(fc.boolean()),
    mcastFlood: opt(fc.boolean()),
    bcastFlood: opt(fc.boolean()),
    vlanTunnel: opt(fc.boolean()),
    neighSuppress: opt(fc.boolean()),
    isolated: opt(fc.boolean()),
    raw: rawAttrs(BRPORT_TYPES),
  })
  .map((r) => strip(r));

const bridgeAfSpecArb: fc.Arbitrary<BridgeAfSpec> = fc
  .record({
    flags: opt(u16),
    mode: opt(u16),
    vlans: opt(fc.array(fc.record({ vid: u16, flags: u16 }), { minLength: 1, maxLength: 6 })),
    tunnels: opt(
      fc.array(
        fc.record({ tunnelId: opt(u32), vid: opt(u16), flags: opt(u16), raw: rawAttrs([1, 2, 3]) }).map((t) => strip(t)),
        { minLength: 1, maxLength: 4 },
      ),
    ),
    raw: rawAttrs([1, 2, 3]),
  })
  .map((r) => strip(r));

const LINK_TYPES = [1, 3, 4, 5, 10, 12, 16, 18, 20, 26];
const name = fc.stringMatching(/^[a-z][a-z0-9]{0,14}$/);
const alias = fc.stringMatching(/^[ -~]{0,40}$/);

/** AF_BRIDGE port messages (what `bridge link|vlan show` dumps and bridge notifications carry). */
const bridgePortLinkArb: fc.Arbitrary<Link> = fc
  .record({
    family: fc.constant(AF_BRIDGE),
    type: u16,
    ifindex: fc.integer({ min: 1, max: 0x7fffffff }),
    flags: u32,
    change: opt(fc.integer({ min: 1, max: 0xffffffff })),
    name,
    master: opt(u32),
    mtu: opt(u32),
    operstate: opt(u8),
    alias: opt(alias),
    bridgePort: opt(bridgePortArb),
    bridgeAfSpec: opt(bridgeAfSpecArb),
    raw: rawAttrs(LINK_TYPES),
  })
  .map((r) => strip(r) as Link);

/** AF_UNSPEC devices: a bridge (IFLA_BR_*), and bridge ports carrying IFLA_INFO_SLAVE_DATA. */
const deviceLinkArb: fc.Arbitrary<Link> = fc
  .record({
    family: fc.constant(0),
    type: u16,
    ifindex: fc.integer({ min: 1, max: 0x7fffffff }),
    flags: u32,
    name,
    alias: opt(alias),
    master: opt(u32),
    kind: fc.constantFrom('bridge', 'veth', 'vxlan'),
    bridge: opt(fc.record({ vlanFiltering: opt(fc.boolean()), vlanDefaultPvid: opt(u16), raw: rawAttrs([7, 39]) }).map((b) => strip(b))),
    vxlan: opt(fc.record({ vni: opt(fc.integer({ min: 0, max: 0xffffff })), external: opt(fc.boolean()), vnifilter: opt(fc.boolean()), learning: opt(fc.boolean()), port: opt(u16) }).map((v) => strip(v))),
    bridgePort: opt(bridgePortArb),
  })
  .map((r) => {
    const { kind, bridge, vxlan, bridgePort, ...rest } = r;
    const link = strip(rest) as Link;
    link.kind = kind;
    link.linkinfo = { kind, ...(bridgePort ? { slaveKind: 'bridge' } : {}) };
    if (kind === 'bridge' && bridge) link.bridge = bridge;
    if (kind === 'vxlan' && vxlan) link.vxlan = vxlan;
    if (bridgePort) link.bridgePort = bridgePort;
    return link;
  });

const vniFilterArb: fc.Arbitrary<VniFilterMessage> = fc
  .record({
    family: u8,
    flags: u8,
    ifindex: u32,
    entries: fc.array(
      fc.record({ vni: opt(u32), vniEnd: opt(u32), group: opt(fc.ipV4()), raw: rawAttrs([1, 2, 3, 4, 5]) }).map((e) => strip(e)),
      { maxLength: 5 },
    ),
    raw: rawAttrs([1]),
  })
  .map((r) => strip(r) as VniFilterMessage);

/** Decoded links without the undecoded copies (linkinfo.data / slaveData are regenerated from the decoded fields). */
function linkForm(l: Link): unknown {
  const { linkinfo, ...rest } = l;
  return plain({ ...rest, ...(linkinfo ? { linkinfo: { kind: linkinfo.kind, slaveKind: linkinfo.slaveKind } } : {}) });
}

describe('rtnetlink codec properties: bridges, bridge ports, VNI filters', () => {
  it('encode → decode is the identity for AF_BRIDGE port messages (port flags, VLANs, tunnel mappings, unknown attributes)', () => {
    fc.assert(
      fc.property(bridgePortLinkArb, fc.constantFrom(RTM_NEWLINK, RTM_DELLINK), (link, type) => {
        const msg: RtnetlinkMessage = { type, flags: 0, seq: 3, pid: 0, kind: 'link', link };
        const [back] = decodeMessage(encodeMessage(msg));
        if (back?.kind !== 'link') throw new Error('not a link');
        expect(back.link.family).toBe(AF_BRIDGE);
        expect(linkForm(back.link)).toEqual(linkForm(link));
      }),
      { numRuns: 300 },
    );
  });

  it('encode → decode is the identity for devices with alias, bridge settings and bridge-port slave data', () => {
    fc.assert(
      fc.property(deviceLinkArb, (link) => {
        const msg: RtnetlinkMessage = { type: RTM_NEWLINK, flags: 0, seq: 1, pid: 0, kind: 'link', link };
        const [back] = decodeMessage(encodeMessage(msg));
        if (back?.kind !== 'link') throw new Error('not a link');
        expect(linkForm(back.link)).toEqual(linkForm(link));
      }),
      { numRuns: 300 },
    );
  });

  it('encode → decode is the identity for VNI filter messages', () => {
    fc.assert(
      fc.property(vniFilterArb, (vnifilter) => {
        const msg: RtnetlinkMessage = { type: RTM_NEWTUNNEL, flags: 0, seq: 1, pid: 0, kind: 'vnifilter', vnifilter };
        const [back] = decodeMessage(encodeMessage(msg));
        expect(plain(back)).toEqual(plain(msg));
      }),
      { numRuns: 300 },
    );
  });

  it('random bytes behind an AF_BRIDGE link header or a tunnel_msg never crash the decoder', () => {
    fc.assert(
      fc.property(fc.constantFrom(RTM_NEWLINK, RTM_DELLINK, RTM_NEWTUNNEL), fc.uint8Array({ maxLength: 400 }), (type, body) => {
        const buf = Buffer.alloc(16 + body.length);
        buf.writeUInt32LE(buf.length, 0);
        buf.writeUInt16LE(type, 4);
        if (type !== RTM_NEWTUNNEL && body.length > 0) body[0] = AF_BRIDGE;
        buf.set(body, 16);
        expectOnlyDecodeErrors(buf);
      }),
      { numRuns: 3000 },
    );
  });

  it('every truncation and every single-byte corruption of valid bridge and VNI filter messages is handled', () => {
    const messages = fc.oneof(
      bridgePortLinkArb.map((link): RtnetlinkMessage => ({ type: RTM_NEWLINK, flags: 0, seq: 0, pid: 0, kind: 'link', link })),
      deviceLinkArb.map((link): RtnetlinkMessage => ({ type: RTM_NEWLINK, flags: 0, seq: 0, pid: 0, kind: 'link', link })),
      vniFilterArb.map((vnifilter): RtnetlinkMessage => ({ type: RTM_NEWTUNNEL, flags: 0, seq: 0, pid: 0, kind: 'vnifilter', vnifilter })),
    );
    fc.assert(
      fc.property(messages, fc.nat(), u8, (m, pos, val) => expectTruncationsAndCorruptionHandled(m, pos, val)),
      { numRuns: 150 },
    );
  });

  it('names the field and offset of a malformed VLAN entry', () => {
    // AF_BRIDGE RTM_NEWLINK for ifindex 6 whose IFLA_AF_SPEC holds a 2-byte IFLA_BRIDGE_VLAN_INFO (struct bridge_vlan_info is 4).
    const buf = Buffer.from('28000000100000000000000000000000070000000600000000000000000000000a001a000600020001000000', 'hex');
    buf.writeUInt32LE(buf.length, 0);
    expectDecodeError(buf, 'IFLA_BRIDGE_VLAN_INFO', 36);
  });
});
