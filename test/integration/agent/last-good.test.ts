/**
 * Issue 18 against the real kernel and ovs-vswitchd (standalone agent in its
 * own namespace): a group whose spec turns invalid keeps what it had; a MAC
 * two groups claim is withheld from both, nothing else; an exhausted
 * OpenFlow group id range is said in status, a condition and a metric.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KERNEL_TOOLS, OVS_TOOLS, missingPrerequisites } from '../../harness/prereq.js';
import { AgentLab, metricValue, type Status } from './lab.js';

const skip = missingPrerequisites([...KERNEL_TOOLS, ...OVS_TOOLS]);
const A = ['192.0.2.11', '192.0.2.12', '192.0.2.13'];
const web = { name: 'web', vni: 100, vteps: [{ ip: A[0]!, weight: 3 }, { ip: A[1]!, weight: 1 }], macs: ['02:00:00:00:00:aa', '02:00:00:00:00:ab', '02:00:00:00:00:ac'] };

interface NexthopJson { id: number; gateway?: string; group?: Array<{ id: number; weight?: number }> }
interface FdbJson { mac: string; nhid?: number; dst?: string }

const group = (s: Status, name: string) => s.groups?.find((g) => g.name === name);
const condition = (s: Status, type: string) => s.conditions?.find((c) => c.type === type);

describe.skipIf(skip)('agent: last good state and exhaustion, on the real kernel and Open vSwitch', () => {
  let lab: AgentLab;
  beforeEach(async () => {
    lab = new AgentLab({ vteps: A, vnis: [100] });
    await lab.setup();
  });
  afterEach(async () => {
    await lab.teardown();
  });

  /** What the node forwards: kernel nexthops and ECMP FDB entries (iproute2), OpenFlow groups and flows (ovs-ofctl). */
  async function dataplane() {
    const nexthops = (await lab.ns.ipJson<NexthopJson>('nexthop', 'show')).map((n) => ({ id: n.id, gateway: n.gateway, group: n.group })).sort((a, b) => a.id - b.id);
    const fdb = (await lab.ns.bridgeJson<FdbJson>('fdb', 'show', 'dev', 'evpn-100')).filter((e) => e.nhid !== undefined).map((e) => `${e.mac} nhid ${e.nhid}`).sort();
    const groups = [...(await lab.dumpGroups()), ...(await lab.dumpFloodGroups())].sort();
    // Flow identity without the counters that move on their own.
    const flows = (await lab.dumpFlows()).map((l) => l.replace(/ (duration|n_packets|n_bytes|idle_age|hard_age)=[^,]*,?/g, '')).sort();
    return { nexthops, fdb, groups, flows };
  }

  it('a group whose VTEP is mistyped (192.0.2.011) keeps its programmed state, reported Invalid; the node says Degraded', async () => {
    lab.writeState([web]);
    lab.startAgent();
    await lab.waitReady(1);
    const good = await dataplane();
    expect(good.fdb).toHaveLength(3);

    lab.writeState([{ ...web, generation: 2, vteps: [{ ip: '192.0.2.011', weight: 3 }, { ip: A[1]!, weight: 1 }] }]);
    const s = await lab.waitStatus('web Invalid at generation 2', (st) => st.observedGeneration === lab.currentGeneration && group(st, 'web')?.state === 'Invalid');
    expect(group(s, 'web')!.message).toMatch(/^InvalidSpec: vteps\[0\]\.ip: .*; keeping generation 1, its last good version/);
    expect(group(s, 'web')!.appliedGeneration).toBe(1);
    expect(condition(s, 'Degraded')).toMatchObject({ status: 'True', reason: 'GroupsInvalid' });
    // Give a wrong agent the time to withdraw, then look again.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await dataplane()).toEqual(good);

    // The agent restarted with the bad spec still in place: it keeps what the kernel holds.
    await lab.stopAgent();
    lab.startAgent();
    await lab.waitStatus('web Invalid after the restart', (st) => group(st, 'web')?.message?.includes('keeping what the kernel holds') === true && condition(st, 'OvsSynced')?.status === 'True', 30_000);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await dataplane()).toEqual(good);
  });

  it('a newcomer sharing one MAC takes nothing from the existing group but that MAC', async () => {
    lab.writeState([web]);
    lab.startAgent();
    await lab.waitReady(1);
    lab.writeState([web, { name: 'aaa', vni: 100, vteps: [{ ip: A[2]! }], macs: ['02:00:00:00:00:ab', '02:00:00:00:00:ff'] }]);
    const s = await lab.waitStatus('both groups placed', (st) => st.observedGeneration === lab.currentGeneration && group(st, 'aaa')?.state === 'Invalid' && condition(st, 'OvsSynced')?.status === 'True');
    const fdb = await lab.ns.bridgeJson<FdbJson>('fdb', 'show', 'dev', 'evpn-100');
    const nhidOf = (mac: string) => fdb.find((e) => e.mac === mac)?.nhid;
    expect(nhidOf('02:00:00:00:00:aa')).toBe(group(s, 'web')!.nexthopGroupId);
    expect(nhidOf('02:00:00:00:00:ac')).toBe(group(s, 'web')!.nexthopGroupId);
    expect(nhidOf('02:00:00:00:00:ff')).toBe(group(s, 'aaa')!.nexthopGroupId);
    expect(nhidOf('02:00:00:00:00:ab')).toBeUndefined();
    expect(group(s, 'web')).toMatchObject({ state: 'Invalid', macs: 2, message: expect.stringContaining('MacConflict: MAC 02:00:00:00:00:ab (also group aaa)') });
    const macFlows = (await lab.dumpFlows()).map((l) => /dl_dst=([0-9a-f:]{17})/.exec(l)?.[1]).filter(Boolean).sort();
    expect(macFlows).toEqual(['02:00:00:00:00:aa', '02:00:00:00:00:ac', '02:00:00:00:00:ff']);
  });

  it('an OpenFlow group id range too small for the flood group is a reason, a condition and a metric', async () => {
    // One id: the select group of web takes it; VNI 100 (a local port) gets no flood group.
    lab.writeState([web], { ovs: { groupIdRange: { start: 65536, size: 1 } } });
    lab.startAgent();
    const s = await lab.waitStatus('Degraded IdRangeExhausted', (st) => condition(st, 'Degraded')?.reason === 'IdRangeExhausted' && condition(st, 'OvsSynced')?.status === 'True');
    expect(s.flood).toEqual([{ vni: 100, vteps: 2, message: expect.stringMatching(/^GroupIdRangeExhausted: ovs.groupIdRange \(65536-65536, 1 ids\) has no free id for the VNI's flood group/) }]);
    expect(condition(s, 'Degraded')!.message).toContain('VNI 100 without a flood group');
    expect(group(s, 'web')).toMatchObject({ state: 'Programmed', ofGroupId: 65536 });
    expect(await lab.dumpFloodGroups()).toEqual([]);
    expect(metricValue(await lab.metrics(), 'evpn_agent_id_range_exhausted', { range: 'groupIdRange' })).toBe(1);
    expect(lab.logLines.some((l) => l.includes('"msg":"degraded"') && l.includes('IdRangeExhausted'))).toBe(true);

    // Room for both: the flood group appears, the condition and the metric clear.
    lab.writeState([web], { ovs: { groupIdRange: { start: 65536, size: 2 } } });
    await lab.waitStatus('not Degraded', (st) => condition(st, 'Degraded')?.status === 'False' && st.flood?.[0]?.ofGroupId !== undefined && condition(st, 'OvsSynced')?.status === 'True');
    expect(await lab.dumpFloodGroups()).toHaveLength(1);
    expect(metricValue(await lab.metrics(), 'evpn_agent_id_range_exhausted', { range: 'groupIdRange' })).toBe(0);
  });
});
