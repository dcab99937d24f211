import { describe, expect, it } from 'vitest';
import {
  AF_INET,
  AF_UNSPEC,
  decodeMessage,
  deleteFdbEntryRequest,
  deleteNexthopRequest,
  dumpFdbRequest,
  FDB_STATE_PERMANENT,
  FDB_STATE_STATIC,
  fdbEntryRequest,
  fdbGroupRequest,
  fdbNexthopRequest,
  getLinkRequest,
  KernelError,
  NLM_F_ACK,
  NLM_F_ACK_TLVS,
  RTM_NEWNEIGH,
  RTM_NEWNEXTHOP,
} from '../../../src/lib/rtnetlink/index.js';

/** Hex from shared/reference/wire-vectors.md (sent to Linux 6.18 and accepted), whitespace ignored. */
const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
/** Our builders leave seq 0; the vectors carry the seq iproute2 used. */
const withSeq = (b: Buffer, seq: number) => {
  const c = Buffer.from(b);
  c.writeUInt32LE(seq, 8);
  return c;
};

const V = {
  fdbNexthop: hex('2c 00 00 00 68 00 05 06 01 00 00 00 00 00 00 00 02 00 00 00 00 00 00 00 08 00 01 00 29 23 00 00 08 00 06 00 c6 33 64 01 04 00 0b 00'),
  fdbGroup: hex('38 00 00 00 68 00 05 06 02 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 08 00 01 00 8c 23 00 00 14 00 02 00 29 23 00 00 2b 01 00 00 2a 23 00 00 00 00 00 00 04 00 0b 00'),
  fdbGroupReplace: hex('30 00 00 00 68 00 05 05 03 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 08 00 01 00 8c 23 00 00 0c 00 02 00 29 23 00 00 00 00 00 00 04 00 0b 00'),
  delNexthop: hex('20 00 00 00 69 00 05 00 05 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 08 00 01 00 8c 23 00 00'),
  fdbNhid: hex('30 00 00 00 1c 00 05 06 06 00 00 00 00 00 00 00 07 00 00 00 07 00 00 00 42 00 02 00 0a 00 02 00 02 00 00 00 00 01 00 00 08 00 0d 00 8c 23 00 00'),
  fdbFloodAppend: hex('30 00 00 00 1c 00 05 0c 07 00 00 00 00 00 00 00 07 00 00 00 07 00 00 00 c0 00 02 00 0a 00 02 00 00 00 00 00 00 00 00 00 08 00 01 00 c6 33 64 01'),
  delNeigh: hex('28 00 00 00 1d 00 05 00 08 00 00 00 00 00 00 00 07 00 00 00 07 00 00 00 00 00 02 00 0a 00 02 00 02 00 00 00 00 01 00 00'),
  dumpFdbLegacy: hex('20 00 00 00 1e 00 01 03 0a 00 00 00 00 00 00 00 07 00 00 00 07 00 00 00 00 00 00 00 00 00 00 00'),
  getLinkByName: hex('30 00 00 00 12 00 01 00 0b 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 08 00 03 00 76 78 30 00 08 00 1d 00 08 00 00 00'),
};

describe('rtnetlink requests reproduce iproute2 byte for byte', () => {
  it('ip nexthop add id 9001 via 198.51.100.1 fdb', () => {
    expect(withSeq(fdbNexthopRequest({ id: 9001, gateway: '198.51.100.1' }), 1)).toEqual(V.fdbNexthop);
  });
  it('fdb group {9001 weight 300, 9002 weight 1}: weight-1 split into low and high byte', () => {
    const msg = fdbGroupRequest({ id: 9100, members: [{ id: 9001, weight: 300 }, { id: 9002, weight: 1 }] });
    expect(withSeq(msg, 2)).toEqual(V.fdbGroup);
  });
  it('atomic group replace uses CREATE|REPLACE', () => {
    expect(withSeq(fdbGroupRequest({ id: 9100, members: [{ id: 9001, weight: 1 }], replace: true }), 3)).toEqual(V.fdbGroupReplace);
  });
  it('ip nexthop del id 9100', () => {
    expect(withSeq(deleteNexthopRequest(9100), 5)).toEqual(V.delNexthop);
  });
  it('bridge fdb add MAC dev vx0 self static nhid 9100', () => {
    expect(withSeq(fdbEntryRequest({ ifindex: 7, mac: '02:00:00:00:00:01', nhid: 9100, state: FDB_STATE_STATIC }), 6)).toEqual(V.fdbNhid);
  });
  it('bridge fdb append 00:00:00:00:00:00 dev vx0 self permanent dst 198.51.100.1', () => {
    const msg = fdbEntryRequest({ ifindex: 7, mac: '00:00:00:00:00:00', dst: '198.51.100.1', state: FDB_STATE_PERMANENT, append: true });
    expect(withSeq(msg, 7)).toEqual(V.fdbFloodAppend);
  });
  it('bridge fdb del', () => {
    expect(withSeq(deleteFdbEntryRequest({ ifindex: 7, mac: '02:00:00:00:00:01' }), 8)).toEqual(V.delNeigh);
  });
  it('per-device FDB dump uses the 16-byte ifinfomsg header', () => {
    expect(withSeq(dumpFdbRequest(7), 10)).toEqual(V.dumpFdbLegacy);
  });
  it('RTM_GETLINK by name with SKIP_STATS', () => {
    expect(withSeq(getLinkRequest({ name: 'vx0' }), 11)).toEqual(V.getLinkByName);
  });
});

