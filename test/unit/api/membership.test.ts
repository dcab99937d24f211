import { describe, expect, it } from 'vitest';
import { groupAppliesTo, nodeGroupOf, type GroupObject } from '../../../src/api/index.js';

const group = (over: Partial<GroupObject['spec']> = {}, meta: Partial<GroupObject['metadata']> = {}): GroupObject => ({
  metadata: { name: 'web', generation: 3, ...meta },
  spec: { fabric: 'default', vni: 100, vteps: [{ ip: '192.0.2.2', weight: 3 }, { ip: '192.0.2.3' }], macs: ['02:00:00:00:00:AA', '02:00:00:00:00:aa'], ...over },
});

describe('groupAppliesTo', () => {
  it('takes the groups of the node\'s fabric that the group\'s nodeSelector picks', () => {
    expect(groupAppliesTo(group(), 'default', {})).toBe(true);
    expect(groupAppliesTo(group(), 'other', {})).toBe(false);
    const rack1 = group({ nodeSelector: { matchLabels: { rack: '1' } } });
    expect(groupAppliesTo(rack1, 'default', { rack: '1' })).toBe(true);
    expect(groupAppliesTo(rack1, 'default', { rack: '2' })).toBe(false);
    expect(groupAppliesTo(rack1, 'default', undefined)).toBe(false);
  });

  it('says a group being deleted applies nowhere', () => {
    expect(groupAppliesTo(group({}, { deletionTimestamp: '2026-12-07T00:00:00Z' }), 'default', {})).toBe(false);
  });
});

describe('nodeGroupOf', () => {
  it('defaults weights, lower-cases MACs once each and stamps the generation', () => {
    expect(nodeGroupOf(group())).toEqual({
      name: 'web',
      generation: 3,
      vni: 100,
      vteps: [{ ip: '192.0.2.2', weight: 3 }, { ip: '192.0.2.3', weight: 1 }],
      macs: ['02:00:00:00:00:aa'],
    });
  });
});
