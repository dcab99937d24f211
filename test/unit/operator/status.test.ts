import { describe, expect, it } from 'vitest';
import { NodeReports } from '../../../src/operator/node-reports.js';
import { computePlan, planGroup } from '../../../src/operator/plan.js';
import { fabricStatus, groupStatus } from '../../../src/operator/status.js';
import type { VtepGroup, VtepNodeState } from '../../../src/operator/model.js';
import { fabric, group, node, nodeState } from './fixtures.js';

const now = new Date('2026-11-21T06:00:00.123Z');
const later = new Date('2026-11-21T07:00:00Z');
const threeNodes = [node('node-a', '192.0.2.1'), node('node-b', '192.0.2.2'), node('node-c', '192.0.2.3')];
const plan = computePlan([fabric('default')], threeNodes);

/** The world as the controller sees it: the plan, and the nodes' reports indexed. */
function setup(g: VtepGroup = group('web')) {
  const reports = new NodeReports();
  const lookup = (n: string, name: string) => reports.report(n, name);
  const report = (n: string, groups: Array<[string, number, 'Programmed' | 'Pending' | 'Invalid', string?]>) => {
    const state = nodeState(n, plan.specs.get(n), groups.map(([name, gen, st]) => [name, gen, st]));
    groups.forEach(([, , , message], i) => {
      if (message !== undefined) state.status!.groups![i]!.message = message;
    });
    return reports.observe(state);
  };
  return { gp: planGroup(g, plan)!, lookup, report };
}

const summary = (s: ReturnType<typeof groupStatus>) => s.conditions!.map((c) => [c.type, c.status, c.reason]);

