import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KERNEL_TOOLS, OVS_TOOLS, missingPrerequisites } from '../../harness/prereq.js';
import { AgentLab, metricValue, flowDuration } from './lab.js';

const skip = missingPrerequisites([...KERNEL_TOOLS, ...OVS_TOOLS]);
const A = ['192.0.2.11', '192.0.2.12'];

function macs(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `02:00:00:${((i >> 16) & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`);
}

describe.skipIf(skip)('agent: weight changes', () => {
  let lab: AgentLab;
  beforeEach(async () => {
    lab = new AgentLab({ vteps: A });
    await lab.setup();
  });
  afterEach(async () => {
    await lab.teardown();
  });

  it('modifies the same OpenFlow group in place: one group mod for 10,000 MACs, no flow touched', async () => {
    const all = macs(10_000);
    lab.writeState([{ name: 'web', vni: 100, vteps: [{ ip: A[0]!, weight: 3 }, { ip: A[1]!, weight: 1 }], macs: all }]);
    lab.startAgent();
    const before = await lab.waitReady(1, 60_000);
    const web = before.groups![0]!;
    expect(web.macs).toBe(10_000);
    const flowsBefore = (await lab.dumpFlows()).filter((f) => f.includes('dl_dst='));
    expect(flowsBefore).toHaveLength(10_000);
    const sample = flowsBefore.find((f) => f.includes(`dl_dst=${all[0]}`))!;
    const metricsBefore = await lab.metrics();
    const modsBefore = metricValue(metricsBefore, 'evpn_agent_openflow_group_mods_total', { command: 'modify' }) ?? 0;
    const flowModsBefore = ['add', 'modifyStrict', 'deleteStrict'].map((c) => metricValue(metricsBefore, 'evpn_agent_openflow_flow_mods_total', { command: c }) ?? 0);

    await new Promise((r) => setTimeout(r, 1100)); // let flow durations visibly advance
    lab.writeState([{ name: 'web', generation: 2, vni: 100, vteps: [{ ip: A[0]!, weight: 1 }, { ip: A[1]!, weight: 1 }], macs: all }]);
    const after = await lab.waitReady(2, 60_000);
    const webAfter = after.groups![0]!;
    expect(webAfter.appliedGeneration).toBe(2);
    expect(webAfter.ofGroupId).toBe(web.ofGroupId);
    expect(webAfter.nexthopGroupId).toBe(web.nexthopGroupId);
    // 3:1 was 12 and 4 of 16 hash slots: four changed VTEP.
    expect(webAfter.paths).toEqual([{ vtep: A[0], weight: 1, slots: 8 }, { vtep: A[1], weight: 1, slots: 8 }]);

    // Kernel: the group was replaced in place.
    const [group] = await lab.ns.ipJson<{ id: number; group: Array<{ id: number; weight?: number }> }>('nexthop', 'show', 'id', String(web.nexthopGroupId));
    expect(group!.group.map((m) => m.weight ?? 1)).toEqual([1, 1]);

    // OVS: same group id, new weights; the flows were never deleted or re-added.
    const groups = await lab.dumpGroups();
    expect(groups).toHaveLength(1);
    expect(groups[0]).toContain(`group_id=${web.ofGroupId},`);
    expect(groups[0]).not.toContain('weight:3');
    const metricsAfter = await lab.metrics();
    expect((metricValue(metricsAfter, 'evpn_agent_openflow_group_mods_total', { command: 'modify' }) ?? 0) - modsBefore).toBe(1);
    const flowModsAfter = ['add', 'modifyStrict', 'deleteStrict'].map((c) => metricValue(metricsAfter, 'evpn_agent_openflow_flow_mods_total', { command: c }) ?? 0);
    expect(flowModsAfter).toEqual(flowModsBefore);
    const sampleAfter = (await lab.dumpFlows()).find((f) => f.includes(`dl_dst=${all[0]}`))!;
    expect(flowDuration(sampleAfter)).toBeGreaterThan(flowDuration(sample) + 1);
  });
});
