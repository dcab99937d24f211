import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, formatAction, OFP15, type Action, type FlowMod } from '../../../src/lib/openflow/index.js';

/** A learned MAC as the agent's pipeline writes it: metadata=VNI, dl_dst=dl_src → output:in_port. */
const learn: Action = {
  type: 'learn',
  tableId: 1,
  priority: 150,
  idleTimeout: 300,
  cookie: 0x45564e00ffffffffn,
  specs: [
    { src: { value: 0x64n }, dst: { match: 'OXM_OF_METADATA' }, nBits: 64 },
    { src: { field: 'NXM_OF_ETH_SRC' }, dst: { match: 'NXM_OF_ETH_DST' }, nBits: 48 },
    { src: { field: 'NXM_OF_IN_PORT' }, dst: 'output', nBits: 16 },
  ],
};

function roundTrip(actions: Action[]): Action[] {
  const flowMod: FlowMod = { command: 'add', tableId: 0, priority: 100, cookie: 1n, match: { inPort: 3 }, instructions: [{ type: 'applyActions', actions }] };
  const decoded = decodeMessage(encodeMessage(OFP15, 7, { type: 'flowMod', flowMod }));
  if (decoded.message.type !== 'flowMod') throw new Error('not a flow mod');
  const ins = decoded.message.flowMod.instructions[0];
  if (ins?.type !== 'applyActions') throw new Error('no apply-actions');
  return ins.actions;
}

describe('learn (NXAST_LEARN)', () => {
  it('round-trips, and is spelt as ovs-ofctl spells the fields', () => {
    expect(roundTrip([learn, { type: 'output', port: 2 }])).toEqual([learn, { type: 'output', port: 2 }]);
    expect(formatAction(learn)).toBe('learn(table=1,idle_timeout=300,priority=150,cookie=0x45564e00ffffffff,OXM_OF_METADATA[]=0x64,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],output:NXM_OF_IN_PORT[])');
  });

  it('keeps a learn naming a field it does not model as a raw action, byte for byte', () => {
    const body = Buffer.from(encodeMessage(OFP15, 1, { type: 'flowMod', flowMod: { command: 'add', tableId: 0, cookie: 0n, match: {}, instructions: [{ type: 'applyActions', actions: [learn] }] } }));
    // Point the second spec's source at another NXM field (NXM_OF_VLAN_TCI, 0x00000802).
    const at = body.indexOf(Buffer.from([0x00, 0x00, 0x04, 0x06]));
    body.writeUInt32BE(0x00000802, at);
    const decoded = decodeMessage(body);
    if (decoded.message.type !== 'flowMod') throw new Error('not a flow mod');
    const [action] = (decoded.message.flowMod.instructions[0] as { actions: Action[] }).actions;
    expect(action?.type).toBe('raw');
    const again = decodeMessage(encodeMessage(OFP15, 1, decoded.message));
    expect(again.message).toEqual(decoded.message);
  });

  it('refuses what it cannot encode, naming the field', () => {
    expect(() => roundTrip([{ ...learn, specs: [{ src: { field: 'NXM_NX_REG0' }, dst: 'output' }] }])).toThrow(/learn cannot name field "NXM_NX_REG0"/);
    expect(() => roundTrip([{ ...learn, specs: [{ src: { value: 1n << 16n }, dst: { match: 'NXM_OF_IN_PORT' } }] }])).toThrow(/does not fit in 16 bits/);
  });
});
