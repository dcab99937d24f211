import { describe, expect, it } from 'vitest';
import { canonicalGroup, canonicalMatch, flowIdentity, groupKey } from '../../../src/lib/openflow/canonical.js';
import { formatFlow, formatGroup, formatMatch } from '../../../src/lib/openflow/format.js';
import type { FlowStats, GroupDesc, GroupMod } from '../../../src/lib/openflow/index.js';

const out = (port: number) => ({ type: 'output' as const, port });

describe('canonical forms', () => {
  it('treats a select bucket without weight as weight 1 and a missing bucket id as its position', () => {
    const desired: GroupMod = { command: 'add', type: 'select', groupId: 5, buckets: [{ actions: [out(1)] }, { weight: 3, actions: [out(2)] }] };
    const installed: GroupDesc = { groupId: 5, type: 'select', buckets: [{ bucketId: 0, weight: 1, actions: [out(1)] }, { bucketId: 1, weight: 3, actions: [out(2)] }] };
    expect(groupKey(desired)).toBe(groupKey(installed));
    expect(canonicalGroup(desired).buckets.map((b) => [b.bucketId, b.weight])).toEqual([[0, 1], [1, 3]]);
    expect(groupKey({ ...desired, buckets: [{ weight: 2, actions: [out(1)] }, desired.buckets[1]!] })).not.toBe(groupKey(installed));
  });

  it('spells addresses and masks one way', () => {
    const a = { groupId: 1, type: 'all' as const, buckets: [{ actions: [{ type: 'setField' as const, field: 'tun_ipv6_dst', value: '2001:DB8:0:0::1' }] }] };
    const b = { groupId: 1, type: 'all' as const, buckets: [{ bucketId: 0, actions: [{ type: 'setField' as const, field: 'tun_ipv6_dst', value: '2001:db8::1' }] }] };
    expect(groupKey(a)).toBe(groupKey(b));
    expect(formatMatch({ metadata: { value: 0x1234n, mask: 0xffn } })).toBe('metadata=0x1234/0xff');
    const f = (metadata: FlowStats['match']['metadata']) => flowIdentity({ tableId: 1, priority: 5, cookie: 0n, match: { metadata }, instructions: [] });
    // Bits outside the mask do not matter; an all-ones mask is an exact match.
    expect(f({ value: 0x1234n, mask: 0xffn })).toBe(f({ value: 0x34n, mask: 0xffn }));
    expect(f({ value: 7n, mask: 0xffffffffffffffffn })).toBe(f(7n));
  });

  it('formats like ovs-ofctl', () => {
    expect(formatGroup({ groupId: 1, type: 'select', selectionMethod: { name: 'dp_hash' }, buckets: [{ bucketId: 0, weight: 100, actions: [{ type: 'setField', field: 'tun_id', value: 0x64n }, out(5)] }, { bucketId: 1, weight: 1, actions: [] }] })).toBe(
      'group_id=1,type=select,selection_method=dp_hash,bucket=bucket_id:0,weight:100,actions=set_field:0x64->tun_id,output:5,bucket=bucket_id:1,actions=drop',
    );
    expect(formatFlow({ tableId: 0, priority: 0x8000, cookie: 0n, match: {}, instructions: [] })).toBe('cookie=0x0, table=0, actions=drop');
    // For logs and status: every select bucket's weight, the default 1 included; other group types keep their form.
    const twoPaths = { groupId: 2, type: 'select' as const, buckets: [{ bucketId: 0, weight: 1, actions: [out(5)] }, { bucketId: 1, weight: 3, actions: [out(6)] }] };
    expect(formatGroup(twoPaths, { explicitWeights: true })).toBe('group_id=2,type=select,bucket=bucket_id:0,weight:1,actions=output:5,bucket=bucket_id:1,weight:3,actions=output:6');
    expect(formatGroup(twoPaths)).toBe('group_id=2,type=select,bucket=bucket_id:0,actions=output:5,bucket=bucket_id:1,weight:3,actions=output:6');
    expect(formatGroup({ groupId: 3, type: 'all', buckets: [{ bucketId: 0, weight: 0, actions: [out(1)] }] }, { explicitWeights: true })).toBe('group_id=3,type=all,bucket=bucket_id:0,actions=output:1');
    expect(formatMatch({ ethType: 0x0800, ipProto: 17, udpDst: 4789, inPort: 1, ipv4Dst: { value: '10.0.0.0', mask: '255.0.0.0' } })).toBe('udp,in_port=1,nw_dst=10.0.0.0/8,tp_dst=4789');
    // Whatever order the fields were set in, and however a MAC is spelt: ovs-ofctl's order and spelling.
    const scrambled = { ethDst: '02:00:00:00:00:AA', inPort: 3, metadata: { value: 5n, mask: 0xffffffffffffffffn }, tunnelId: 100n };
    expect(formatMatch(canonicalMatch(scrambled))).toBe('tun_id=0x64,metadata=0x5,in_port=3,dl_dst=02:00:00:00:00:aa');
    expect(canonicalMatch({ ethDst: '2:0:0:0:0:aa', metadata: 5n })).toEqual({ metadata: 5n, ethDst: '02:00:00:00:00:aa' });
  });
});
