/**
 * B9 — the spec path on one node: VtepGroups written into the kernel and
 * mirrored into Open vSwitch, by a standalone agent that owns its devices
 * (kernel.manage). Two shapes: 10,000 groups × 1 MAC and 1,000 × 100 MACs.
 *
 *  - spec written → Ready with everything programmed (every group
 *    Programmed at the spec's generation; goal ≤ 2 s);
 *  - one group's weight change with the others present → OVS: the agent's
 *    own convergence histogram (from the new spec in hand to the OVS barrier
 *    reply; goal p99 ≤ 10 ms), the group modify read back from OVS, and, as
 *    a reference, the whole path from writing the state file (which the
 *    agent must read and parse whole: the state file's cost, not the
 *    engine's);
 *  - one unrelated kernel FDB add → the engine run it causes (the agent's
 *    evpn_agent_engine_run_seconds; goal ≤ 5 ms).
 */
import { execFileSync } from 'node:child_process';
import { RtnetlinkClient } from '../src/lib/rtnetlink/index.js';
import type { OvsSandbox } from '../test/harness/ovs.js';
import { AgentSession, type SessionGroup } from './lib/agent-session.js';
import { until } from './lib/daemon.js';
import { metricSum } from './lib/prom.js';
import type { Figure } from './lib/report.js';
import { median, percentile, timeMs } from './lib/stats.js';
import type { Scale } from './lib/scale.js';

const VNI = 100;
const DEVICE = 'evpn-100';
const BRIDGE = 'br-evpn';
/** VTEPs the groups draw pairs from (198.19.0.0/16: benchmarking range, RFC 2544). */
const POOL = 32;

interface Shape {
  groups: number;
  macsPerGroup: number;
}

function shapes(scale: Scale): Shape[] {
  return scale.name === 'full'
    ? [{ groups: 10_000, macsPerGroup: 1 }, { groups: 1_000, macsPerGroup: 100 }]
    : [{ groups: 200, macsPerGroup: 1 }, { groups: 20, macsPerGroup: 10 }];
}

function vtep(i: number): string {
  return `198.19.0.${(i % POOL) + 1}`;
}

function macOf(n: number): string {
  const hex = (n + 1).toString(16).padStart(8, '0');
  return `02:09:${hex.slice(0, 2)}:${hex.slice(2, 4)}:${hex.slice(4, 6)}:${hex.slice(6, 8)}`;
}

/** The shape's groups; `weights` holds the first VTEP's weight of groups changed so far (3 otherwise). */
function groupsOf(shape: Shape, weights: ReadonlyMap<number, { weight: number; generation: number }> = new Map()): SessionGroup[] {
  return Array.from({ length: shape.groups }, (_, g) => ({
    name: `g${String(g).padStart(5, '0')}`,
    generation: weights.get(g)?.generation ?? 1,
    vni: VNI,
    vteps: [{ ip: vtep(g), weight: weights.get(g)?.weight ?? 3 }, { ip: vtep(g + 1), weight: 1 }],
    macs: Array.from({ length: shape.macsPerGroup }, (_, m) => macOf(g * shape.macsPerGroup + m)),
  }));
}

interface Status {
  observedGeneration?: number;
  conditions?: Array<{ type: string; status: string }>;
  groups?: Array<{ state: string; appliedGeneration?: number; ofGroupId?: number }>;
}

function allProgrammed(s: Status | undefined, generation: number, groups: number): boolean {
  return s?.observedGeneration === generation && s.conditions?.find((c) => c.type === 'Ready')?.status === 'True'
    && s.groups?.length === groups && s.groups.every((g) => g.state === 'Programmed');
}

/** The agent's devices and our nexthops go, so the next shape (and benchmark) starts clean. */
function clearKernel(): void {
  for (const dev of ['evpa-100', 'evpn-100', 'evpnbr-100']) {
    try {
      execFileSync('ip', ['link', 'del', dev], { stdio: 'ignore' });
    } catch {
      // not there
    }
  }
  try {
    execFileSync('ip', ['nexthop', 'flush', 'protocol', '236'], { stdio: 'ignore' });
  } catch {
    // nothing of ours left
  }
}

