import { describe, expect, it } from 'vitest';
import { computePlan } from '../../../src/operator/plan.js';
import { fabricStatus, groupStatus } from '../../../src/operator/status.js';
import type { VtepNodeState } from '../../../src/operator/model.js';
import { fabric, group, node, nodeState } from './fixtures.js';

const now = new Date('2026-11-21T06:00:00.123Z');
const later = new Date('2026-11-21T07:00:00Z');
const threeNodes = [node('node-a', '192.0.2.1'), node('node-b', '192.0.2.2'), node('node-c', '192.0.2.3')];

function setup(generation = 1) {
  const plan = computePlan([fabric('default')], [group('web', {}, { generation })], threeNodes);
  const states = new Map<string, VtepNodeState>();
  const lookup = (n: string) => states.get(n);
  return { plan, states, lookup };
}

describe('groupStatus', () => {
  it('counts a node only when it reports the group Programmed at the current generation', () => {
    const { plan, states, lookup } = setup(4);
    const gp = plan.groups.get('web')!;
    let s = groupStatus(gp, lookup, undefined, now);
    expect(s).toMatchObject({ observedGeneration: 4, nodesReady: 0, nodesTotal: 3, ready: '0/3', vtepCount: 2, macCount: 1 });
    expect(s.conditions![0]).toMatchObject({ type: 'Ready', status: 'False', reason: 'Progressing', observedGeneration: 4, lastTransitionTime: '2026-11-21T06:00:00Z' });

    states.set('node-a', nodeState('node-a', plan.specs.get('node-a'), [['web', 4, 'Programmed']]));
    states.set('node-b', nodeState('node-b', plan.specs.get('node-b'), [['web', 3, 'Programmed']])); // stale generation
    states.set('node-c', nodeState('node-c', plan.specs.get('node-c'), [['web', 4, 'Pending']]));
    s = groupStatus(gp, lookup, s, later);
    expect(s.ready).toBe('1/3');
    expect(s.conditions![0]!.lastTransitionTime).toBe('2026-11-21T06:00:00Z'); // still False: time kept

    states.set('node-b', nodeState('node-b', plan.specs.get('node-b'), [['web', 4, 'Programmed']]));
    states.set('node-c', nodeState('node-c', plan.specs.get('node-c'), [['web', 4, 'Programmed']]));
    s = groupStatus(gp, lookup, s, later);
    expect(s.ready).toBe('3/3');
    expect(s.conditions).toEqual([
      { type: 'Ready', status: 'True', reason: 'Programmed', message: 'programmed on all 3 node(s) at generation 4', observedGeneration: 4, lastTransitionTime: '2026-11-21T07:00:00Z' },
      { type: 'Degraded', status: 'False', reason: 'AsExpected', message: '', observedGeneration: 4, lastTransitionTime: '2026-11-21T06:00:00Z' },
    ]);
  });

  it('drops to 0/N when the group is bumped until nodes report the new generation', () => {
    const { states } = setup(1);
    const bumped = computePlan([fabric('default')], [group('web', {}, { generation: 2 })], threeNodes);
    for (const n of ['node-a', 'node-b', 'node-c']) states.set(n, nodeState(n, bumped.specs.get(n), [['web', 1, 'Programmed']]));
    expect(groupStatus(bumped.groups.get('web')!, (n) => states.get(n), undefined, now).ready).toBe('0/3');
  });

  it('reports nodes that call the group Invalid as Degraded', () => {
    const { plan, states, lookup } = setup(1);
    states.set('node-a', nodeState('node-a', plan.specs.get('node-a'), [['web', 1, 'Invalid']]));
    states.get('node-a')!.status!.groups![0]!.message = 'VXLAN device for VNI 100 has VNI 101';
    const s = groupStatus(plan.groups.get('web')!, lookup, undefined, now);
    expect(s.conditions![1]).toMatchObject({ type: 'Degraded', status: 'True', reason: 'NodesRejected', message: expect.stringContaining('VNI 101') });
  });

  it('reports validation problems: a MAC conflict keeps the group rendered, a missing fabric does not', () => {
    const plan = computePlan([fabric('default')], [group('a'), group('b'), group('lost', { fabric: 'x', macs: ['02:00:00:00:00:09'] })], threeNodes);
    const a = groupStatus(plan.groups.get('a')!, () => undefined, undefined, now);
    expect(a.conditions!.map((c) => [c.type, c.status, c.reason])).toEqual([
      ['Ready', 'False', 'Progressing'],
      ['Degraded', 'True', 'MacConflict'],
    ]);
    const lost = groupStatus(plan.groups.get('lost')!, () => undefined, undefined, now);
    expect(lost).toMatchObject({ nodesTotal: 0, nodesReady: 0, ready: '0/0' });
    expect(lost.conditions!.map((c) => [c.type, c.status, c.reason])).toEqual([
      ['Ready', 'False', 'FabricNotFound'],
      ['Degraded', 'True', 'FabricNotFound'],
    ]);
  });

  it('counts a node whose agent is not reporting as not ready, whatever its last status says', () => {
    const { plan, states, lookup } = setup(1);
    for (const n of ['node-a', 'node-b', 'node-c']) states.set(n, nodeState(n, plan.specs.get(n), [['web', 1, 'Programmed']]));
    const gp = plan.groups.get('web')!;
    expect(groupStatus(gp, lookup, undefined, now, () => true).ready).toBe('3/3');
    const s = groupStatus(gp, lookup, undefined, now, (n) => n !== 'node-b');
    expect(s).toMatchObject({ nodesReady: 2, nodesTotal: 3, ready: '2/3' });
    expect(s.conditions![0]).toMatchObject({ type: 'Ready', status: 'False', reason: 'AgentNotReporting', message: expect.stringContaining('not reporting (node-b)') });
  });

  it('is stable: recomputing an unchanged world yields the stored status', () => {
    const { plan, lookup } = setup(1);
    const first = groupStatus(plan.groups.get('web')!, lookup, undefined, now);
    expect(groupStatus(plan.groups.get('web')!, lookup, first, later)).toEqual(first);
  });
});

