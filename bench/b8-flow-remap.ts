/**
 * B8 — flow remap: a 4-member equal group carries distinct UDP flows; a
 * fifth member is added; then, from 4 members again, one is removed.
 * Each change is measured against the state just before it. Reported: the
 * fraction of flows whose VTEP changed against the least any scheme must
 * move (1/5 of the flows must reach the new member; the 1/4 on the removed
 * member must leave it). Goal ≤ 2× ideal for every way of programming the
 * group: the default dp_hash with bucketLayout=slots; dp_hash with
 * bucketLayout=weights, whose slots Open vSwitch re-deals on every change
 * (it shows what the slot layout is for); and hash.
 */
import type { Figure } from './lib/report.js';
import { extrasOf, type Scale } from './lib/scale.js';
import { TRAFFIC_VTEPS, type TrafficNode } from './lib/traffic.js';
import { GROUP_SHAPES } from './b7-weight-fidelity.js';

function changed(a: readonly string[], b: readonly string[]): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n += 1;
  return n / a.length;
}

export async function benchFlowRemap(scale: Scale, node: TrafficNode): Promise<Figure[]> {
  const flows = extrasOf(scale).flows;
  const equal = (n: number) => TRAFFIC_VTEPS.slice(0, n).map((ip) => ({ ip, weight: 1 }));
  const figures: Figure[] = [];
  for (const shape of GROUP_SHAPES) {
    const send = async (members: number): Promise<{ chosen: string[]; buckets: number }> => {
      const { buckets } = await node.program(equal(members), shape.method, shape.layout);
      return { chosen: await node.sendFlows(flows), buckets };
    };
    // With slots the agent keeps a group's table and never shrinks it, so the
    // second 4-member state (after 5) can differ from the first: each change
    // is compared with the state it started from.
    const four = await send(4);
    const five = await send(5);
    const fourAgain = await send(4);
    const three = await send(3);
    const cases = [
      { what: 'add a 5th member to 4 equal', from: four, to: five, ideal: 1 / 5 },
      { what: 'remove 1 of 4 equal members', from: fourAgain, to: three, ideal: 1 / 4 },
    ];
    for (const c of cases) {
      // OVS 3.1 hashes exactly the group's `fields` for selection_method=hash;
      // a group without fields hashes nothing and puts every flow on one bucket,
      // and then "nothing moved" says nothing about remapping.
      const degenerate = new Set(c.from.chosen).size === 1
        ? `every flow on one bucket (${c.from.chosen[0]}) before the change: not a remapping result`
        : undefined;
      figures.push({
        bench: 'B8',
        what: `${c.what} (${shape.label}): flows remapped`,
        ours: 100 * changed(c.from.chosen, c.to.chosen),
        peer: 100 * c.ideal,
        peerName: 'ideal',
        unit: '%',
        goal: degenerate ? undefined : { on: 'ratio', max: 2 },
        runs: flows,
        note: degenerate ?? `${c.from.buckets} → ${c.to.buckets} buckets`,
      });
    }
  }
  return figures;
}
