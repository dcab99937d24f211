/**
 * Issue 11: per-VNI flood lists. The kernel's all-zeros-MAC FDB entries of
 * a VNI (ours from the spec, and those other software appends) become one
 * OpenFlow `all` group per VNI; broadcast, multicast and unknown unicast
 * from a local port are replicated to every flood VTEP and every other
 * local port of the VNI; tunnel traffic goes to local ports only.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KERNEL_TOOLS, OVS_TOOLS, missingPrerequisites } from '../../harness/prereq.js';
import { arpRequest, macString, readPcap, udpIpv4Frame } from '../../harness/packet.js';
import { run } from '../../harness/exec.js';
import { AgentLab, metricValue, vtepMac } from './lab.js';

const CLI = new URL('./run-cli.ts', import.meta.url).pathname;

const skip = missingPrerequisites([...KERNEL_TOOLS, ...OVS_TOOLS]);
const A = ['192.0.2.11', '192.0.2.12'];
/** A VTEP that only "another EVPN speaker" puts in the flood list (bridge fdb append by hand). */
const OTHER = '192.0.2.13';
/** Appended and removed during the test. */
const LATE = '192.0.2.14';
const ZERO = '00:00:00:00:00:00';
const BROADCAST = 'ff:ff:ff:ff:ff:ff';

