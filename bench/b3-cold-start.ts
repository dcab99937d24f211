/**
 * B3 — agent cold start: the kernel already holds B1's state (installed by
 * "another" control plane, so the agent mirrors it); from the agent's launch
 * to status Ready, i.e. every select group and flow confirmed by OVS's
 * barrier reply. Peer: the sum of B1's and B2's peers (dumping the kernel with
 * iproute2 and programming the same content with ovs-ofctl). Goal ≤ 1.5.
 *
 * Memory: the agent's resident set at that scale once Ready (goal ≤ 250 MiB),
 * and its peak during the start.
 */
import type { OvsSandbox } from '../test/harness/ovs.js';
import type { AgentSession, SessionSpec } from './lib/agent-session.js';
import { bucketTotal, type BucketLayout } from './lib/ovs-content.js';
import type { Figure } from './lib/report.js';
import { median, timeMs } from './lib/stats.js';
import { metricSum } from './lib/prom.js';
import { VXLAN_DEV, type Scale } from './lib/scale.js';

export const BRIDGE = 'br-evpn';

/** The agent's state for the mirror benchmarks: no groups of its own, mirror what the kernel holds. */
export function mirrorSpec(bucketLayout: BucketLayout = 'slots'): SessionSpec {
  return { deviceTemplate: VXLAN_DEV.replace(/\d+$/, '{vni}'), kernel: { manage: false, mirrorLearned: true }, bucketLayout, groups: [] };
}

export async function benchColdStart(scale: Scale, ovs: OvsSandbox, session: AgentSession, peer: { ms: number; name: string }, layout: BucketLayout = 'slots'): Promise<Figure[]> {
  session.writeState(mirrorSpec(layout));
  const runs = Math.min(3, scale.runs);
  const samples: number[] = [];
  for (let run = 0; run < runs; run++) {
    await session.stop();
    // Start from an empty bridge each time: otherwise the agent finds its groups and flows already right.
    await ovs.ofctl('del-flows', BRIDGE);
    await ovs.ofctl('del-groups', BRIDGE);
    samples.push(await timeMs(async () => {
      session.start();
      await session.waitReady(300_000);
    }));
  }
  const text = await session.metrics();
  const groups = metricSum(text, 'evpn_agent_programmed', { kind: 'groups' });
  const flows = metricSum(text, 'evpn_agent_programmed', { kind: 'flows' });
  const learned = metricSum(text, 'evpn_agent_learned_entries', { kind: 'ecmp' });
  if (groups !== scale.groups || flows < scale.macs || learned !== scale.macs) {
    throw new Error(`B3: agent Ready with ${groups} groups, ${flows} flows, ${learned} mirrored entries; expected ${scale.groups}, ≥ ${scale.macs}, ${scale.macs}`);
  }
  const memory = session.agent!.memoryMiB();
  return [
    {
      bench: 'B3',
      what: `agent start → Ready, mirroring ${scale.macs} FDB entries / ${scale.groups} groups`,
      ours: median(samples),
      peer: peer.ms,
      peerName: peer.name,
      unit: 'ms',
      goal: { on: 'ratio', max: 1.5 },
      runs,
      note: `bucketLayout=${layout}: ${bucketTotal(scale, layout)} buckets in all`,
    },
    {
      bench: 'Memory',
      what: `agent RSS once Ready at B1 scale (${scale.macs} entries)`,
      ours: memory.rss,
      unit: 'MiB',
      goal: { on: 'value', max: 250 },
      note: `peak RSS during start ${memory.peak.toFixed(0)} MiB (bucketLayout=${layout})`,
    },
  ];
}