describe('groupStatus', () => {
  it('counts a node only when it reports the group Programmed at the current generation', () => {
    const { gp, lookup, report } = setup(group('web', {}, { generation: 4 }));
    let s = groupStatus(gp, lookup, undefined, now);
    expect(s).toMatchObject({ observedGeneration: 4, nodesReady: 0, nodesTotal: 3, ready: '0/3', vtepCount: 2, macCount: 1 });
    expect(s.conditions![0]).toMatchObject({ type: 'Ready', status: 'False', reason: 'Progressing', observedGeneration: 4, lastTransitionTime: '2026-11-21T06:00:00Z' });

    report('node-a', [['web', 4, 'Programmed']]);
    report('node-b', [['web', 3, 'Programmed']]); // stale generation
    report('node-c', [['web', 4, 'Pending']]);
    s = groupStatus(gp, lookup, s, later);
    expect(s.ready).toBe('1/3');
    expect(s.conditions![0]!.lastTransitionTime).toBe('2026-11-21T06:00:00Z'); // still False: time kept

    report('node-b', [['web', 4, 'Programmed']]);
    report('node-c', [['web', 4, 'Programmed']]);
    s = groupStatus(gp, lookup, s, later);
    expect(s.ready).toBe('3/3');
    expect(s.conditions).toEqual([
      { type: 'Ready', status: 'True', reason: 'Programmed', message: 'programmed on all 3 node(s) at generation 4', observedGeneration: 4, lastTransitionTime: '2026-11-21T07:00:00Z' },
      { type: 'Degraded', status: 'False', reason: 'AsExpected', message: '', observedGeneration: 4, lastTransitionTime: '2026-11-21T06:00:00Z' },
    ]);
  });

  it('drops to 0/N when the group is bumped until nodes report the new generation', () => {
    const { lookup, report } = setup();
    for (const n of ['node-a', 'node-b', 'node-c']) report(n, [['web', 1, 'Programmed']]);
    const bumped = planGroup(group('web', {}, { generation: 2 }), plan)!;
    expect(groupStatus(bumped, lookup, undefined, now).ready).toBe('0/3');
  });

  it('rolls up what nodes refuse: Degraded with how many, which, and the first reasons', () => {
    const { gp, lookup, report } = setup();
    report('node-a', [['web', 1, 'Invalid', 'MacConflict: MAC 02:00:00:00:00:aa on VNI 100 claimed by two groups: withheld from both']]);
    report('node-b', [['web', 1, 'Invalid', 'MacConflict: MAC 02:00:00:00:00:aa on VNI 100 claimed by two groups: withheld from both']]);
    // A refused new version keeps the last good one: its appliedGeneration is the old one, and it still counts.
    report('node-c', [['web', 0, 'Invalid', 'IdRangeExhausted: kernel.nexthopIdRange is exhausted; keeping generation 0']]);
    const s = groupStatus(gp, lookup, undefined, now);
    expect(s.ready).toBe('0/3');
    expect(summary(s)).toEqual([
      ['Ready', 'False', 'NodesRejected'],
      ['Degraded', 'True', 'MacConflict'],
    ]);
    expect(s.conditions![1]!.message).toBe(
      '3 of 3 node(s) report the group Invalid: MacConflict on 2 (node-a, node-b): MAC 02:00:00:00:00:aa on VNI 100 claimed by two groups: withheld from both; ' +
        'IdRangeExhausted on 1 (node-c): kernel.nexthopIdRange is exhausted; keeping generation 0',
    );
  });

  it('calls a refusal without a reason of its own Invalid, and keeps Progressing while other nodes have not answered', () => {
    const { gp, lookup, report } = setup();
    report('node-a', [['web', 1, 'Invalid', 'VXLAN device for VNI 100 has VNI 101']]);
    report('node-b', [['web', 1, 'Programmed']]);
    const s = groupStatus(gp, lookup, undefined, now);
    expect(summary(s)).toEqual([
      ['Ready', 'False', 'Progressing'],
      ['Degraded', 'True', 'Invalid'],
    ]);
    expect(s.conditions![1]!.message).toBe('1 of 3 node(s) report the group Invalid: Invalid on 1 (node-a): VXLAN device for VNI 100 has VNI 101');
  });

  it('recovers once no node refuses the group any more', () => {
    const { gp, lookup, report } = setup();
    report('node-a', [['web', 1, 'Invalid', 'MacConflict: MAC 02:00:00:00:00:aa ...']]);
    const degraded = groupStatus(gp, lookup, undefined, now);
    report('node-a', [['web', 1, 'Programmed']]);
    const s = groupStatus(gp, lookup, degraded, later);
    expect(s.conditions![1]).toMatchObject({ type: 'Degraded', status: 'False', reason: 'AsExpected', lastTransitionTime: '2026-11-21T07:00:00Z' });
  });

  it("reports its fabric's verdicts: a missing fabric (no nodes), VTEPs of the wrong family", () => {
    const lost = setup(group('lost', { fabric: 'x', macs: ['02:00:00:00:00:09', '02:00:00:00:00:0A', '02:00:00:00:00:0a'] }));
    const s = groupStatus(lost.gp, lost.lookup, undefined, now);
    expect(s).toMatchObject({ nodesTotal: 0, nodesReady: 0, ready: '0/0', macCount: 2 });
    expect(summary(s)).toEqual([
      ['Ready', 'False', 'FabricNotFound'],
      ['Degraded', 'True', 'FabricNotFound'],
    ]);
    const v6 = setup(group('v6', { vteps: [{ ip: '2001:db8::2' }] }));
    const t = groupStatus(v6.gp, v6.lookup, undefined, now);
    expect(t).toMatchObject({ nodesTotal: 3, ready: '0/3' });
    expect(summary(t)).toEqual([
      ['Ready', 'False', 'AddressFamilyMismatch'],
      ['Degraded', 'True', 'AddressFamilyMismatch'],
    ]);
    expect(t.conditions![0]!.message).toBe('VTEP 2001:db8::2 not IPv4 as fabric default requires; programmed on 0 of 3 node(s) at generation 1');
  });

  it('counts a node whose agent is not reporting as not ready, whatever its last status says', () => {
    const { gp, lookup, report } = setup();
    for (const n of ['node-a', 'node-b', 'node-c']) report(n, [['web', 1, 'Programmed']]);
    expect(groupStatus(gp, lookup, undefined, now, () => true).ready).toBe('3/3');
    const s = groupStatus(gp, lookup, undefined, now, (n) => n !== 'node-b');
    expect(s).toMatchObject({ nodesReady: 2, nodesTotal: 3, ready: '2/3' });
    expect(s.conditions![0]).toMatchObject({ type: 'Ready', status: 'False', reason: 'AgentNotReporting', message: expect.stringContaining('not reporting (node-b)') });
  });

  it('is stable: recomputing an unchanged world yields the stored status', () => {
    const { gp, lookup } = setup();
    const first = groupStatus(gp, lookup, undefined, now);
    expect(groupStatus(gp, lookup, first, later)).toEqual(first);
  });
});

