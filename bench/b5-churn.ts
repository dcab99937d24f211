/**
 * B5 — churn: FDB entries added and deleted at a steady rate (default 1,000
 * operations per second for 60 s, half adds, half deletes once a window of
 * entries exists) on top of B1's state, with the agent mirroring it all.
 * Reported: the backlog, as the agent's kernel → OVS latency during the churn
 * (its convergence histogram: a growing backlog is a growing latency) and
 * the catch-up time after the last operation, the agent's
 * CPU (share of one core) and peak RSS, and whether OVS ends equal to the
 * kernel (every MAC's flow and group checked).
 */
import { NTF_EXT_LEARNED, NTF_SELF, RtnetlinkClient } from '../src/lib/rtnetlink/index.js';
import type { OvsSandbox } from '../test/harness/ovs.js';
import type { AgentSession } from './lib/agent-session.js';
import { compareOvsWithKernel } from './lib/compare.js';
import type { Figure } from './lib/report.js';
import { metricSum } from './lib/prom.js';
import { timeMs } from './lib/stats.js';
import { extraMac, extrasOf, groupId, VXLAN_DEV, type Scale } from './lib/scale.js';
import { BRIDGE } from './b3-cold-start.js';
import { waitMirrored } from './b4-incremental.js';

/** Cumulative counts of the agent's convergence histogram, by upper bound in seconds. */
function convergenceBuckets(text: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const m of text.matchAll(/^evpn_agent_convergence_seconds_bucket\{([^}]*)\} (\S+)$/gm)) {
    const le = /le="([^"]+)"/.exec(m[1]!)?.[1];
    if (le === undefined) continue;
    const bound = le === '+Inf' ? Infinity : Number(le);
    out.set(bound, (out.get(bound) ?? 0) + Number(m[2]));
  }
  return out;
}

/** Upper bound (ms) of the bucket holding quantile q of the observations made between two scrapes. */
function quantileBound(before: Map<number, number>, after: Map<number, number>, q: number): number {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const total = (after.get(Infinity) ?? 0) - (before.get(Infinity) ?? 0);
  for (const le of bounds) {
    if ((after.get(le) ?? 0) - (before.get(le) ?? 0) >= q * total) return le * 1000;
  }
  return Number.NaN;
}

export async function benchChurn(scale: Scale, ovs: OvsSandbox, session: AgentSession): Promise<Figure[]> {
  const extras = extrasOf(scale);
  const agent = session.agent!;
  const window = Math.max(1, extras.churnPerSecond / 2);
  const client = new RtnetlinkClient();
  const link = await client.getLinkByName(VXLAN_DEV);
  if (!link) throw new Error(`${VXLAN_DEV} not found`);
  // What the kernel holds before the churn (B1's state, and B4's group when B4 ran).
  const base = (await client.listFdb(link.ifindex)).filter((e) => e.nhid !== undefined).length;
  const live: string[] = [];
  let next = extras.bigGroupMacs; // past B4's MACs, whether or not B4 ran
  let ops = 0;
  let peakRss = 0;
  const metricsBefore = await session.metrics();
  const cpuBefore = agent.cpuSeconds();
  const started = performance.now();
  const total = extras.churnPerSecond * extras.churnSeconds;
  let nextSample = started + 1000;
  try {
    while (ops < total) {
      const now = performance.now();
      if (now >= nextSample) {
        nextSample += 1000;
        peakRss = Math.max(peakRss, agent.memoryMiB().rss);
      }
      const due = Math.min(total, Math.floor(((now - started) / 1000) * extras.churnPerSecond));
      if (ops >= due) {
        await new Promise((r) => setTimeout(r, 1));
        continue;
      }
      while (ops < due) {
        if (live.length >= window) {
          await client.deleteFdbEntry({ ifindex: link.ifindex, mac: live.shift()! });
        } else {
          const mac = extraMac(scale, next);
          await client.addFdbEntry({ ifindex: link.ifindex, mac, nhid: groupId(next % scale.groups), flags: NTF_SELF | NTF_EXT_LEARNED });
          live.push(mac);
          next += 1;
        }
        ops += 1;
      }
    }
    const elapsed = (performance.now() - started) / 1000;
    const catchUp = await timeMs(() => waitMirrored(session, base + live.length, 120_000));
    const cpu = (agent.cpuSeconds() - cpuBefore) / elapsed;
    const metricsAfter = await session.metrics();
    const [hBefore, hAfter] = [convergenceBuckets(metricsBefore), convergenceBuckets(metricsAfter)];
    const passes = metricSum(metricsAfter, 'evpn_agent_convergence_seconds_count') - metricSum(metricsBefore, 'evpn_agent_convergence_seconds_count');
    const meanMs = (1000 * (metricSum(metricsAfter, 'evpn_agent_convergence_seconds_sum') - metricSum(metricsBefore, 'evpn_agent_convergence_seconds_sum'))) / passes;
    peakRss = Math.max(peakRss, agent.memoryMiB().rss);
    const cmp = await compareOvsWithKernel(VXLAN_DEV, ovs.mgmtSocket(BRIDGE));
    if (cmp.kernelEntries !== base + live.length) throw new Error(`B5: the kernel holds ${cmp.kernelEntries} ECMP entries, expected ${base + live.length}`);
    const rate = ops / elapsed;
    const what = `${Math.round(rate)} FDB adds+deletes/s for ${elapsed.toFixed(0)} s`;
    return [
      {
        bench: 'B5', what: `${what}: kernel → OVS latency p99 (histogram bound)`, ours: quantileBound(hBefore, hAfter, 0.99), unit: 'ms',
        note: `p50 ≤ ${quantileBound(hBefore, hAfter, 0.5)} ms, mean ${meanMs.toFixed(1)} ms over ${passes} OpenFlow commits (${(ops / passes).toFixed(1)} kernel changes per commit): a growing backlog would show as growing latency`,
      },
      { bench: 'B5', what: `${what}: catch-up after the last change`, ours: catchUp, unit: 'ms' },
      { bench: 'B5', what: `${what}: agent CPU`, ours: cpu * 100, unit: '% core' },
      { bench: 'B5', what: `${what}: agent peak RSS`, ours: peakRss, unit: 'MiB' },
      {
        bench: 'B5', what: `${what}: OVS entries differing from the kernel after`, ours: cmp.mismatches, unit: 'entries', goal: { on: 'value', max: 0 },
        note: `${cmp.kernelEntries} kernel ECMP entries, ${cmp.ovsFlows} OVS MAC flows${cmp.examples.length ? `; e.g. ${cmp.examples.join('; ')}` : ''}`,
      },
    ];
  } finally {
    client.close();
  }
}
