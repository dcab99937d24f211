import { describe, expect, it } from 'vitest';
import { toBundleMessages } from '../../../src/agent/edge/openflow.js';
import type { OfGroup } from '../../../src/agent/model.js';
import { formatGroupMod } from '../../../src/lib/openflow/index.js';

const cookies = { cookie: 0x45564e0000000000n, cookieMask: 0xffffffff00000000n };

function groupModFor(selectionMethod: OfGroup['selectionMethod']) {
  const group: OfGroup = {
    groupId: 65536,
    selectionMethod,
    buckets: [
      { bucketId: 0, weight: 3, tunDst: '198.51.100.2', outPort: 9 },
      { bucketId: 1, weight: 1, tunDst: '198.51.100.3', outPort: 9 },
    ],
  };
  const [message] = toBundleMessages([{ kind: 'group', command: 'add', group }], cookies);
  if (message?.type !== 'groupMod') throw new Error('expected a group mod');
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