export async function benchSpecPath(scale: Scale, ovs: OvsSandbox): Promise<Figure[]> {
  const figures: Figure[] = [];
  const rt = new RtnetlinkClient();
  try {
    for (const shape of shapes(scale)) {
      const label = `${shape.groups.toLocaleString('en')} groups × ${shape.macsPerGroup} MAC${shape.macsPerGroup > 1 ? 's' : ''}`;
      const session = new AgentSession(ovs.rundir, 19120);
      try {
        session.writeState({ deviceTemplate: 'evpn-{vni}', kernel: { manage: true, mirrorLearned: true }, groups: [] });
        session.start(['--audit-interval', '0']);
        await session.waitReady(60_000, 1);
        // The whole spec at once, as an operator's first rendering (or a kubectl apply of every group) brings it.
        const generation = session.writeState({ deviceTemplate: 'evpn-{vni}', kernel: { manage: true, mirrorLearned: true }, groups: groupsOf(shape) });
        const readyMs = await timeMs(() => until('every group programmed', () => allProgrammed(session.status() as Status, generation, shape.groups), 300_000, 5));
        figures.push({ bench: 'B9', what: `${label}: spec written → Ready, everything programmed`, ours: readyMs, unit: 'ms', goal: { on: 'value', max: 2000 } });

        // One group's weight, the others present.
        const changes = scale.name === 'full' ? 30 : 5;
        const converge: number[] = [];
        const endToEnd: number[] = [];
        let modifies = 0;
        const changed = new Map<number, { weight: number; generation: number }>();
        for (let i = 0; i < changes; i++) {
          const index = (i * 7919) % shape.groups;
          const had = changed.get(index);
          changed.set(index, { weight: had?.weight === 4 ? 2 : 4, generation: (had?.generation ?? 1) + 1 });
          const before = await session.metrics();
          const beforeCount = metricSum(before, 'evpn_agent_convergence_seconds_count');
          const beforeSum = metricSum(before, 'evpn_agent_convergence_seconds_sum');
          const beforeMods = metricSum(before, 'evpn_agent_openflow_group_mods_total', { command: 'modify' });
          const gen = session.writeState({ deviceTemplate: 'evpn-{vni}', kernel: { manage: true, mirrorLearned: true }, groups: groupsOf(shape, changed) });
          endToEnd.push(await timeMs(() => until('the group modify in OVS', async () => {
            const m = await session.metrics();
            return metricSum(m, 'evpn_agent_openflow_group_mods_total', { command: 'modify' }) > beforeMods && allProgrammed(session.status(), gen, shape.groups);
          }, 60_000, 2)));
          const after = await session.metrics();
          const n = metricSum(after, 'evpn_agent_convergence_seconds_count') - beforeCount;
          if (n >= 1) converge.push(((metricSum(after, 'evpn_agent_convergence_seconds_sum') - beforeSum) / n) * 1000);
          modifies += metricSum(after, 'evpn_agent_openflow_group_mods_total', { command: 'modify' }) - beforeMods;
        }
        const dump = execFileSync('ovs-ofctl', ['-O', 'OpenFlow15', 'dump-groups', `unix:${ovs.rundir}/${BRIDGE}.mgmt`], { encoding: 'utf8', maxBuffer: 1 << 28 });
        const groupLines = dump.split('\n').filter((l) => l.includes('type=select')).length;
        figures.push({ bench: 'B9', what: `${label}: one group's weight change → OVS (agent), p99`, ours: percentile(converge, 99), unit: 'ms', goal: { on: 'value', max: 10 }, runs: converge.length, note: `p50 ${median(converge).toFixed(1)} ms; ${modifies} group modifies for ${changes} changes; ${groupLines} select groups in OVS` });
        figures.push({ bench: 'B9', what: `${label}: … from writing the state file, p50`, ours: median(endToEnd), unit: 'ms', runs: endToEnd.length, note: 'includes reading and parsing the whole state file' });

        // One unrelated kernel FDB add: a single-destination entry another writer installs.
        const link = await rt.getLinkByName(DEVICE);
        if (!link) throw new Error(`${DEVICE} missing`);
        const runs: number[] = [];
        for (let i = 0; i < (scale.name === 'full' ? 20 : 5); i++) {
          const before = await session.metrics();
          const count0 = metricSum(before, 'evpn_agent_engine_run_seconds_count');
          const sum0 = metricSum(before, 'evpn_agent_engine_run_seconds_sum');
          const learned0 = metricSum(before, 'evpn_agent_learned_entries', { kind: 'singlePath' });
          await rt.addFdbEntry({ ifindex: link.ifindex, mac: macOf(900_000 + i), dst: vtep(i), flags: 0x02, state: 0x40 | 0x02 });
          await until('the entry mirrored', async () => (await session.metric('evpn_agent_learned_entries', { kind: 'singlePath' })) > learned0, 30_000, 2);
          const after = await session.metrics();
          const n = metricSum(after, 'evpn_agent_engine_run_seconds_count') - count0;
          if (n >= 1) runs.push(((metricSum(after, 'evpn_agent_engine_run_seconds_sum') - sum0) / n) * 1000);
        }
        figures.push({ bench: 'B9', what: `${label}: one unrelated kernel FDB add → engine run, p99`, ours: percentile(runs, 99), unit: 'ms', goal: { on: 'value', max: 5 }, runs: runs.length, note: `p50 ${median(runs).toFixed(2)} ms` });
      } finally {
        await session.stop().catch(() => undefined);
        session.dispose();
        clearKernel();
      }
    }
  } finally {
    rt.close();
  }
  return figures;
}
