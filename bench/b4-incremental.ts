/**
 * B4 — incremental: one fdb nexthop group's weights replaced in the kernel
 * (`ip nexthop replace id G group ...`, as an EVPN control plane would),
 * with the agent mirroring B1's state. For a group used by 10 MACs (every
 * B1 group) and one used by 10,000: the time from the kernel notification
 * to the OVS barrier reply confirming the change, p50/p99 over the changes,
 * and the OpenFlow group and flow mods sent per change (goal: exactly one
 * group modify, no flow mod; p99 ≤ 10 ms).
 *
 * Each change is done when the OVS group, read back with `ovs-ofctl
 * dump-groups`, splits traffic as the new weights say. The latency is the
 * agent's own convergence histogram, read as the change of its _sum across
 * one change (one observation each): it starts when the agent receives the
 * RTM_NEWNEXTHOP notification, which the kernel sends before acknowledging
 * the write. A change that reached OVS without being counted is reported
 * (goal 0). As a reference, the same weight change made by `ovs-ofctl
 * mod-group` on a group outside the agent's range.
 */
import { RtnetlinkClient } from '../src/lib/rtnetlink/index.js';
import type { OvsSandbox } from '../test/harness/ovs.js';
import type { AgentSession } from './lib/agent-session.js';
import { until } from './lib/daemon.js';
import { loadBigGroup } from './lib/kernel-state.js';
import { runPeer } from './lib/peers.js';
import { metricSum } from './lib/prom.js';
import type { Figure } from './lib/report.js';
import { median, percentile, timeMs } from './lib/stats.js';
import { bigGroupId, extrasOf, groupId, groupMembers, vtepIp, VXLAN_DEV, type Scale } from './lib/scale.js';
import { BRIDGE } from './b3-cold-start.js';
import { layoutBuckets, type BucketLayout } from './lib/ovs-content.js';
import { ovsGroupOfMac, ovsGroupPaths, shareMismatch, type Path } from './lib/compare.js';

const RTPROT_STATIC = 4;
/** A group id outside the agent's range (65536..131071): ovs-ofctl's own, for the reference. */
const PEER_GROUP = 1;

interface Counters {
  count: number;
  sum: number;
  groupMods: number;
  groupModifies: number;
  flowMods: number;
}

async function counters(session: AgentSession): Promise<Counters> {
  const text = await session.metrics();
  return {
    count: metricSum(text, 'evpn_agent_convergence_seconds_count'),
    sum: metricSum(text, 'evpn_agent_convergence_seconds_sum'),
    groupMods: metricSum(text, 'evpn_agent_openflow_group_mods_total'),
    groupModifies: metricSum(text, 'evpn_agent_openflow_group_mods_total', { command: 'modify' }),
    flowMods: metricSum(text, 'evpn_agent_openflow_flow_mods_total'),
  };
}

/** Waits until every B1 entry plus the big group's are mirrored and OVS is in sync. */
export async function waitMirrored(session: AgentSession, entries: number, timeoutMs: number): Promise<void> {
  await until(`${entries} mirrored entries`, async () => {
    const s = session.status();
    const synced = s?.conditions?.find((c) => c.type === 'OvsSynced')?.status === 'True';
    return synced && (await session.metric('evpn_agent_learned_entries', { kind: 'ecmp' })) === entries;
  }, timeoutMs, 100);
}

async function measureChanges(session: AgentSession, ovs: OvsSandbox, client: RtnetlinkClient, id: number, members: number[], changes: number) {
  const mgmt = ovs.mgmtSocket(BRIDGE);
  // The OVS group mirroring kernel group `id`: the one the flow of a MAC naming `id` sends to.
  const link = await client.getLinkByName(VXLAN_DEV);
  const someMac = link && (await client.listFdb(link.ifindex)).find((e) => e.nhid === id)?.mac;
  if (!someMac) throw new Error(`B4: no FDB entry names kernel group ${id}`);
  const ovsGroup = ovsGroupOfMac(mgmt, someMac);
  if (ovsGroup === undefined) throw new Error(`B4: OVS has no flow for ${someMac} (kernel group ${id})`);
  const gateways: string[] = [];
  for (const m of members) gateways.push((await client.getNexthop(m))?.gateway ?? '?');
  const latencies: number[] = [];
  const endToEnd: number[] = [];
  let groupMods = 0;
  let groupModifies = 0;
  let flowMods = 0;
  let uncounted = 0;
  for (let i = 0; i < changes; i++) {
    const before = await counters(session);
    // Alternate two weight sets so every change is a real one.
    const weights = i % 2 === 0 ? [4, 3, 2, 1] : [1, 2, 3, 4];
    const want: Path[] = gateways.map((ip, k) => ({ ip, weight: weights[k % weights.length]! }));
    endToEnd.push(await timeMs(async () => {
      await client.addFdbGroup({ id, replace: true, protocol: RTPROT_STATIC, members: members.map((m, k) => ({ id: m, weight: weights[k % weights.length]! })) });
      try {
        await until('the OVS group to split as the new weights say', () => {
          const paths = ovsGroupPaths(mgmt, ovsGroup);
          return paths !== undefined && shareMismatch(want, paths) === undefined;
        }, 60_000, 1);
      } catch (err) {
        const now = await counters(session);
        throw new Error(`change ${i + 1} of group ${id}: ${(err as Error).message}; OVS group ${ovsGroup}: ${JSON.stringify(ovsGroupPaths(mgmt, ovsGroup))}; counters before ${JSON.stringify(before)}, now ${JSON.stringify(now)}; `
          + `kernel resyncs ${await session.metric('evpn_agent_kernel_resyncs_total')}\nagent log:\n${session.agent?.tail(15) ?? ''}`);
      }
    }));
    // The histogram is observed after the barrier reply, so a moment after the group is readable.
    let after = before;
    try {
      after = await until('the convergence histogram to count the change', async () => {
        const c = await counters(session);
        return c.count > before.count ? c : undefined;
      }, 1000, 1);
    } catch {
      uncounted += 1;
    }
    // Let anything trailing (a second iteration) land before the next change.
    await new Promise((r) => setTimeout(r, 20));
    const settled = await counters(session);
    if (after.count - before.count === 1) latencies.push((after.sum - before.sum) * 1000);
    groupMods += settled.groupMods - before.groupMods;
    groupModifies += settled.groupModifies - before.groupModifies;
    flowMods += settled.flowMods - before.flowMods;
  }
  return { latencies, endToEnd, groupMods, groupModifies, flowMods, uncounted };
}

