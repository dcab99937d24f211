import { describe, expect, it } from 'vitest';
import { Pipeline } from '../../../src/agent/openflow/pipeline.js';
import { formatGroupMod } from '../../../src/lib/openflow/index.js';
import { fabric } from './fixtures.js';

function groupModFor(selectionMethod: 'dp_hash' | 'hash') {
  const pipeline = new Pipeline(fabric().ovs);
  const group = pipeline.weightedGroup(65536, selectionMethod, [{ vtep: '198.51.100.2', weight: 3 }, { vtep: '198.51.100.3', weight: 1 }], 9);
  const message = pipeline.toMessage({ kind: 'group', command: 'add', group });
  if (message.type !== 'groupMod') throw new Error('expected a group mod');
  return message.groupMod;
}

describe('select group selection method on the wire', () => {
  it('dp_hash carries no fields (Open vSwitch refuses them)', () => {
    expect(groupModFor('dp_hash').selectionMethod).toEqual({ name: 'dp_hash' });
  });

  it('hash names the L2-L4 fields, without which every flow takes the first bucket', () => {
    const mod = groupModFor('hash');
    const fields = mod.selectionMethod?.fields?.map((f) => f.field) ?? [];
    expect(fields).toEqual(expect.arrayContaining(['eth_src', 'eth_dst', 'ip_src', 'ip_dst', 'ipv6_src', 'ipv6_dst', 'tcp_src', 'tcp_dst', 'udp_src', 'udp_dst']));
    expect(formatGroupMod(mod)).toContain('selection_method=hash,fields(');
  });
});
