/**
 * B7 — weight fidelity: for the weight sets 3:1, 1:1:1:1, 7:5:3:1 and
 * 100:1, the agent programs the group, distinct UDP flows are sent through
 * it, and each bucket's share of the flows (counted from the encapsulated
 * frames' outer destination) is compared with its weight's share, for both
 * selection methods. Reported: the largest difference in percentage points
 * (goal with the default dp_hash: ≤ 1.5), the shares in the note.
 */
import type { Figure } from './lib/report.js';
import { extrasOf, type Scale } from './lib/scale.js';
import { TRAFFIC_VTEPS, type TrafficNode } from './lib/traffic.js';

const WEIGHT_SETS = [[3, 1], [1, 1, 1, 1], [7, 5, 3, 1], [100, 1]];

export async function benchWeightFidelity(scale: Scale, node: TrafficNode): Promise<Figure[]> {
  const flows = extrasOf(scale).flows;
  const figures: Figure[] = [];
  for (const method of ['dp_hash', 'hash'] as const) {
    for (const weights of WEIGHT_SETS) {
      const vteps = weights.map((weight, i) => ({ ip: TRAFFIC_VTEPS[i]!, weight }));
      await node.program(vteps, method);
      const chosen = await node.sendFlows(flows);
      const total = weights.reduce((a, b) => a + b, 0);
      const shares = vteps.map((v) => (100 * chosen.filter((ip) => ip === v.ip).length) / flows);
      const ideal = weights.map((w) => (100 * w) / total);
      const error = Math.max(...shares.map((s, i) => Math.abs(s - ideal[i]!)));
      figures.push({
        bench: 'B7',
        what: `${weights.join(':')} with ${method}${method === 'dp_hash' ? ' (default)' : ''}: largest share error over ${flows} flows`,
        ours: error,
        unit: 'points',
        goal: method === 'dp_hash' ? { on: 'value', max: 1.5 } : undefined,
        note: `shares ${shares.map((s) => s.toFixed(1)).join('/')} % against ${ideal.map((s) => s.toFixed(1)).join('/')} %`
          + (shares.filter((s) => s > 0).length === 1 ? ' (every flow on one bucket)' : ''),
      });
    }
  }
  return figures;
}