describe('rtnetlink decoder on the reference vectors', () => {
  it('decodes the fdb nexthop', () => {
    const [m] = decodeMessage(V.fdbNexthop);
    expect(m?.kind).toBe('nexthop');
    if (m?.kind !== 'nexthop') return;
    expect(m.type).toBe(RTM_NEWNEXTHOP);
    expect(m.nexthop).toMatchObject({ id: 9001, family: AF_INET, gateway: '198.51.100.1', fdb: true, blackhole: false });
  });
  it('decodes a group without NHA_OP_FLAGS with pre-6.12 weights (low byte only)', () => {
    const [m] = decodeMessage(V.fdbGroup);
    if (m?.kind !== 'nexthop') throw new Error('not a nexthop');
    expect(m.nexthop.family).toBe(AF_UNSPEC);
    // The request carries no NHA_OP_FLAGS, so weight_high is not trusted: 300 reads as 44.
    expect(m.nexthop.group).toEqual([{ id: 9001, weight: 44 }, { id: 9002, weight: 1 }]);
  });
  it('decodes a group with RESP_GRP_RESVD_0 set with the high byte', () => {
    const withFlags = Buffer.concat([V.fdbGroup, hex('08 00 0e 00 00 00 00 80')]);
    withFlags.writeUInt32LE(withFlags.length, 0);
    const [m] = decodeMessage(withFlags);
    if (m?.kind !== 'nexthop') throw new Error('not a nexthop');
    expect(m.nexthop.group).toEqual([{ id: 9001, weight: 300 }, { id: 9002, weight: 1 }]);
    expect(m.nexthop.opFlags).toBe(0x80000000);
  });
  it('decodes the FDB entry with nhid and the flood entry with dst', () => {
    const [a] = decodeMessage(V.fdbNhid);
    const [b] = decodeMessage(V.fdbFloodAppend);
    if (a?.kind !== 'fdb' || b?.kind !== 'fdb') throw new Error('not fdb');
    expect(a.type).toBe(RTM_NEWNEIGH);
    expect(a.entry).toMatchObject({ family: 7, ifindex: 7, state: 0x42, flags: 2, mac: '02:00:00:00:00:01', nhid: 9100 });
    expect(b.entry).toMatchObject({ mac: '00:00:00:00:00:00', dst: '198.51.100.1', state: 0xc0 });
  });
  it('decodes a real NLMSG_ERROR with extended ack (captured from Linux 6.18)', () => {
    // A group naming a missing member: EINVAL, "Invalid nexthop id".
    const err = hex(
      '64000000020000020200000000000000eaffffff380000006800050602000000000000000000000000000000080001' +
        '00e803000014000200292300002b0100002a230000000000000400 0b0017000100496e76616c6964206e657874686f702069640000',
    );
    const [m] = decodeMessage(err);
    if (m?.kind !== 'error') throw new Error('not an error');
    expect(m.flags & NLM_F_ACK_TLVS).toBeTruthy();
    expect(m.ack).toMatchObject({ errno: 22, requestType: RTM_NEWNEXTHOP, message: 'Invalid nexthop id' });
    const e = new KernelError(m.ack.errno, m.ack.message, m.ack.offset, 'add group');
    expect(e.code).toBe('EINVAL');
    expect(e.message).toBe('add group: EINVAL: Invalid nexthop id');
  });
  it('builders set NLM_F_ACK on every write', () => {
    for (const b of [V.fdbNexthop, V.fdbGroup, V.delNexthop, V.fdbNhid]) expect(b.readUInt16LE(6) & NLM_F_ACK).toBe(NLM_F_ACK);
  });
});

describe('rtnetlink framing details', () => {
  it('decodes a capped success ACK and NLMSG_DONE in one datagram', () => {
    // ACK (error 0, CAPPED: only the request header echoed), then DONE with status 0.
    const ack = hex('24000000 0200 0001 05000000 00000000 00000000 20000000 6900 0500 05000000 00000000');
    const done = hex('14000000 0300 0200 06000000 00000000 00000000');
    const msgs = decodeMessage(Buffer.concat([ack, done]));
    expect(msgs.map((m) => m.kind)).toEqual(['error', 'done']);
    expect(msgs[0]).toMatchObject({ kind: 'error', seq: 5, ack: { errno: 0, requestType: 105, requestSeq: 5 } });
    expect(msgs[1]).toMatchObject({ kind: 'done', status: 0 });
  });

  it('renders flags and states with iproute2 words', async () => {
    const { fdbFlagNames, fdbStateNames, protocolName } = await import('../../../src/lib/rtnetlink/index.js');
    expect(fdbFlagNames(0x02 | 0x10)).toEqual(['self', 'extern_learn']);
    expect(fdbFlagNames(0x04 | 0x40 | 0x20)).toEqual(['offload', 'master', 'sticky']);
    expect(fdbStateNames(0xc0)).toEqual(['permanent']);
    expect(fdbStateNames(0x42)).toEqual(['static']);
    expect(fdbStateNames(0x02)).toEqual([]);
    expect(fdbStateNames(0x04)).toEqual(['stale']);
    expect(fdbStateNames(0x20)).toEqual(['0x20']);
    expect(protocolName(0)).toBe('unspec');
    expect(protocolName(4)).toBe('static');
    expect(protocolName(236)).toBe('236');
  });
});
