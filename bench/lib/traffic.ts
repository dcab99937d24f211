/**
 * A node whose agent programs one VtepGroup and whose traffic really leaves
 * through Open vSwitch's native VXLAN tunnelling (B7, B8): a VXLAN device
 * `evpn-100` in the bench namespace (kernel side, never emits), an OVS
 * sandbox with br-evpn (a local port of VNI 100) and the test harness's
 * underlay, whose dummy NIC records every encapsulated frame. Distinct UDP
 * flows are injected with netdev-dummy/receive; each frame's outer
 * destination says which bucket (VTEP) the group chose for its flow.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { OvsSandbox } from '../../test/harness/ovs.js';
import { Underlay } from '../../test/harness/underlay.js';
import { udpIpv4Frame } from '../../test/harness/packet.js';
import { isSlotCount } from '../../src/agent/hash-slots.js';
import { AgentSession } from './agent-session.js';
import type { BucketLayout } from './ovs-content.js';
import { bucketPaths, shareMismatch, type Path } from './compare.js';

export const TRAFFIC_VTEPS = ['192.0.2.11', '192.0.2.12', '192.0.2.13', '192.0.2.14', '192.0.2.15'];
const DEVICE = 'evpn-100';
const DST_MAC = '02:00:00:00:fe:01';
/** Frames per netdev-dummy/receive call (one ovs-appctl run each; netdev-dummy queues ≤ 100). */
const BATCH = 64;

/** What program() found in OVS. */
export interface OvsGroupShape {
  buckets: number;
}

export class TrafficNode {
  private constructor(
    readonly ovs: OvsSandbox,
    readonly underlay: Underlay,
    readonly session: AgentSession,
  ) {}

  static async create(metricsPort: number): Promise<TrafficNode> {
    execFileSync('ip', ['link', 'add', DEVICE, 'type', 'vxlan', 'id', '100', 'dstport', '4789', 'nolearning', 'local', '192.0.2.1']);
    execFileSync('ip', ['link', 'set', DEVICE, 'addrgenmode', 'none']);
    execFileSync('ip', ['link', 'set', DEVICE, 'up']);
    const ovs = await OvsSandbox.start();
    try {
      const underlay = await Underlay.create(ovs, {
        localAddress: '192.0.2.1/24',
        neighbors: TRAFFIC_VTEPS.map((ip, i) => ({ ip, mac: `aa:55:00:00:00:${(i + 1).toString(16).padStart(2, '0')}` })),
      });
      await ovs.addBridge('br-evpn');
      await ovs.addDummyPort('br-evpn', 'p100', { externalIds: { 'evpn-vni': '100' } });
      return new TrafficNode(ovs, underlay, new AgentSession(ovs.rundir, metricsPort));
    } catch (err) {
      await ovs.stop();
      throw err;
    }
  }

  /**
   * Programs the group with these paths, selection method and bucket layout
   * (the layout applies to dp_hash only), waits until the agent reports it
   * Ready, checks that OVS holds the group laid out as asked, and lets the
   * revalidators settle.
   */
  async program(vteps: Path[], selectionMethod: 'dp_hash' | 'hash', bucketLayout: BucketLayout): Promise<OvsGroupShape> {
    const generation = this.session.writeState({
      deviceTemplate: 'evpn-{vni}',
      kernel: { manage: true, mirrorLearned: false },
      selectionMethod,
      bucketLayout,
      groups: [{ name: 'fidelity', vni: 100, vteps, macs: [DST_MAC] }],
    });
    if (!this.session.agent) this.session.start();
    await this.session.waitReady(60_000, generation);
    const { stdout } = await this.ovs.ofctl('dump-groups', 'br-evpn');
    const group = stdout.split('\n').find((l) => l.includes('type=select'));
    const buckets = group === undefined ? [] : bucketPaths(group);
    const wanted = `${vteps.map((v) => `${v.ip}*${v.weight}`).join(',')} (${selectionMethod}, ${bucketLayout})`;
    if (!group?.includes(`selection_method=${selectionMethod}`)) throw new Error(`the agent's group is not the one asked for: ${group ?? 'none'} (wanted ${wanted})`);
    const why = shareMismatch(vteps, buckets);
    if (why !== undefined) throw new Error(`the agent's group does not split as asked (${why}): ${group} (wanted ${wanted})`);
    // B7/B8 compare the layouts: a group in the other layout would make the comparison a lie.
    const slots = selectionMethod === 'dp_hash' && bucketLayout === 'slots' && new Set(vteps.map((v) => v.ip)).size > 1;
    const laidOut = slots
      ? isSlotCount(buckets.length) && buckets.every((b) => b.weight === 1)
      : buckets.length === vteps.length;
    if (!laidOut) throw new Error(`the agent's group has ${buckets.length} buckets, not the ${slots ? 'hash-slot' : 'one-per-VTEP'} layout asked for: ${group}`);
    // Cached megaflows are re-translated by the revalidators after a group change:
    // traffic sent before that would still follow the old buckets.
    await this.ovs.settleStats();
    return { buckets: buckets.length };
  }

  /**
   * Sends `n` distinct UDP flows (source port 1024+i) through the group and
   * returns, per flow, the VTEP its frame was encapsulated to.
   */
  async sendFlows(n: number): Promise<string[]> {
    const before = this.underlay.vxlanFrames().length;
    let bytes = pcapBytes(this.underlay.pcapPath);
    for (let start = 0; start < n; start += BATCH) {
      const frames: Buffer[] = [];
      for (let i = start; i < Math.min(n, start + BATCH); i++) {
        frames.push(udpIpv4Frame({ srcMac: '02:00:00:00:fe:02', dstMac: DST_MAC, srcIp: '10.0.0.1', dstIp: '10.0.0.2', srcPort: 1024 + i, dstPort: 80 }));
      }
      await this.ovs.appctl('netdev-dummy/receive', 'p100', ...frames.map((f) => f.toString('hex')));
      // netdev-dummy queues at most 100 received packets per queue and drops
      // the rest; ovs-vswitchd processes them after the call returns. Wait
      // for this batch to leave (each as one pcap record: 16-byte header +
      // outer Ethernet/IPv4/UDP/VXLAN 50 bytes + the frame) before the next.
      bytes += frames.reduce((sum, f) => sum + 16 + 50 + f.length, 0);
      const deadline = Date.now() + 5000;
      while (pcapBytes(this.underlay.pcapPath) < bytes && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
      bytes = pcapBytes(this.underlay.pcapPath);
    }
    const frames = this.underlay.vxlanFrames().slice(before);
    if (frames.length !== n) throw new Error(`sent ${n} flows, ${frames.length} left encapsulated`);
    const byFlow = new Array<string>(n);
    for (const f of frames) {
      // Inner Ethernet (14) + IPv4 without options (20): the UDP source port names the flow.
      const flow = f.inner.readUInt16BE(34) - 1024;
      if (flow < 0 || flow >= n || byFlow[flow] !== undefined) throw new Error(`unexpected or duplicate inner frame for flow ${flow}`);
      byFlow[flow] = f.outerDstIp;
    }
    return byFlow;
  }

  async dispose(): Promise<void> {
    await this.session.stop().catch(() => undefined);
    this.session.dispose();
    await this.ovs.stop();
    try {
      execFileSync('ip', ['link', 'del', DEVICE]);
    } catch {
      // already gone
    }
  }
}

function pcapBytes(path: string): number {
  return existsSync(path) ? statSync(path).size : 0;
}
