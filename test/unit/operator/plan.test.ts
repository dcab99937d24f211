import { describe, expect, it } from 'vitest';
import { computePlan, planGroup } from '../../../src/operator/plan.js';
import { FABRIC_DEFAULTS } from '../../../src/operator/fabric-settings.js';
import { fabric, group, node } from './fixtures.js';

const nodes = [node('node-a', '192.0.2.1', { zone: 'a' }), node('node-b', '192.0.2.2', { zone: 'b' }), node('node-c', '192.0.2.3', { zone: 'a' })];

describe('computePlan', () => {
  it('renders one spec per selected node: the fabric resolved, groupsFrom VtepGroups, no groups', () => {
    const plan = computePlan([fabric('default')], nodes);
    expect([...plan.specs.keys()]).toEqual(['node-a', 'node-b', 'node-c']);
    expect(plan.specs.get('node-a')).toEqual({
      fabric: 'default',
      localVtepIP: '192.0.2.1',
      vxlan: FABRIC_DEFAULTS.vxlan,
      ovs: FABRIC_DEFAULTS.ovs,
      kernel: FABRIC_DEFAULTS.kernel,
      groupsFrom: 'VtepGroups',
      groups: [],
    });
    expect(plan.fabrics.get('default')!.nodes).toEqual(['node-a', 'node-b', 'node-c']);
  });

  it('carries explicit fabric settings into the spec', () => {
    const plan = computePlan([fabric('default', { vxlan: { port: 4790 }, ovs: { bridge: 'br-x', groupIdRange: { start: 1000 } }, kernel: { manage: false } })], [nodes[0]!]);
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
    // A node without an address is in no group's READY denominator.
    expect(planGroup(group('web'), plan)!.nodes).toEqual(['node-a']);
  });

  it('picks the InternalIP of the fabric family on dual-stack nodes', () => {
    const dual = node('node-a', '2001:db8::a');
    dual.status!.addresses!.push({ type: 'InternalIP', address: '192.0.2.1' });
    const v6 = computePlan([fabric('default', { underlay: { addressFamily: 'IPv6' } })], [dual]);
    const v4 = computePlan([fabric('default')], [dual]);
    expect(v6.specs.get('node-a')!.localVtepIP).toBe('2001:db8::a');
    expect(v4.specs.get('node-a')!.localVtepIP).toBe('192.0.2.1');
    const none = computePlan([fabric('default')], [node('node-x', undefined)]);
    expect(none.nodeProblems.get('node-x')).toMatchObject({ reason: 'VtepAddressMissing', fabric: 'default' });
  });

  it('gives a node selected by two fabrics to the older one', () => {
    const plan = computePlan([fabric('new', {}, { creationTimestamp: '2026-11-21T05:00:00Z' }), fabric('old', {}, { creationTimestamp: '2026-11-20T05:00:00Z' })], [nodes[0]!]);
    expect(plan.specs.get('node-a')!.fabric).toBe('old');
    expect(plan.fabrics.get('new')!.problems).toEqual([expect.objectContaining({ node: 'node-a', reason: 'NodeClaimedByOtherFabric' })]);
    expect(plan.nodeProblems.has('node-a')).toBe(false);
  });

  it('skips fabrics and nodes being deleted', () => {
    const plan = computePlan(
      [fabric('default'), fabric('gone', {}, { deletionTimestamp: '2026-11-21T03:00:00Z' })],
      [...nodes, node('node-d', '192.0.2.4', {}, {})].map((n) => (n.metadata.name === 'node-d' ? { ...n, metadata: { ...n.metadata, deletionTimestamp: '2026-11-21T03:00:00Z' } } : n)),
    );
    expect([...plan.fabrics.keys()]).toEqual(['default']);
    expect(plan.specs.has('node-d')).toBe(false);
  });
});

describe('planGroup', () => {
  const plan = computePlan([fabric('default'), fabric('other', { nodeSelector: { matchLabels: { zone: 'none' } } }, { creationTimestamp: '2026-11-22T00:00:00Z' })], nodes);

  it("takes the nodes of the group's fabric its selector picks", () => {
    expect(planGroup(group('web'), plan)).toMatchObject({ problems: [], nodes: ['node-a', 'node-b', 'node-c'] });
    expect(planGroup(group('db', { nodeSelector: { matchLabels: { zone: 'a' } } }), plan)!.nodes).toEqual(['node-a', 'node-c']);
    expect(planGroup(group('db', { nodeSelector: { matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] } }), plan)!.nodes).toEqual(['node-b']);
    // A fabric that serves no node: the group applies to none.
    expect(planGroup(group('elsewhere', { fabric: 'other' }), plan)!.nodes).toEqual([]);
  });

  it("intersects the fabric's node selector with the group's", () => {
    const narrow = computePlan([fabric('default', { nodeSelector: { matchLabels: { zone: 'a' } } })], nodes);
    expect([...narrow.specs.keys()]).toEqual(['node-a', 'node-c']);
    expect(planGroup(group('web', { nodeSelector: { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a', 'b'] }] } }), narrow)!.nodes).toEqual(['node-a', 'node-c']);
  });

  it('reports a missing fabric (no nodes) and VTEPs of the wrong family (the nodes stay: their agents refuse it)', () => {
    expect(planGroup(group('orphan', { fabric: 'gone' }), plan)).toMatchObject({ nodes: [], problems: [{ reason: 'FabricNotFound', message: 'EvpnFabric "gone" does not exist' }] });
    const v6 = planGroup(group('v6', { vteps: [{ ip: '2001:db8::2' }, { ip: '198.51.100.2' }] }), plan)!;
    expect(v6.nodes).toEqual(['node-a', 'node-b', 'node-c']);
    expect(v6.problems).toEqual([{ reason: 'AddressFamilyMismatch', message: 'VTEP 2001:db8::2 not IPv4 as fabric default requires' }]);
  });

  it('has nothing to say about a group being deleted', () => {
    expect(planGroup(group('dying', {}, { deletionTimestamp: '2026-11-21T03:00:00Z' }), plan)).toBeUndefined();
  });

  it('never compares groups: two groups with one MAC in one VNI are each fine (their nodes decide)', () => {
    const a = planGroup(group('a', { macs: ['02:00:00:00:00:01'] }), plan)!;
    const b = planGroup(group('b', { macs: ['02:00:00:00:00:01'] }), plan)!;
    expect([a.problems, b.problems]).toEqual([[], []]);
  });
});
