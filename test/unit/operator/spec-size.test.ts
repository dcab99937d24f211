import { describe, expect, it } from 'vitest';
import { computePlan } from '../../../src/operator/plan.js';
import { checkSpecSize, estimateStoredBytes, STORED_SIZE_BUDGET } from '../../../src/operator/spec-size.js';
import { fabricStatus, groupStatus } from '../../../src/operator/status.js';
import type { VtepNodeState } from '../../../src/operator/model.js';
import { fabric, group, node, nodeState } from './fixtures.js';

const now = new Date('2026-11-21T06:00:00Z');
const macs = (from: number, n: number) =>
  Array.from({ length: n }, (_, i) => `02:00:00:${((from + i) >> 16 & 255).toString(16).padStart(2, '0')}:${((from + i) >> 8 & 255).toString(16).padStart(2, '0')}:${((from + i) & 255).toString(16).padStart(2, '0')}`);

describe('VtepNodeState size', () => {
  it('estimates what etcd stores: each MAC twice (spec and managedFields), each group with its status', () => {
    const base = computePlan([fabric('default')], [group('web', { macs: [] })], [node('node-a', '192.0.2.1')]).specs.get('node-a')!;
    const one = estimateStoredBytes('node-a', base).bytes;
    const withMacs = estimateStoredBytes('node-a', { ...base, groups: [{ ...base.groups[0]!, macs: macs(0, 1000) }] }).bytes;
    // "02:00:00:00:00:00", in spec + "v:\"02:00:00:00:00:00\"":{}, in managedFields.
    expect(withMacs - one).toBe(1000 * (20 + 29) - 1); // no comma after the last MAC of the spec list
    const twoGroups = estimateStoredBytes('node-a', { ...base, groups: [...base.groups, { ...base.groups[0]!, name: 'db', vni: 101 }] }).bytes;
    expect(twoGroups - one).toBeGreaterThan(500);
    expect(checkSpecSize('node-a', base)).toBeUndefined();
  });

  it('a node whose spec would not fit is reported on the node, its fabric and the groups that cannot reach it; it keeps its spec', () => {
    // Four groups of 10,000 MACs on node-a (~2 MiB stored): over etcd's 1.5 MiB.
    const big = [0, 1, 2, 3].map((i) => group(`big-${i}`, { vni: 200 + i, macs: macs(i * 10_000, 10_000), nodeSelector: { matchLabels: { role: 'big' } } }));
    const small = group('small', { macs: ['02:aa:00:00:00:01'] });
    const nodes = [node('node-a', '192.0.2.1', { role: 'big' }), node('node-b', '192.0.2.2')];
    const plan = computePlan([fabric('default')], [...big, small], nodes);

    expect([...plan.tooLarge.keys()]).toEqual(['node-a']);
    const problem = plan.tooLarge.get('node-a')!;
    expect(problem.bytes).toBeGreaterThan(STORED_SIZE_BUDGET);
    expect(problem.groups.slice(0, 4).map((g) => g.name).sort()).toEqual(['big-0', 'big-1', 'big-2', 'big-3']);
    // The desired spec is still computed (the controller does not write it); node-b is untouched.
    expect(plan.specs.get('node-a')!.groups).toHaveLength(5);
    expect(plan.specs.get('node-b')!.groups.map((g) => g.name)).toEqual(['small']);
    expect(plan.nodeProblems.get('node-a')).toMatchObject({ reason: 'SpecTooLarge', message: expect.stringMatching(/^node node-a's VtepNodeState would take ~\d+ KiB in etcd, over the 1280 KiB it allows; largest groups: big-\d \(\d+ KiB\), .* and 2 more; the node keeps its previous spec$/) });

    // node-a still holds its earlier spec: `small` at generation 1, no big group.
    const states = new Map<string, VtepNodeState>([
      ['node-a', nodeState('node-a', { ...plan.specs.get('node-a')!, groups: plan.specs.get('node-a')!.groups.filter((g) => g.name === 'small') }, [['small', 1, 'Programmed']])],
      ['node-b', nodeState('node-b', plan.specs.get('node-b'), [['small', 1, 'Programmed']])],
    ]);
    const lookup = (n: string) => states.get(n);
    const bigStatus = groupStatus(plan.groups.get('big-0')!, lookup, undefined, now);
    expect(bigStatus.ready).toBe('0/1');
    expect(bigStatus.conditions!.find((c) => c.type === 'Degraded')).toMatchObject({ status: 'True', reason: 'SpecTooLarge', message: expect.stringMatching(/^generation 1 cannot reach 1 node\(s\) \(node-a\): node node-a's VtepNodeState/) });
    // `small` is live at its generation on node-a: held up nowhere.
    const smallStatus = groupStatus(plan.groups.get('small')!, lookup, undefined, now);
    expect(smallStatus.ready).toBe('2/2');
    expect(smallStatus.conditions!.find((c) => c.type === 'Degraded')).toMatchObject({ status: 'False' });
    // A new generation of `small` cannot reach node-a either.
    const small2 = computePlan([fabric('default')], [...big, group('small', { macs: ['02:aa:00:00:00:02'] }, { generation: 2 })], nodes);
    expect(groupStatus(small2.groups.get('small')!, lookup, undefined, now).conditions!.find((c) => c.type === 'Degraded')).toMatchObject({ status: 'True', reason: 'SpecTooLarge' });

    const fs = fabricStatus(plan.fabrics.get('default')!, lookup, (n) => plan.specs.get(n), undefined, now);
    // Two nodes, not three: node-a is counted once, and not ready (its spec is not the desired one).
    expect(fs).toMatchObject({ nodesTotal: 2, nodesReady: 1 });
    expect(fs.conditions!.find((c) => c.type === 'Degraded')).toMatchObject({ status: 'True', reason: 'SpecTooLarge', message: expect.stringContaining('node node-a') });
  });
});