describe('NodeReports', () => {
  it('names the groups whose entry appeared, changed or went, and nothing else', () => {
    const reports = new NodeReports();
    const state = (groups: Array<[string, number, 'Programmed' | 'Pending' | 'Invalid']>) => nodeState('node-a', plan.specs.get('node-a'), groups);
    expect(reports.observe(state([['a', 1, 'Pending'], ['b', 1, 'Pending']])).sort()).toEqual(['a', 'b']);
    expect(reports.observe(state([['a', 1, 'Programmed'], ['b', 1, 'Pending']]))).toEqual(['a']);
    expect(reports.observe(state([['a', 1, 'Programmed'], ['b', 1, 'Pending']]))).toEqual([]);
    const withMessage = state([['a', 1, 'Programmed'], ['b', 1, 'Pending']]);
    withMessage.status!.groups![1]!.message = 'waiting for OVS';
    expect(reports.observe(withMessage)).toEqual(['b']);
    expect(reports.observe(state([['b', 2, 'Pending'], ['c', 1, 'Pending']])).sort()).toEqual(['a', 'b', 'c']);
    expect(reports.report('node-a', 'b')).toMatchObject({ appliedGeneration: 2, state: 'Pending' });
    expect(reports.report('node-a', 'a')).toBeUndefined();
    expect(reports.groupsOf('node-a').sort()).toEqual(['b', 'c']);
    expect(reports.forget('node-a').sort()).toEqual(['b', 'c']);
    expect(reports.report('node-a', 'b')).toBeUndefined();
  });
});

describe('fabricStatus', () => {
  it('counts nodes whose agent observed the wanted spec and is Ready; unusable nodes count as selected', () => {
    const p = computePlan([fabric('default')], [...threeNodes, node('node-x', undefined)]);
    const states = new Map<string, VtepNodeState>();
    const desired = (n: string) => p.specs.get(n);
    states.set('node-a', nodeState('node-a', p.specs.get('node-a'), [['web', 1, 'Programmed']], 2));
    const stale = nodeState('node-b', p.specs.get('node-b'), [], 2);
    stale.status!.observedGeneration = 1; // the agent has not seen the latest spec
    states.set('node-b', stale);
    const oldSpec = nodeState('node-c', { ...p.specs.get('node-c')!, groupsFrom: 'Spec' }, []); // spec not yet updated
    states.set('node-c', oldSpec);
    const s = fabricStatus(p.fabrics.get('default')!, (n) => states.get(n), desired, undefined, now);
    expect(s).toMatchObject({ observedGeneration: 1, nodesTotal: 4, nodesReady: 1, ready: '1/4' });
    expect(s.conditions!.map((c) => [c.type, c.status, c.reason])).toEqual([
      ['Ready', 'False', 'NodesNotReady'],
      ['Degraded', 'True', 'VtepAddressMissing'],
    ]);
    expect(s.conditions![1]!.message).toContain('node-x');
  });

  it('counts a Ready node whose agent stopped reporting as not ready', () => {
    const states = new Map<string, VtepNodeState>();
    for (const n of ['node-a', 'node-b', 'node-c']) states.set(n, nodeState(n, plan.specs.get(n), [['web', 1, 'Programmed']], 2));
    const desired = (n: string) => plan.specs.get(n);
    expect(fabricStatus(plan.fabrics.get('default')!, (n) => states.get(n), desired, undefined, now, () => true).ready).toBe('3/3');
    const s = fabricStatus(plan.fabrics.get('default')!, (n) => states.get(n), desired, undefined, now, (n) => n !== 'node-c');
    expect(s).toMatchObject({ nodesReady: 2, nodesTotal: 3, ready: '2/3' });
    expect(s.conditions![0]!.message).toBe('2 of 3 node(s) ready; the agent of 1 node(s) is not reporting (node-c)');
  });
});
