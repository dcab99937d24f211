/**
 * B8 — flow remap: a 4-member equal group carries distinct UDP flows; then a
 * fifth member is added, and (from the 4-member group) one member is
 * removed. Reported: the fraction of flows whose VTEP changed against the
 * least any scheme must move (1/5 of the flows must reach the new member;
 * the 1/4 on the removed member must leave it). Goal ≤ 2× ideal.
 */
import type { Figure } from './lib/report.js';
import { extrasOf, type Scale } from './lib/scale.js';
import { TRAFFIC_VTEPS, type TrafficNode } from './lib/traffic.js';

function changed(a: readonly string[], b: readonly string[]): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n += 1;
  return n / a.length;
}

export async function benchFlowRemap(scale: Scale, node: TrafficNode): Promise<Figure[]> {
  const flows = extrasOf(scale).flows;
  const equal = (n: number) => TRAFFIC_VTEPS.slice(0, n).map((ip) => ({ ip, weight: 1 }));
  const figures: Figure[] = [];
  for (const method of ['dp_hash', 'hash'] as const) {
    await node.program(equal(4), method);
    const four = await node.sendFlows(flows);
    await node.program(equal(5), method);
    const five = await node.sendFlows(flows);
    await node.program(equal(3), method);
    const three = await node.sendFlows(flows);
    const cases = [
      { what: 'add a 5th member to 4 equal', fraction: changed(four, five), ideal: 1 / 5 },
      { what: 'remove 1 of 4 equal members', fraction: changed(four, three), ideal: 1 / 4 },
    ];
    // OVS 3.1 hashes exactly the group's `fields` for selection_method=hash;
    // a group without fields hashes nothing and puts every flow on one bucket,
    // and then "nothing moved" says nothing about remapping.
    const spread = new Set(four).size;
    const degenerate = spread === 1 ? `every flow on one bucket (${four[0]}) before the change: not a remapping result` : undefined;
    for (const c of cases) {
      figures.push({
        bench: 'B8',
        what: `${c.what} (${method}${method === 'dp_hash' ? ', default' : ''}): flows remapped`,
        ours: 100 * c.fraction,
        peer: 100 * c.ideal,
        peerName: 'ideal',
        unit: '%',
        goal: degenerate ? undefined : { on: 'ratio', max: 2 },
        runs: flows,
        note: degenerate,
      });
    }
  }
  return figures;
}
