/**
 * B7 — weight fidelity: for the weight sets 3:1, 1:1:1:1, 7:5:3:1 and
 * 100:1, the agent programs the group, distinct UDP flows are sent through
 * it, and each VTEP's share of the flows (counted from the encapsulated
 * frames' outer destination) is compared with its weight's share. Three
 * ways to program the group: dp_hash with the default bucketLayout=slots
 * (equal buckets, one per hash slot, dealt by the agent), dp_hash with
 * bucketLayout=weights (one bucket per VTEP; Open vSwitch deals its slots),
 * and hash. Reported: the largest difference in percentage points (goal for
 * both dp_hash layouts: ≤ 1.5), the shares and bucket count in the note.
 */
import type { Figure } from './lib/report.js';
import { extrasOf, type Scale } from './lib/scale.js';
import { TRAFFIC_VTEPS, type TrafficNode } from './lib/traffic.js';

const WEIGHT_SETS = [[3, 1], [1, 1, 1, 1], [7, 5, 3, 1], [100, 1]];

/**
 * How the group is programmed, the fabric's default first. B7's goal is
 * dp_hash's (hash follows weights far less closely, DESIGN.md §4).
 */
export const GROUP_SHAPES = [
  { method: 'dp_hash', layout: 'slots', label: 'dp_hash, slots (default)', fidelityGoal: true },
  { method: 'dp_hash', layout: 'weights', label: 'dp_hash, weights', fidelityGoal: true },
  { method: 'hash', layout: 'weights', label: 'hash', fidelityGoal: false },
] as const;

export async function benchWeightFidelity(scale: Scale, node: TrafficNode): Promise<Figure[]> {
  const flows = extrasOf(scale).flows;
  const figures: Figure[] = [];
  for (const shape of GROUP_SHAPES) {
    for (const weights of WEIGHT_SETS) {
      const vteps = weights.map((weight, i) => ({ ip: TRAFFIC_VTEPS[i]!, weight }));
      const { buckets } = await node.program(vteps, shape.method, shape.layout);
      const chosen = await node.sendFlows(flows);
      const total = weights.reduce((a, b) => a + b, 0);
      const shares = vteps.map((v) => (100 * chosen.filter((ip) => ip === v.ip).length) / flows);
      const ideal = weights.map((w) => (100 * w) / total);
      const error = Math.max(...shares.map((s, i) => Math.abs(s - ideal[i]!)));
      figures.push({
        bench: 'B7',
        what: `${weights.join(':')} with ${shape.label}: largest share error over ${flows} flows`,
        ours: error,
        unit: 'points',
        goal: shape.fidelityGoal ? { on: 'value', max: 1.5 } : undefined,
        note: `${buckets} buckets; shares ${shares.map((s) => s.toFixed(1)).join('/')} % against ${ideal.map((s) => s.toFixed(1)).join('/')} %`
          + (shares.filter((s) => s > 0).length === 1 ? ' (every flow on one bucket)' : ''),
      });
    }
  }
  return figures;
}
