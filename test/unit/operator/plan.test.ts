import { describe, expect, it } from 'vitest';
import { computePlan } from '../../../src/operator/plan.js';
import { FABRIC_DEFAULTS } from '../../../src/operator/fabric-settings.js';
import { fabric, group, node } from './fixtures.js';

const nodes = [node('node-a', '192.0.2.1', { zone: 'a' }), node('node-b', '192.0.2.2', { zone: 'b' }), node('node-c', '192.0.2.3', { zone: 'a' })];

describe('computePlan', () => {
  it('renders one spec per selected node with the fabric resolved and the groups that select it', () => {
    const plan = computePlan(
      [fabric('default')],
      [group('web', {}, { generation: 4 }), group('db', { vni: 200, macs: ['02:00:00:00:00:BB'], nodeSelector: { matchLabels: { zone: 'a' } } })],
      nodes,
    );
    expect([...plan.specs.keys()]).toEqual(['node-a', 'node-b', 'node-c']);
    expect(plan.specs.get('node-a')).toEqual({
      fabric: 'default',
      localVtepIP: '192.0.2.1',
      vxlan: FABRIC_DEFAULTS.vxlan,
      ovs: FABRIC_DEFAULTS.ovs,
      kernel: FABRIC_DEFAULTS.kernel,
      groupsFrom: 'Spec',
      groups: [
        { name: 'db', generation: 1, vni: 200, vteps: [{ ip: '198.51.100.2', weight: 3 }, { ip: '198.51.100.3', weight: 1 }], macs: ['02:00:00:00:00:bb'] },
        { name: 'web', generation: 4, vni: 100, vteps: [{ ip: '198.51.100.2', weight: 3 }, { ip: '198.51.100.3', weight: 1 }], macs: ['02:00:00:00:00:aa'] },
      ],
    });
    expect(plan.specs.get('node-b')!.groups.map((g) => g.name)).toEqual(['web']);
    expect(plan.groups.get('db')!.nodes).toEqual(['node-a', 'node-c']);
    expect(plan.groups.get('web')!.nodes).toEqual(['node-a', 'node-b', 'node-c']);
    expect(plan.fabrics.get('default')!.nodes).toEqual(['node-a', 'node-b', 'node-c']);
  });

  it("intersects the fabric's node selector with the group's", () => {
    const plan = computePlan(
      [fabric('default', { nodeSelector: { matchLabels: { zone: 'a' } } })],
      [group('web', { nodeSelector: { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a', 'b'] }] } })],
      nodes,
    );
    expect([...plan.specs.keys()]).toEqual(['node-a', 'node-c']);
    expect(plan.groups.get('web')!.nodes).toEqual(['node-a', 'node-c']);
  });

  it('carries explicit fabric settings into the spec', () => {
    const plan = computePlan(
      [fabric('default', { vxlan: { port: 4790 }, ovs: { bridge: 'br-x', groupIdRange: { start: 1000 } }, kernel: { manage: false } })],
      [],
      [nodes[0]!],
    );
    const spec = plan.specs.get('node-a')!;
    expect(spec.vxlan).toEqual({ port: 4790, mode: 'PerVni', deviceTemplate: 'evpn-{vni}', bridgeTemplate: 'evpnbr-{vni}', device: 'evpn0', bridge: 'evpnbr0' });
    expect(spec.ovs.bridge).toBe('br-x');
    expect(spec.ovs.groupIdRange).toEqual({ start: 1000, size: 65536 });
    expect(spec.kernel.manage).toBe(false);
    expect(spec.groups).toEqual([]);
  });

  it('takes the VTEP address from the annotation when the fabric says so, and reports nodes without one', () => {
    const plan = computePlan(
      [fabric('default', { underlay: { localAddressFrom: 'Annotation' } })],
      [group('web')],
      [
        node('node-a', '192.0.2.1', {}, { 'evpn.ecmp.dev/vtep-ip': '203.0.113.7' }),
        node('node-b', '192.0.2.2'),
        node('node-c', '192.0.2.3', {}, { 'evpn.ecmp.dev/vtep-ip': '2001:db8::1' }),
      ],
    );
    expect(plan.specs.get('node-a')!.localVtepIP).toBe('203.0.113.7');
    expect(plan.specs.has('node-b')).toBe(false);
    expect(plan.specs.has('node-c')).toBe(false);
    expect(plan.nodeProblems.get('node-b')!.reason).toBe('VtepAddressMissing');
    expect(plan.nodeProblems.get('node-c')!.reason).toBe('VtepAddressInvalid');
    expect(plan.fabrics.get('default')!.problems.map((p) => p.node)).toEqual(['node-b', 'node-c']);
    expect(plan.groups.get('web')!.nodes).toEqual(['node-a']);
  });

  it('picks the InternalIP of the fabric family on dual-stack nodes', () => {
    const dual = node('node-a', '2001:db8::a');
    dual.status!.addresses!.push({ type: 'InternalIP', address: '192.0.2.1' });
    const v6 = computePlan([fabric('default', { underlay: { addressFamily: 'IPv6' } })], [], [dual]);
    const v4 = computePlan([fabric('default')], [], [dual]);
    expect(v6.specs.get('node-a')!.localVtepIP).toBe('2001:db8::a');
    expect(v4.specs.get('node-a')!.localVtepIP).toBe('192.0.2.1');
    const none = computePlan([fabric('default')], [], [node('node-x', undefined)]);
    expect(none.nodeProblems.get('node-x')).toMatchObject({ reason: 'VtepAddressMissing', fabric: 'default' });
  });

  it('gives a node selected by two fabrics to the older one', () => {
    const plan = computePlan(
      [fabric('new', {}, { creationTimestamp: '2026-11-21T05:00:00Z' }), fabric('old', {}, { creationTimestamp: '2026-11-20T05:00:00Z' })],
      [],
      [nodes[0]!],
    );
    expect(plan.specs.get('node-a')!.fabric).toBe('old');
    expect(plan.fabrics.get('new')!.problems).toEqual([expect.objectContaining({ node: 'node-a', reason: 'NodeClaimedByOtherFabric' })]);
    expect(plan.nodeProblems.has('node-a')).toBe(false);
  });

  it('does not render groups of a missing fabric, and skips objects being deleted', () => {
    const plan = computePlan(
      [fabric('default'), fabric('gone', {}, { deletionTimestamp: '2026-11-21T03:00:00Z' })],
      [group('orphan', { fabric: 'gone' }), group('web'), group('dying', { vni: 300 }, { deletionTimestamp: '2026-11-21T03:00:00Z' })],
      nodes,
    );
    expect(plan.groups.get('orphan')!.verdict.problems[0]!.reason).toBe('FabricNotFound');
    expect(plan.groups.has('dying')).toBe(false);
    expect(plan.specs.get('node-a')!.groups.map((g) => g.name)).toEqual(['web']);
  });
});
