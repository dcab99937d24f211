import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { groupAppliesTo } from '../../../src/api/membership.js';
import { computePlan, planGroup } from '../../../src/operator/plan.js';
import type { EvpnFabric, Node, VtepGroup } from '../../../src/operator/model.js';

const zones = ['a', 'b', 'c'];

const world = fc.record({
  groups: fc.uniqueArray(
    fc.record({
      name: fc.constantFrom('g0', 'g1', 'g2', 'g3', 'g4', 'g5'),
      fabric: fc.constantFrom('f1', 'f2', 'gone'),
      vni: fc.constantFrom(100, 200),
      zone: fc.option(fc.constantFrom(...zones), { nil: undefined }),
      notZone: fc.option(fc.constantFrom(...zones), { nil: undefined }),
      deleting: fc.boolean(),
      v6: fc.boolean(),
    }),
    { selector: (g) => g.name, maxLength: 6 },
  ),
  nodes: fc.uniqueArray(
    fc.record({ name: fc.constantFrom('n0', 'n1', 'n2', 'n3', 'n4'), zone: fc.constantFrom(...zones), rack: fc.option(fc.constantFrom('r1', 'r2'), { nil: undefined }), hasIp: fc.boolean() }),
    { selector: (n) => n.name, maxLength: 5 },
  ),
  f2Zone: fc.constantFrom(...zones),
  f1Age: fc.integer({ min: 0, max: 2 }),
});

type World = typeof world extends fc.Arbitrary<infer T> ? T : never;

function objects(w: World) {
  const fabrics: EvpnFabric[] = [
    { metadata: { name: 'f1', creationTimestamp: `2026-01-0${w.f1Age + 1}T00:00:00Z`, generation: 1 }, spec: {} },
    { metadata: { name: 'f2', creationTimestamp: '2026-01-02T00:00:00Z', generation: 1 }, spec: { nodeSelector: { matchLabels: { zone: w.f2Zone } } } },
  ];
  const groups: VtepGroup[] = w.groups.map((g, i) => ({
    metadata: { name: g.name, generation: i + 1, ...(g.deleting ? { deletionTimestamp: '2026-03-01T00:00:00Z' } : {}) },
    spec: {
      fabric: g.fabric,
      vni: g.vni,
      vteps: [{ ip: g.v6 ? '2001:db8::1' : '198.51.100.1', weight: 2 }],
      macs: ['02:00:00:00:00:01'],
      ...(g.zone || g.notZone
        ? {
            nodeSelector: {
              ...(g.zone ? { matchLabels: { zone: g.zone } } : {}),
              ...(g.notZone ? { matchExpressions: [{ key: 'zone', operator: 'NotIn' as const, values: [g.notZone] }, { key: 'rack', operator: 'Exists' as const }] } : {}),
            },
          }
        : {}),
    },
  }));
  const nodes: Node[] = w.nodes.map((n, i) => ({
    metadata: { name: n.name, uid: `u-${n.name}`, labels: { zone: n.zone, ...(n.rack ? { rack: n.rack } : {}) } },
    status: { addresses: n.hasIp ? [{ type: 'InternalIP', address: `192.0.2.${i + 1}` }] : [] },
  }));
  return { fabrics, groups, nodes };
}

describe('plan properties', () => {
  it("counts a node in a group's READY denominator exactly when that node's agent takes the group (groupAppliesTo)", () => {
    fc.assert(
      fc.property(world, (w) => {
        const { fabrics, groups, nodes } = objects(w);
        const plan = computePlan(fabrics, nodes);
        // What each agent takes: the groups of the fabric its spec names that apply to its Node.
        const takenBy = new Map<string, string[]>();
        for (const [nodeName, spec] of plan.specs) {
          const labels = nodes.find((n) => n.metadata.name === nodeName)!.metadata.labels;
          takenBy.set(nodeName, groups.filter((g) => groupAppliesTo(g, spec.fabric, labels)).map((g) => g.metadata.name));
        }
        for (const g of groups) {
          const gp = planGroup(g, plan);
          if (g.metadata.deletionTimestamp) {
            expect(gp).toBeUndefined();
            continue;
          }
          const expected = [...takenBy].filter(([, taken]) => taken.includes(g.metadata.name)).map(([n]) => n).sort();
          expect(gp!.nodes).toEqual(expected);
          if (g.spec.fabric === 'gone') expect(gp!.problems.map((p) => p.reason)).toEqual(['FabricNotFound']);
          else expect(gp!.problems.map((p) => p.reason)).toEqual(g.spec.vteps[0]!.ip.includes(':') ? ['AddressFamilyMismatch'] : []);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('gives every node with an address at most one fabric, a spec without groups, and none to nodes without one', () => {
    fc.assert(
      fc.property(world, (w) => {
        const { fabrics, nodes } = objects(w);
        const plan = computePlan(fabrics, nodes);
        for (const n of nodes) {
          const spec = plan.specs.get(n.metadata.name);
          const owners = [...plan.fabrics.values()].filter((fp) => fp.nodes.includes(n.metadata.name));
          expect(owners.length).toBeLessThanOrEqual(1);
          if (!n.status!.addresses!.length) expect(spec).toBeUndefined();
          if (spec) {
            expect(owners.map((o) => o.resolved.name)).toEqual([spec.fabric]);
            expect(spec).toMatchObject({ groupsFrom: 'VtepGroups', groups: [] });
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('does not depend on the order objects arrive in', () => {
    fc.assert(
      fc.property(world, fc.integer(), (w, seed) => {
        const { fabrics, groups, nodes } = objects(w);
        const shuffle = <T>(xs: T[]) => [...xs].sort((a, b) => ((JSON.stringify(a).length * 31 + seed) % 7) - ((JSON.stringify(b).length * 17 + seed) % 5));
        const a = computePlan(fabrics, nodes);
        const b = computePlan(shuffle(fabrics).reverse(), shuffle(nodes).reverse());
        expect(Object.fromEntries(b.specs)).toEqual(Object.fromEntries(a.specs));
        for (const g of groups) expect(planGroup(g, b)?.nodes).toEqual(planGroup(g, a)?.nodes);
      }),
      { numRuns: 200 },
    );
  });
});