interface FdbJson { mac: string; dst?: string; ifname?: string }

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(skip)('agent: flood lists (BUM traffic)', () => {
  let lab: AgentLab;
  let pcapA: string;
  let pcapB: string;
  let pcap200: string;

  beforeEach(async () => {
    lab = new AgentLab({ vteps: [...A, OTHER, LATE], vnis: [100, 200] });
    await lab.setup();
    pcapA = join(lab.ovs.dir, 'l100a.pcap');
    pcapB = join(lab.ovs.dir, 'l100b.pcap');
    pcap200 = join(lab.ovs.dir, 'l200.pcap');
    await lab.ovs.addDummyPort('br-evpn', 'l100a', { externalIds: { 'evpn-vni': '100' }, txPcap: pcapA });
    await lab.ovs.addDummyPort('br-evpn', 'l100b', { externalIds: { 'evpn-vni': '100' }, txPcap: pcapB });
    await lab.ovs.addDummyPort('br-evpn', 'l200', { externalIds: { 'evpn-vni': '200' }, txPcap: pcap200 });
    // Another EVPN speaker's flood entry, there before the agent starts.
    await lab.ns.bridge('fdb', 'append', ZERO, 'dev', 'evpn-100', 'dst', OTHER);
  });
  afterEach(async () => {
    await lab.teardown();
  });

  const floodDsts = async (dev = 'evpn-100'): Promise<string[]> =>
    (await lab.ns.bridgeJson<FdbJson>('fdb', 'show', 'dev', dev)).filter((e) => e.mac === ZERO).map((e) => e.dst ?? '').sort();

  const floodGroupOf = async (vni: number): Promise<{ id: number; text: string }> => {
    const s = await lab.waitStatus(`flood group of VNI ${vni}`, (st) => st.flood?.find((f) => f.vni === vni)?.ofGroupId !== undefined);
    const id = s.flood!.find((f) => f.vni === vni)!.ofGroupId!;
    const text = (await lab.dumpFloodGroups()).find((g) => g.includes(`group_id=${id},`)) ?? '';
    return { id, text };
  };

  async function start(extra: string[] = []): Promise<void> {
    lab.writeState([{ name: 'web', vni: 100, vteps: [{ ip: A[0]! }, { ip: A[1]! }], macs: ['02:00:00:00:00:aa'] }]);
    lab.startAgent(extra);
    await lab.waitReady(1);
  }

  it('replicates a broadcast from a local port to every flood VTEP and the other local ports of the VNI, never back to its port', async () => {
    await start();
    // Kernel: our entries for the group's VTEPs next to the other speaker's.
    await until('flood entries in the kernel', async () => (await floodDsts()).length === 3);
    expect(await floodDsts()).toEqual([...A, OTHER].sort());

    // OVS: one `all` group for VNI 100 with a bucket per VTEP and per local port; the flood flow at the lowest priority.
    const status = await lab.waitStatus('flood list of VNI 100 in status', (s) => s.flood?.find((f) => f.vni === 100)?.vteps === 3);
    expect(status.flood!.find((f) => f.vni === 200)).toMatchObject({ vni: 200, vteps: 0 });
    const { id, text } = await floodGroupOf(100);
    expect(id).toBeGreaterThanOrEqual(65536);
    expect(id).toBeLessThan(65536 * 2);
    expect(text).toContain('type=all');
    for (const ip of [...A, OTHER]) expect(text).toContain(`set_field:${ip}->tun_dst`);
    const ofport = async (name: string) => lab.ovs.ofport(name);
    for (const p of ['p100', 'l100a', 'l100b']) expect(text).toMatch(new RegExp(`actions=output:${await ofport(p)}(,|$)`));
    expect(text).not.toContain(`output:${await ofport('l200')}`);
    const flows = await lab.dumpFlows();
    const floodFlow = flows.find((f) => f.includes(`group:${id}`));
    expect(floodFlow).toMatch(/table=1, .*priority=1,metadata=0x64 /);
    expect(floodFlow).toContain('set_field:0x64->tun_id');
    // `evpn-ecmp inspect ovs` names the flood group of each VNI.
    const inspect = await run(process.execPath, ['--import', 'tsx', CLI, 'inspect', 'ovs', '--bridge', 'br-evpn', '--ovs-rundir', lab.ovs.rundir, '--json']);
    const view = JSON.parse(inspect.stdout) as { flood: Array<{ vni: number; group_id: number; buckets: number }> };
    expect(view.flood.find((f) => f.vni === 100)).toMatchObject({ group_id: id, buckets: 3 + 3 });
    expect(view.flood.find((f) => f.vni === 200)).toMatchObject({ group_id: status.flood!.find((f) => f.vni === 200)!.ofGroupId, buckets: 2 });

    // An ARP request (broadcast) on l100a.
    const arp = arpRequest('02:00:00:00:01:01', '10.0.0.1', '10.0.0.2');
    await lab.ovs.receive('l100a', arp.toString('hex'));
    await until('one copy per flood VTEP', () => lab.underlay.vxlanFrames().length >= 3);
    await until('the other local port', () => readPcap(pcapB).length >= 1);
    await new Promise((r) => setTimeout(r, 300)); // anything extra would arrive by now
    const frames = lab.underlay.vxlanFrames();
    expect(frames.map((f) => f.outerDstIp).sort()).toEqual([...A, OTHER].sort());
    for (const f of frames) {
      expect(f.vni).toBe(100);
      expect(f.outerSrcIp).toBe('192.0.2.1');
      expect(f.outerDstMac).toBe(vtepMac(f.outerDstIp));
      expect(macString(f.inner, 0)).toBe(BROADCAST);
      expect(f.inner.equals(arp)).toBe(true);
    }
    expect(readPcap(pcapB)).toHaveLength(1);
    expect(readPcap(pcapA)).toHaveLength(0); // OVS skips output to the in_port
    expect(readPcap(pcap200)).toHaveLength(0);

    // Unknown unicast and multicast take the same way; a known MAC does not.
    await lab.ovs.receive('l100b', udpIpv4Frame({ srcMac: '02:00:00:00:01:02', dstMac: '02:00:00:00:99:99', srcIp: '10.0.0.3', dstIp: '10.0.0.9', srcPort: 1, dstPort: 2 }).toString('hex'));
    await lab.ovs.receive('l100b', udpIpv4Frame({ srcMac: '02:00:00:00:01:02', dstMac: '01:00:5e:00:00:fb', srcIp: '10.0.0.3', dstIp: '224.0.0.251', srcPort: 5353, dstPort: 5353 }).toString('hex'));
    await lab.ovs.receive('l100b', udpIpv4Frame({ srcMac: '02:00:00:00:01:02', dstMac: '02:00:00:00:00:aa', srcIp: '10.0.0.3', dstIp: '10.0.0.2', srcPort: 3, dstPort: 4 }).toString('hex'));
    await until('unknown unicast and multicast flooded', () => lab.underlay.vxlanFrames().length >= 3 + 3 * 2 + 1 && readPcap(pcapA).length >= 2);
    await new Promise((r) => setTimeout(r, 300));
    expect(lab.underlay.vxlanFrames()).toHaveLength(3 + 3 * 2 + 1);
    expect(readPcap(pcapA).map((f) => macString(f, 0))).toEqual(['02:00:00:00:99:99', '01:00:5e:00:00:fb']);
    expect(readPcap(pcapB)).toHaveLength(1);
    expect(readPcap(pcap200)).toHaveLength(0);
  });

  it('delivers broadcast and unknown unicast from the tunnel to the local ports of the VNI only, never back into the fabric', async () => {
    await start();
    await floodGroupOf(100);
    const { stdout } = await lab.ovs.vsctl('get', 'Interface', 'br-underlay', 'mac_in_use');
    const nodeMac = stdout.trim().replace(/"/g, '');
    const vxlanHeader = Buffer.from([0x08, 0, 0, 0, 0, 0, 100, 0]);
    const fromFabric = (inner: Buffer) =>
      udpIpv4Frame({ srcMac: vtepMac(A[0]!), dstMac: nodeMac, srcIp: A[0]!, dstIp: '192.0.2.1', srcPort: 55_555, dstPort: 4789, payload: Buffer.concat([vxlanHeader, inner]) });
    const arp = arpRequest('02:00:00:00:00:aa', '10.0.0.2', '10.0.0.1');
    const unknown = udpIpv4Frame({ srcMac: '02:00:00:00:00:aa', dstMac: '02:00:00:00:77:77', srcIp: '10.0.0.2', dstIp: '10.0.0.7', srcPort: 80, dstPort: 10_000 });
    await lab.ovs.receive('nic0', fromFabric(arp).toString('hex'));
    await lab.ovs.receive('nic0', fromFabric(unknown).toString('hex'));
    await until('delivery to both local ports of VNI 100', () => readPcap(pcapA).length >= 2 && readPcap(pcapB).length >= 2);
    await new Promise((r) => setTimeout(r, 300));
    for (const pcap of [pcapA, pcapB]) {
      const got = readPcap(pcap);
      expect(got).toHaveLength(2); // exactly once each
      expect(got[0]!.equals(arp)).toBe(true);
      expect(got[1]!.equals(unknown)).toBe(true);
    }
    expect(readPcap(pcap200)).toHaveLength(0);
    // Split horizon: nothing went back out to the fabric.
    expect(lab.underlay.vxlanFrames()).toHaveLength(0);
  });

  it('modifies the flood group in place when a VTEP is appended to or removed from the kernel, and removes only its own entries with the last group', async () => {
    await start();
    const before = await floodGroupOf(100);
    const modsBefore = metricValue(await lab.metrics(), 'evpn_agent_openflow_group_mods_total', { command: 'modify' }) ?? 0;
    const flowBefore = (await lab.dumpFlows()).find((f) => f.includes(`group:${before.id}`));
    expect(flowBefore).toBeDefined();

    await lab.ns.bridge('fdb', 'append', ZERO, 'dev', 'evpn-100', 'dst', LATE);
    await until('the appended VTEP in the flood group', async () => (await lab.dumpFloodGroups()).some((g) => g.includes(`group_id=${before.id},`) && g.includes(`${LATE}->tun_dst`)));
    await lab.waitStatus('4 flood VTEPs', (s) => s.flood?.find((f) => f.vni === 100)?.vteps === 4);
    // Same group id, a MODIFY (no add/delete), and the flood flow untouched.
    const metrics = await lab.metrics();
    expect(metricValue(metrics, 'evpn_agent_openflow_group_mods_total', { command: 'modify' })).toBeGreaterThan(modsBefore);
    expect((await lab.dumpFlows()).filter((f) => f.includes(`group:${before.id}`))).toHaveLength(1);
    await lab.ovs.receive('l100a', arpRequest('02:00:00:00:01:01', '10.0.0.1', '10.0.0.4').toString('hex'));
    await until('four copies', () => lab.underlay.vxlanFrames().length >= 4);
    expect(lab.underlay.vxlanFrames().map((f) => f.outerDstIp).sort()).toEqual([...A, OTHER, LATE].sort());

    await lab.ns.bridge('fdb', 'del', ZERO, 'dev', 'evpn-100', 'dst', LATE);
    await until('the removed VTEP out of the flood group', async () => (await lab.dumpFloodGroups()).some((g) => g.includes(`group_id=${before.id},`) && !g.includes(LATE)));
    expect((await floodGroupOf(100)).text).toBe(before.text);

    // The last group of the VNI goes: our entries go with it, the other speaker's stays.
    lab.writeState([]);
    await lab.waitReady(2);
    await until('our flood entries removed', async () => (await floodDsts()).length === 1);
    expect(await floodDsts()).toEqual([OTHER]);
    // Still mirrored (mirrorLearned): VNI 100 keeps flooding to the other speaker's VTEP.
    const after = await floodGroupOf(100);
    expect(after.id).toBe(before.id);
    await until('flood group with only the remaining VTEP', async () => {
      const g = (await lab.dumpFloodGroups()).find((t) => t.includes(`group_id=${before.id},`)) ?? '';
      return g.includes(`${OTHER}->tun_dst`) && !A.some((ip) => g.includes(`${ip}->tun_dst`));
    });
  });

  it('keeps flood entries and group ids across an agent restart without rewriting them', async () => {
    await start();
    const before = await floodGroupOf(100);
    await until('flood entries in the kernel', async () => (await floodDsts()).length === 3);
    const floodBefore = await lab.dumpFloodGroups();
    expect(await lab.stopAgent()).toBe(0);
    rmSync(lab.statusFile, { force: true }); // so the wait below sees the new process's status
    lab.startAgent();
    await lab.waitReady(1);
    const after = await floodGroupOf(100);
    expect(await lab.dumpFloodGroups()).toEqual(floodBefore);
    expect(after).toEqual(before);
    expect(await floodDsts()).toEqual([...A, OTHER].sort());
    const metrics = await lab.metrics();
    // Nothing to write: the kernel and the bridge were already right.
    expect(metricValue(metrics, 'evpn_agent_openflow_group_mods_total', { command: 'add' }) ?? 0).toBe(0);
    expect(metricValue(metrics, 'evpn_agent_openflow_group_mods_total', { command: 'modify' }) ?? 0).toBe(0);
    expect(metricValue(metrics, 'evpn_agent_kernel_writes_total', { op: 'appendFlood' }) ?? 0).toBe(0);
  });

  it('repairs a flood group deleted behind its back (audit) and a flood entry deleted from the kernel', async () => {
    await start(['--audit-interval', '1']);
    const before = await floodGroupOf(100);
    await until('flood entries in the kernel', async () => (await floodDsts()).length === 3);
    // OVS deletes the flows that name a deleted group: both must come back, with the same id.
    await lab.ovs.ofctl('del-groups', 'br-evpn', `group_id=${before.id}`);
    await until('flood group restored', async () => (await lab.dumpFloodGroups()).some((g) => g.includes(`group_id=${before.id},`)), 15_000);
    await until('flood flow restored', async () => (await lab.dumpFlows()).some((f) => f.includes(`group:${before.id}`)), 15_000);
    expect((await floodGroupOf(100)).text).toBe(before.text);
    const drift = await lab.waitStatus('drift shown', (s) => (s.conditions?.find((c) => c.type === 'DataplaneDrift')?.message ?? '').includes('flood group'));
    expect(drift.conditions?.find((c) => c.type === 'DataplaneDrift')?.message).toContain(`group_id=${before.id}`);

    // One of our kernel entries deleted by hand: written again.
    await lab.ns.bridge('fdb', 'del', ZERO, 'dev', 'evpn-100', 'dst', A[0]!);
    await until('flood entry rewritten', async () => (await floodDsts()).includes(A[0]!));
    expect(await floodDsts()).toEqual([...A, OTHER].sort());
  });
});
