import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KERNEL_TOOLS, OVS_TOOLS, missingPrerequisites } from '../../harness/prereq.js';
import { macString, udpIpv4Frame } from '../../harness/packet.js';
import { AgentLab, metricValue } from './lab.js';
import { bucketsOfLine, expectWeightShares } from '../../harness/slots.js';

const skip = missingPrerequisites([...KERNEL_TOOLS, ...OVS_TOOLS]);
const V = ['192.0.2.31', '192.0.2.32', '192.0.2.33'];

describe.skipIf(skip)('agent: mirroring ECMP FDB entries other software installed', () => {
  let lab: AgentLab;
  beforeEach(async () => {
    lab = new AgentLab({ vteps: V });
    await lab.setup();
  });
  afterEach(async () => {
    await lab.teardown();
  });

  async function send(mac: string, n: number, basePort: number) {
    for (let i = 0; i < n; i++) {
      const frame = udpIpv4Frame({ srcMac: '02:00:00:00:01:01', dstMac: mac, srcIp: '10.0.0.1', dstIp: '10.0.0.2', srcPort: basePort + i, dstPort: 80 });
      await lab.ovs.receive('p100', frame.toString('hex'));
    }
  }

  it('mirrors extern_learn entries, follows member replaces and group deletion, reports invalid entries', async () => {
    // What an EVPN control plane (FRR) would install, by hand: no groups in the state file.
    await lab.ns.ip('nexthop', 'add', 'id', '10', 'via', V[0]!, 'fdb');
    await lab.ns.ip('nexthop', 'add', 'id', '11', 'via', V[1]!, 'fdb');
    await lab.ns.ip('nexthop', 'add', 'id', '20', 'group', '10,2/11,1', 'fdb');
    await lab.ns.bridge('fdb', 'add', '02:00:00:00:00:c1', 'dev', 'evpn-100', 'self', 'extern_learn', 'nhid', '20');
    await lab.ns.bridge('fdb', 'add', '02:00:00:00:00:c2', 'dev', 'evpn-100', 'self', 'extern_learn', 'nhid', '20');
    // Linux 6.18 itself refuses an FDB entry naming a single nexthop or an
    // unknown id, so those reasons arise only from races (unit-tested).
    await expect(lab.ns.bridge('fdb', 'add', '02:00:00:00:00:c3', 'dev', 'evpn-100', 'self', 'extern_learn', 'nhid', '10')).rejects.toThrow(/not a multipath group/);
    // A single-destination entry is mirrored as a single path.
    await lab.ns.bridge('fdb', 'add', '02:00:00:00:00:c4', 'dev', 'evpn-100', 'self', 'extern_learn', 'dst', V[2]!);

    lab.writeState([]);
    lab.startAgent();
    let status = await lab.waitReady(1);
    expect(status.learned).toMatchObject({ ecmp: 2, singlePath: 1 });

    const groups = await lab.dumpGroups();
    expect(groups).toHaveLength(1);
    const slotsBefore = bucketsOfLine(groups[0]!);
    expectWeightShares(slotsBefore, [{ vtep: V[0]!, weight: 2 }, { vtep: V[1]!, weight: 1 }]);
    const groupId = Number(/group_id=(\d+)/.exec(groups[0]!)![1]);
    const flows = await lab.dumpFlows();
    expect(flows.filter((f) => f.includes(`group:${groupId}`))).toHaveLength(2);
    expect(flows.find((f) => f.includes('dl_dst=02:00:00:00:00:c4'))).toContain(`set_field:${V[2]}->tun_dst`);

    // Never modified in the kernel: still the control plane's objects.
    const nh = await lab.ns.ipJson<{ id: number; protocol?: string }>('nexthop', 'show');
    expect(nh.map((n) => n.id).sort((a, b) => a - b)).toEqual([10, 11, 20]);

    // Traffic goes to the mirrored group's VTEPs.
    const beforeC1 = lab.underlay.vxlanFrames().length;
    await send('02:00:00:00:00:c1', 60, 1000);
    expect(new Set((await lab.underlay.waitForVxlanFrames(beforeC1 + 60)).map((f) => f.outerDstIp))).toEqual(new Set([V[0], V[1]]));

    // Replacing a member's gateway notifies only the member: the bucket must follow anyway.
    await lab.ns.ip('nexthop', 'replace', 'id', '11', 'via', V[2]!, 'fdb');
    const deadline = Date.now() + 10_000;
    let group = '';
    while (Date.now() < deadline) {
      group = (await lab.dumpGroups())[0] ?? '';
      if (group.includes(`${V[2]}->tun_dst`)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(group).toContain(`group_id=${groupId},`);
    expect(group).toContain(`set_field:${V[2]}->tun_dst`);
    expect(group).not.toContain(`set_field:${V[1]}->tun_dst`);
    // Only the replaced member's hash slots change destination, and the agent says how much moved.
    expect(bucketsOfLine(group).map((b) => b.tunDst)).toEqual(slotsBefore.map((b) => (b.tunDst === V[1] ? V[2] : b.tunDst)));
    const metrics = await lab.metrics();
    expect(metricValue(metrics, 'evpn_agent_group_remap_ratio_count')).toBe(1);
    expect(metricValue(metrics, 'evpn_agent_group_remap_ratio_sum')).toBeCloseTo(slotsBefore.filter((b) => b.tunDst === V[1]).length / slotsBefore.length, 9);

    // Deleting the group silently removes its FDB entries: flows and group go.
    await lab.ns.ip('nexthop', 'del', 'id', '20');
    status = await lab.waitStatus('entries gone', (s) => s.learned?.ecmp === 0);
    const until = Date.now() + 10_000;
    while (Date.now() < until && (await lab.dumpGroups()).length > 0) await new Promise((r) => setTimeout(r, 50));
    expect(await lab.dumpGroups()).toEqual([]);
    expect((await lab.dumpFlows()).filter((f) => f.includes('group:') && f.includes('dl_dst='))).toEqual([]);
    expect(status.learned?.singlePath).toBe(1);

    // A group that becomes invalid after the fact (the kernel lets a member's
    // gateway be replaced by one of the other family): reported with its
    // reason, and nothing is left programmed for it.
    await lab.ns.ip('nexthop', 'add', 'id', '40', 'via', V[0]!, 'fdb');
    await lab.ns.ip('nexthop', 'add', 'id', '42', 'via', V[1]!, 'fdb');
    await lab.ns.ip('nexthop', 'add', 'id', '41', 'group', '40/42', 'fdb');
    await lab.ns.bridge('fdb', 'add', '02:00:00:00:00:c5', 'dev', 'evpn-100', 'self', 'extern_learn', 'nhid', '41');
    await lab.waitStatus('new group mirrored', (s) => s.learned?.ecmp === 1);
    expect((await lab.dumpFlows()).some((f) => f.includes('dl_dst=02:00:00:00:00:c5'))).toBe(true);
    const beforeC5 = lab.underlay.vxlanFrames().length;
    await send('02:00:00:00:00:c5', 5, 5000);
    expect((await lab.underlay.waitForVxlanFrames(beforeC5 + 5)).filter((f) => macString(f.inner, 0) === '02:00:00:00:00:c5').length).toBe(5);

    await lab.ns.ip('nexthop', 'replace', 'id', '42', 'via', '2001:db8::42', 'fdb');
    status = await lab.waitStatus('MixedFamily reported', (s) => s.learned?.invalid?.['MixedFamily'] === 1);
    expect(status.learned?.ecmp).toBe(0);
    expect(status.summary?.invalid).toBe(1);
    const gone = Date.now() + 10_000;
    while (Date.now() < gone && (await lab.dumpFlows()).some((f) => f.includes('dl_dst=02:00:00:00:00:c5'))) await new Promise((r) => setTimeout(r, 50));
    expect((await lab.dumpFlows()).some((f) => f.includes('dl_dst=02:00:00:00:00:c5'))).toBe(false);
    expect(await lab.dumpGroups()).toEqual([]);

    await lab.ns.ip('nexthop', 'replace', 'id', '40', 'via', '2001:db8::40', 'fdb');
    status = await lab.waitStatus('FamilyMismatch reported', (s) => s.learned?.invalid?.['FamilyMismatch'] === 1);
    expect(status.learned?.invalid?.['MixedFamily']).toBeUndefined();
    expect(await lab.dumpGroups()).toEqual([]);
  });
});
