import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KERNEL_TOOLS, OVS_TOOLS, missingPrerequisites } from '../../harness/prereq.js';
import { udpIpv4Frame } from '../../harness/packet.js';
import { AgentLab, metricValue, flowDuration } from './lab.js';

const skip = missingPrerequisites([...KERNEL_TOOLS, ...OVS_TOOLS]);
const A = ['192.0.2.11', '192.0.2.12', '192.0.2.13'];

describe.skipIf(skip)('agent: restarts and a shared bridge', () => {
  let lab: AgentLab;
  beforeEach(async () => {
    lab = new AgentLab({ vteps: A });
    await lab.setup();
  });
  afterEach(async () => {
    await lab.teardown();
  });

  it('survives its own restart and ovs-vswitchd\'s without churn, and never touches another controller\'s flows and groups', async () => {
    // Another controller on the same bridge: its group (outside our range), its flow (another cookie).
    await lab.ovs.ofctl('add-group', 'br-evpn', 'group_id=7,type=select,bucket=bucket_id:0,actions=drop');
    await lab.ovs.ofctl('add-flow', 'br-evpn', 'cookie=0x1234,table=0,priority=5,dl_type=0x88cc,actions=drop');
    await lab.ovs.ofctl('add-flow', 'br-evpn', 'cookie=0x1234,table=1,priority=100,metadata=0x64,dl_dst=02:00:00:00:09:99,actions=drop');
    lab.writeState([
      { name: 'web', vni: 100, vteps: [{ ip: A[0]!, weight: 3 }, { ip: A[1]!, weight: 1 }], macs: ['02:00:00:00:00:aa', '02:00:00:00:00:ab'] },
      { name: 'db', vni: 100, vteps: [{ ip: A[1]!, weight: 1 }, { ip: A[2]!, weight: 1 }], macs: ['02:00:00:00:00:bb'] },
    ]);
    lab.startAgent();
    const first = await lab.waitReady(1);
    for (let i = 0; i < 20; i++) {
      await lab.ovs.receive('p100', udpIpv4Frame({ srcMac: '02:00:00:00:01:01', dstMac: '02:00:00:00:00:aa', srcIp: '10.0.0.1', dstIp: '10.0.0.2', srcPort: 1000 + i, dstPort: 80 }).toString('hex'));
    }
    await lab.ovs.settleStats();
    const statsBefore = (await lab.ovs.ofctl('dump-group-stats', 'br-evpn', `group_id=${first.groups!.find((g) => g.name === 'web')!.ofGroupId}`)).stdout;
    const packetsBefore = Number(/packet_count=(\d+)/.exec(statsBefore)?.[1]);
    expect(packetsBefore).toBe(20);
    const flowsBefore = await lab.dumpFlows();
    const groupsBefore = await lab.dumpGroups();
    const nexthopsBefore = await lab.ns.ipJson('nexthop', 'show');
    const fdbBefore = await lab.ns.bridgeJson('fdb', 'show', 'dev', 'evpn-100');

    // --- agent restart: nothing is deleted and re-added.
    expect(await lab.stopAgent()).toBe(0);
    await new Promise((r) => setTimeout(r, 1100));
    const restartedAt = Date.now();
    lab.startAgent();
    const metricsAfter = async () => lab.metrics();
    await lab.waitStatus('status after restart', (s) => s.conditions?.find((c) => c.type === 'Ready')?.status === 'True' && s.observedGeneration === 1 && s.lastSyncTime !== undefined && Date.parse(s.lastSyncTime) >= restartedAt - 1000);
    expect(Date.now() - restartedAt).toBeLessThan(10_000);
    const again = lab.status()!;
    expect(again.groups!.map((g) => [g.name, g.nexthopGroupId, g.ofGroupId])).toEqual(first.groups!.map((g) => [g.name, g.nexthopGroupId, g.ofGroupId]));
    expect(await lab.ns.ipJson('nexthop', 'show')).toEqual(nexthopsBefore);
    expect((await lab.ns.bridgeJson('fdb', 'show', 'dev', 'evpn-100')).length).toBe(fdbBefore.length);
    expect((await lab.dumpGroups()).sort()).toEqual([...groupsBefore].sort());
    const flowsAfter = await lab.dumpFlows();
    expect(flowsAfter.length).toBe(flowsBefore.length);
    for (const f of flowsAfter.filter((l) => l.includes('dl_dst=02:00:00:00:00:aa'))) expect(flowDuration(f)).toBeGreaterThan(1);
    const statsAfter = (await lab.ovs.ofctl('dump-group-stats', 'br-evpn', `group_id=${first.groups!.find((g) => g.name === 'web')!.ofGroupId}`)).stdout;
    expect(Number(/packet_count=(\d+)/.exec(statsAfter)?.[1])).toBe(20);
    const m = await metricsAfter();
    expect(metricValue(m, 'evpn_agent_openflow_group_mods_total', { command: 'add' }) ?? 0).toBe(0);
    expect(metricValue(m, 'evpn_agent_openflow_flow_mods_total', { command: 'add' }) ?? 0).toBe(0);
    expect(metricValue(m, 'evpn_agent_kernel_writes_total', { op: 'setGroup' }) ?? 0).toBe(0);

    // --- ovs-vswitchd crash and restart: the agent reconnects and reprograms.
    await lab.ovs.killVswitchd();
    await lab.waitStatus('OvsConnected false', (s) => s.conditions?.find((c) => c.type === 'OvsConnected')?.status === 'False');
    await lab.ovs.startVswitchd();
    await lab.waitStatus('reprogrammed after vswitchd restart', (s) => s.conditions?.find((c) => c.type === 'Ready')?.status === 'True', 30_000);
    const reprogrammed = await lab.dumpGroups();
    // The other controller's group is gone with vswitchd (nobody replays it); ours are back with the same ids.
    expect(reprogrammed.filter((g) => !g.includes('group_id=7,')).sort()).toEqual(groupsBefore.filter((g) => !g.includes('group_id=7,')).sort());
    const m2 = await lab.metrics();
    expect(metricValue(m2, 'evpn_agent_ovs_reconnects_total')).toBeGreaterThanOrEqual(1);
    await lab.ovs.ofctl('add-group', 'br-evpn', 'group_id=7,type=select,bucket=bucket_id:0,actions=drop');
    await lab.ovs.ofctl('add-flow', 'br-evpn', 'cookie=0x1234,table=1,priority=100,metadata=0x64,dl_dst=02:00:00:00:09:99,actions=drop');

    // --- a spec change removing a group: the other controller's objects stay.
    lab.writeState([{ name: 'web', vni: 100, vteps: [{ ip: A[0]!, weight: 1 }], macs: ['02:00:00:00:00:aa'] }]);
    await lab.waitReady(2);
    const groups = await lab.dumpGroups();
    expect(groups.some((g) => g.includes('group_id=7,'))).toBe(true);
    expect(groups).toHaveLength(2);
    const flows = await lab.dumpFlows();
    expect(flows.some((f) => f.includes('cookie=0x1234') && f.includes('dl_dst=02:00:00:00:09:99'))).toBe(true);
    expect(flows.some((f) => f.includes('dl_dst=02:00:00:00:00:bb'))).toBe(false);
    // The kernel: db's group is gone, the shared VTEP nexthop of web stays.
    const nexthops = await lab.ns.ipJson<{ id: number; gateway?: string }>('nexthop', 'show');
    expect(nexthops.filter((n) => n.gateway !== undefined).map((n) => n.gateway)).toEqual([A[0]]);
  });
});
