import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KERNEL_TOOLS, OVS_TOOLS, missingPrerequisites } from '../../harness/prereq.js';
import { AgentLab, metricValue } from './lab.js';

const skip = missingPrerequisites([...KERNEL_TOOLS, ...OVS_TOOLS]);
const A = ['192.0.2.11', '192.0.2.12'];
const web = { name: 'web', vni: 100, vteps: [{ ip: A[0]!, weight: 3 }, { ip: A[1]!, weight: 1 }], macs: ['02:00:00:00:00:aa'] };

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(skip)('agent: bad input and broken surroundings', () => {
  let lab: AgentLab;
  beforeEach(async () => {
    lab = new AgentLab({ vteps: A, vnis: [100], agentArgs: ['--audit-interval', '1'] });
    await lab.setup();
  });
  afterEach(async () => {
    await lab.teardown();
  });

  it('keeps the last good state on a bad state file and says which field is wrong', async () => {
    lab.writeState([web]);
    lab.startAgent();
    await lab.waitReady(1);
    const groups = await lab.dumpGroups();

    const bad = lab.stateObject([{ ...web, vteps: [{ ip: A[0]!, weight: 0 }] }]);
    lab.writeRawState(JSON.stringify(bad));
    let s = await lab.waitStatus('StateRejected', (st) => st.conditions?.find((c) => c.type === 'Ready')?.reason === 'StateRejected');
    const ready = s.conditions!.find((c) => c.type === 'Ready')!;
    expect(ready.message).toContain('spec.groups[0].vteps[0].weight');
    expect(lab.logLines.some((l) => l.includes('"level":"error"') && l.includes('spec.groups[0].vteps[0].weight'))).toBe(true);
    expect(s.groups![0]!.state).toBe('Programmed'); // the previous state keeps running
    expect(await lab.dumpGroups()).toEqual(groups);

    lab.writeRawState('spec: [unclosed');
    s = await lab.waitStatus('YAML error', (st) => st.conditions?.find((c) => c.type === 'Ready')?.message.includes('not valid YAML') ?? false);
    expect(lab.agent?.exitCode).toBeNull();

    lab.writeState([{ ...web, generation: 2, vteps: [{ ip: A[0]!, weight: 1 }, { ip: A[1]!, weight: 1 }] }]);
    await lab.waitReady(lab.currentGeneration);
    expect((await lab.dumpGroups())[0]).not.toContain('weight:3');
  });

  it('never touches a device of another owner in the way: reports the group, and creates its own once the name is free', async () => {
    // Someone else's bridge holds the name the VNI 200 VXLAN device needs.
    await lab.ns.ip('link', 'add', 'evpn-200', 'type', 'bridge');
    lab.writeState([web, { name: 'late', vni: 200, vteps: [{ ip: A[1]! }], macs: ['02:00:00:00:02:00'] }]);
    lab.startAgent();
    let s = await lab.waitStatus('late invalid, web programmed', (st) =>
      st.groups?.find((g) => g.name === 'late')?.state === 'Invalid' && st.groups?.find((g) => g.name === 'web')?.state === 'Programmed');
    expect(s.groups!.find((g) => g.name === 'late')!.message).toContain('NoVxlanDevice: evpn-200 is not a VXLAN device of VNI 200');
    expect(s.conditions!.find((c) => c.type === 'KernelSynced')!.message).toContain('evpn-200 exists and is not the agent\'s');
    expect(s.summary?.invalid).toBe(1);
    expect(lab.logLines.some((l) => l.includes('"group refused"') && l.includes('evpn-200'))).toBe(true);
    const [theirs] = await lab.ns.ipJson<{ linkinfo?: { info_kind?: string }; ifalias?: string }>('-d', 'link', 'show', 'evpn-200');
    expect([theirs?.linkinfo?.info_kind, theirs?.ifalias]).toEqual(['bridge', undefined]);
    await lab.ns.ip('link', 'del', 'evpn-200');
    // (An Invalid group does not hold the node's Ready back: wait for the group itself.)
    s = await lab.waitStatus('late programmed', (st) => st.groups?.find((g) => g.name === 'late')?.state === 'Programmed');
    expect(s.conditions!.find((c) => c.type === 'Ready')!.status).toBe('True');
    const [ours] = await lab.ns.ipJson<{ linkinfo?: { info_kind?: string; info_data?: { id?: number } }; ifalias?: string }>('-d', 'link', 'show', 'evpn-200');
    expect([ours?.linkinfo?.info_kind, ours?.linkinfo?.info_data?.id, ours?.ifalias]).toEqual(['vxlan', 200, 'evpn-ecmp:vxlan']);
    const fdb = await lab.ns.bridgeJson<{ mac: string; nhid?: number }>('fdb', 'show', 'dev', 'evpn-200');
    expect(fdb.find((e) => e.mac === '02:00:00:00:02:00')?.nhid).toBe(s.groups!.find((g) => g.name === 'late')!.nexthopGroupId);
  });

  it('programs the kernel while OVS is unreachable, and OVS once it is back', async () => {
    await lab.ovs.killVswitchd();
    lab.writeState([web]);
    lab.startAgent();
    const s = await lab.waitStatus('kernel synced, OVS unreachable', (st) =>
      st.conditions?.find((c) => c.type === 'KernelSynced')?.status === 'True' && /br-evpn\.mgmt/.test(st.conditions?.find((c) => c.type === 'OvsConnected' && c.status === 'False')?.message ?? ''));
    expect(s.groups![0]!.state).toBe('Pending');
    expect(s.groups![0]!.message).toContain('Open vSwitch not connected');
    expect((await lab.ns.bridgeJson<{ mac: string }>('fdb', 'show', 'dev', 'evpn-100')).some((e) => e.mac === '02:00:00:00:00:aa')).toBe(true);
    expect(lab.logLines.some((l) => l.includes('cannot reach Open vSwitch'))).toBe(true);
    await lab.ovs.startVswitchd();
    await lab.waitReady(1, 30_000);
    expect(await lab.dumpGroups()).toHaveLength(1);
  });

  it('never touches a nexthop of another protocol inside its id range, and reports the conflict', async () => {
    // Someone else's nexthop on the first id of our range (protocol static).
    await lab.ns.ip('nexthop', 'add', 'id', '3959422976', 'via', '192.0.2.99', 'fdb', 'proto', 'static');
    lab.writeState([web]);
    lab.startAgent();
    const s = await lab.waitStatus('conflict reported', (st) => {
      const c = st.conditions?.find((x) => x.type === 'KernelSynced');
      return c?.status === 'False' && c.message.includes('nexthop 3959422976');
    });
    expect(s.conditions!.find((c) => c.type === 'KernelSynced')!.message).toContain('another protocol');
    const [foreign] = await lab.ns.ipJson<{ id: number; gateway: string; protocol: string }>('nexthop', 'show', 'id', '3959422976');
    expect(foreign).toMatchObject({ gateway: '192.0.2.99', protocol: 'static' });
    // Our group still works, on other ids.
    expect(s.groups![0]!.nexthopGroupId).not.toBe(3959422976);
    await until('OVS programmed', async () => (await lab.dumpGroups()).length === 1);
  });

  it('repairs drift found by the audit, counts it and shows it', async () => {
    lab.writeState([web]);
    lab.startAgent();
    const s = await lab.waitReady(1);
    const flow = (await lab.dumpFlows()).find((f) => f.includes('dl_dst=02:00:00:00:00:aa'))!;
    expect(flow).toBeDefined();
    // Steady state: audits (every second here) find nothing.
    await new Promise((r) => setTimeout(r, 2500));
    const quiet = await lab.metrics();
    expect(metricValue(quiet, 'evpn_agent_drift_repairs_total', { dataplane: 'kernel' }) ?? 0).toBe(0);
    expect(metricValue(quiet, 'evpn_agent_drift_repairs_total', { dataplane: 'ovs' }) ?? 0).toBe(0);
    expect(lab.condition('DataplaneDrift')?.status).toBe('False');
    // Someone removes our flow behind the agent's back (no event reaches it), and our FDB entry.
    await lab.ovs.ofctl('del-flows', 'br-evpn', '--strict', 'table=1,priority=100,metadata=0x64,dl_dst=02:00:00:00:00:aa');
    await lab.ns.bridge('fdb', 'del', '02:00:00:00:00:aa', 'dev', 'evpn-100', 'self');
    await until('flow restored', async () => (await lab.dumpFlows()).some((f) => f.includes('dl_dst=02:00:00:00:00:aa')));
    await until('fdb restored', async () => (await lab.ns.bridgeJson<{ mac: string; nhid?: number }>('fdb', 'show', 'dev', 'evpn-100')).some((e) => e.mac === '02:00:00:00:00:aa' && e.nhid === s.groups![0]!.nexthopGroupId));
    await until('drift counted', async () => (metricValue(await lab.metrics(), 'evpn_agent_drift_repairs_total', { dataplane: 'ovs' }) ?? 0) >= 1);
    const st = await lab.waitStatus('drift shown', (x) => (x.conditions?.find((c) => c.type === 'DataplaneDrift')?.message ?? '').includes('dl_dst=02:00:00:00:00:aa'));
    expect(st.conditions!.find((c) => c.type === 'DataplaneDrift')!.message).toMatch(/repaired/);
  });
});