/**
 * The reference: the same weight changes on a group of the same paths,
 * written by ovs-ofctl in the layout the agent uses (with slots, equal
 * buckets re-dealt from the previous table, as the agent does).
 */
async function peerModGroup(ovs: OvsSandbox, scale: Scale, tunnelPort: number, runs: number, layout: BucketLayout): Promise<number> {
  let table: string[] | undefined;
  const group = (weights: number[]) => {
    const paths = groupMembers(scale, 0).map((m, k) => ({ vtep: vtepIp(m.vtep), weight: weights[k]! }));
    const buckets = layoutBuckets(paths, layout, table);
    table = buckets.length > paths.length ? buckets.map((b) => b.vtep) : undefined;
    return `group_id=${PEER_GROUP},type=select,selection_method=dp_hash,`
      + buckets.map((b, k) => `bucket=bucket_id:${k},weight:${b.weight},actions=set_field:${b.vtep}->tun_dst,output:${tunnelPort}`).join(',');
  };
  const target = `unix:${ovs.mgmtSocket(BRIDGE)}`;
  await runPeer('ovs-ofctl', ['-O', 'OpenFlow15', 'add-group', target, group([1, 2, 3, 4])]);
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const weights = i % 2 === 0 ? [4, 3, 2, 1] : [1, 2, 3, 4];
    samples.push(await timeMs(() => runPeer('ovs-ofctl', ['-O', 'OpenFlow15', 'mod-group', target, group(weights)])));
  }
  await runPeer('ovs-ofctl', ['-O', 'OpenFlow15', 'del-groups', target, `group_id=${PEER_GROUP}`]);
  return median(samples);
}

export async function benchIncremental(scale: Scale, ovs: OvsSandbox, session: AgentSession, layout: BucketLayout = 'slots'): Promise<Figure[]> {
  const extras = extrasOf(scale);
  loadBigGroup(scale, extras.bigGroupMacs);
  await waitMirrored(session, scale.macs + extras.bigGroupMacs, 120_000);
  const tunnelPort = await ovs.ofport('evpn-vxlan');
  const peerMs = await peerModGroup(ovs, scale, tunnelPort, 20, layout);
  const client = new RtnetlinkClient();
  const figures: Figure[] = [];
  try {
    const cases = [
      { label: `group used by ${scale.macs / scale.groups} MACs`, id: groupId(0), members: groupMembers(scale, 0).map((m) => m.vtep + 1) },
      { label: `group used by ${extras.bigGroupMacs} MACs`, id: bigGroupId(scale), members: [1, 2, 3, 4] },
    ];
    for (const c of cases) {
      const r = await measureChanges(session, ovs, client, c.id, c.members, extras.changes);
      if (r.latencies.length === 0) throw new Error(`B4 ${c.label}: no change observed alone`);
      const note = `${r.latencies.length}/${extras.changes} changes observed singly; end to end incl. metrics polling p50 ${median(r.endToEnd).toFixed(1)} ms`;
      figures.push(
        { bench: 'B4', what: `weight change, ${c.label}: p50 kernel → OVS barrier`, ours: median(r.latencies), peer: peerMs, peerName: 'ovs-ofctl mod-group', unit: 'ms', runs: r.latencies.length, note },
        { bench: 'B4', what: `weight change, ${c.label}: p99 kernel → OVS barrier`, ours: percentile(r.latencies, 99), peer: peerMs, peerName: 'ovs-ofctl mod-group', unit: 'ms', goal: { on: 'value', max: 10 }, runs: r.latencies.length },
        {
          bench: 'B4', what: `weight change, ${c.label}: OpenFlow mods per change`, ours: (r.groupMods + r.flowMods) / extras.changes, peer: 1, peerName: 'ideal: 1 group modify', unit: 'msgs',
          goal: { on: 'value', max: 1 }, runs: extras.changes,
          note: `group modifies ${r.groupModifies}, other group mods ${r.groupMods - r.groupModifies}, flow mods ${r.flowMods} over ${extras.changes} changes`,
        },
        {
          bench: 'B4', what: `weight change, ${c.label}: changes in OVS (read back) the convergence histogram did not count`, ours: r.uncounted, unit: 'changes',
          goal: { on: 'value', max: 0 }, runs: extras.changes,
        },
      );
    }
  } finally {
    client.close();
  }
  return figures;
}
