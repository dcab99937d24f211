import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { computePlan } from '../../../src/operator/plan.js';
import { selects } from '../../../src/api/selector.js';
import type { EvpnFabric, Node, VtepGroup } from '../../../src/operator/model.js';

const macPool = Array.from({ length: 12 }, (_, i) => `02:00:00:00:00:${i.toString(16).padStart(2, '0')}`);
const zones = ['a', 'b', 'c'];

const world = fc.record({
  groups: fc.uniqueArray(
    fc.record({
      name: fc.constantFrom('g0', 'g1', 'g2', 'g3', 'g4', 'g5'),
      fabric: fc.constantFrom('f1', 'f2', 'gone'),
      vni: fc.constantFrom(100, 200),
      macs: fc.uniqueArray(fc.constantFrom(...macPool), { maxLength: 4 }),
      zone: fc.option(fc.constantFrom(...zones), { nil: undefined }),
      age: fc.integer({ min: 0, max: 5 }),
      v6: fc.boolean(),
    }),
    { selector: (g) => g.name, maxLength: 6 },
  ),
  nodes: fc.uniqueArray(
    fc.record({ name: fc.constantFrom('n0', 'n1', 'n2', 'n3', 'n4'), zone: fc.constantFrom(...zones), hasIp: fc.boolean() }),
    { selector: (n) => n.name, maxLength: 5 },
  ),
  f2Zone: fc.constantFrom(...zones),
  groupIdRangeSize: fc.integer({ min: 1, max: 12 }),
});

type World = typeof world extends fc.Arbitrary<infer T> ? T : never;

function objects(w: World) {
  const fabrics: EvpnFabric[] = [
    { metadata: { name: 'f1', creationTimestamp: '2026-01-01T00:00:00Z', generation: 1 }, spec: { ovs: { groupIdRange: { start: 1, size: w.groupIdRangeSize } } } },
    { metadata: { name: 'f2', creationTimestamp: '2026-01-02T00:00:00Z', generation: 1 }, spec: { nodeSelector: { matchLabels: { zone: w.f2Zone } } } },
  ];
  const groups: VtepGroup[] = w.groups.map((g, i) => ({
    metadata: { name: g.name, generation: i + 1, creationTimestamp: `2026-02-0${g.age + 1}T00:00:00Z` },
    spec: {
      fabric: g.fabric,
      vni: g.vni,
      vteps: [{ ip: g.v6 ? '2001:db8::1' : '198.51.100.1', weight: 2 }],
      macs: g.macs,
      ...(g.zone ? { nodeSelector: { matchLabels: { zone: g.zone } } } : {}),
    },
  }));
  const nodes: Node[] = w.nodes.map((n, i) => ({
    metadata: { name: n.name, uid: `u-${n.name}`, labels: { zone: n.zone } },
    status: { addresses: n.hasIp ? [{ type: 'InternalIP', address: `192.0.2.${i + 1}` }] : [] },
  }));
  return { fabrics, groups, nodes };
}

describe('computePlan properties', () => {
  it('never renders a MAC twice in one VNI of a node, and renders exactly the selected, valid groups', () => {
    fc.assert(
      fc.property(world, (w) => {
        const { fabrics, groups, nodes } = objects(w);
        const plan = computePlan(fabrics, groups, nodes);
        for (const [nodeName, spec] of plan.specs) {
          const seen = new Set<string>();
          for (const g of spec.groups) {
            for (const mac of g.macs) {
              const key = `${g.vni}/${mac}`;
              expect(seen.has(key)).toBe(false);
              seen.add(key);
            }
          }
          // The groups on a node are exactly the rendered groups of its fabric whose selector matches.
          const node = nodes.find((n) => n.metadata.name === nodeName)!;
          const expected = groups
            .filter((g) => g.spec.fabric === spec.fabric && plan.groups.get(g.metadata.name)!.verdict.rendered && selects(g.spec.nodeSelector, node.metadata.labels))
            .map((g) => g.metadata.name)
            .sort();
          expect(spec.groups.map((g) => g.name)).toEqual(expected);
        }
        // Every node with a spec belongs to exactly one fabric; nodes without an address have none.
        for (const n of nodes) {
          if (!n.status!.addresses!.length) expect(plan.specs.has(n.metadata.name)).toBe(false);
        }
        // A group is rendered iff it has no problem other than MacConflict.
        for (const gp of plan.groups.values()) {
          expect(gp.verdict.rendered).toBe(gp.verdict.problems.every((p) => p.reason === 'MacConflict'));
          if (gp.group.spec.fabric === 'gone') expect(gp.verdict.problems[0]!.reason).toBe('FabricNotFound');
        }
      }),
      { numRuns: 300 },
    );
  });

  it('does not depend on the order objects arrive in', () => {
    fc.assert(
      fc.property(world, fc.integer(), (w, seed) => {
        const { fabrics, groups, nodes } = objects(w);
        const shuffle = <T>(xs: T[]) => [...xs].sort((a, b) => ((JSON.stringify(a).length * 31 + seed) % 7) - ((JSON.stringify(b).length * 17 + seed) % 5));
        const a = computePlan(fabrics, groups, nodes);
        const b = computePlan(shuffle(fabrics).reverse(), shuffle(groups).reverse(), shuffle(nodes).reverse());
        expect(Object.fromEntries(b.specs)).toEqual(Object.fromEntries(a.specs));
        expect([...b.groups.values()].map((g) => [g.group.metadata.name, g.verdict, g.nodes]).sort()).toEqual(
          [...a.groups.values()].map((g) => [g.group.metadata.name, g.verdict, g.nodes]).sort(),
        );
      }),
      { numRuns: 200 },
    );
  });
});