describe('fabricStatus', () => {
  it('counts nodes whose agent observed the wanted spec and is Ready; unusable nodes count as selected', () => {
    const plan = computePlan([fabric('default')], [group('web')], [...threeNodes, node('node-x', undefined)]);
    const states = new Map<string, VtepNodeState>();
    const desired = (n: string) => plan.specs.get(n);
    states.set('node-a', nodeState('node-a', plan.specs.get('node-a'), [['web', 1, 'Programmed']], 2));
    const stale = nodeState('node-b', plan.specs.get('node-b'), [], 2);
    stale.status!.observedGeneration = 1; // the agent has not seen the latest spec
    states.set('node-b', stale);
    const oldSpec = nodeState('node-c', { ...plan.specs.get('node-c')!, groups: [] }, []); // spec not yet updated
    states.set('node-c', oldSpec);
    const s = fabricStatus(plan.fabrics.get('default')!, (n) => states.get(n), desired, undefined, now);
    expect(s).toMatchObject({ observedGeneration: 1, nodesTotal: 4, nodesReady: 1, ready: '1/4' });
    expect(s.conditions!.map((c) => [c.type, c.status, c.reason])).toEqual([
      ['Ready', 'False', 'NodesNotReady'],
      ['Degraded', 'True', 'VtepAddressMissing'],
    ]);
    expect(s.conditions![1]!.message).toContain('node-x');
  });

  it('counts a Ready node whose agent stopped reporting as not ready', () => {
    const plan = computePlan([fabric('default')], [group('web')], threeNodes);
    const states = new Map<string, VtepNodeState>();
    for (const n of ['node-a', 'node-b', 'node-c']) states.set(n, nodeState(n, plan.specs.get(n), [['web', 1, 'Programmed']], 2));
    const desired = (n: string) => plan.specs.get(n);
    expect(fabricStatus(plan.fabrics.get('default')!, (n) => states.get(n), desired, undefined, now, () => true).ready).toBe('3/3');
    const s = fabricStatus(plan.fabrics.get('default')!, (n) => states.get(n), desired, undefined, now, (n) => n !== 'node-c');
    expect(s).toMatchObject({ nodesReady: 2, nodesTotal: 3, ready: '2/3' });
    expect(s.conditions![0]!.message).toBe('2 of 3 node(s) ready; the agent of 1 node(s) is not reporting (node-c)');
  });
});
