/**
 * Local switching against a real ovs-vswitchd: workload ports of one VNI
 * (external_ids:evpn-vni, external_ids:attached-mac) reach each other
 * without the fabric, and what the fabric sends to a local MAC reaches that
 * port only.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KERNEL_TOOLS, OVS_TOOLS, missingPrerequisites } from '../../harness/prereq.js';
import { macString, readPcap, udpIpv4Frame } from '../../harness/packet.js';
import { AgentLab, vtepMac } from './lab.js';

const skip = missingPrerequisites([...KERNEL_TOOLS, ...OVS_TOOLS]);
const A = ['192.0.2.11', '192.0.2.12'];
const VM1 = '02:00:00:00:0a:01';
const VM2 = '02:00:00:00:0a:02';

async function frames(path: string, count: number, timeoutMs = 5_000): Promise<Buffer[]> {
  const deadline = Date.now() + timeoutMs;
  let got = readPcap(path);
  while (got.length < count && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    got = readPcap(path);
  }
  return got;
}

describe.skipIf(skip)('agent: local MACs', () => {
  let lab: AgentLab;
  const pcap = (port: string) => join(lab.ovs.dir, `${port}.pcap`);
  beforeEach(async () => {
    lab = new AgentLab({ vteps: A, vnis: [100, 200] });
    await lab.setup();
    await lab.ovs.addDummyPort('br-evpn', 'vm1', { externalIds: { 'evpn-vni': '100', 'attached-mac': VM1 }, txPcap: pcap('vm1') });
    await lab.ovs.addDummyPort('br-evpn', 'vm2', { externalIds: { 'evpn-vni': '100', 'attached-mac': VM2.toUpperCase() }, txPcap: pcap('vm2') });
    await lab.ovs.addDummyPort('br-evpn', 'vm3', { externalIds: { 'evpn-vni': '100' }, txPcap: pcap('vm3') });
    await lab.ovs.addDummyPort('br-evpn', 'db', { externalIds: { 'evpn-vni': '200', 'attached-mac': VM2 }, txPcap: pcap('db') });
    // A group in VNI 100, so the VNI has remote VTEPs to flood to: local traffic must not go there.
    lab.writeState([{ name: 'web', vni: 100, vteps: [{ ip: A[0]! }, { ip: A[1]! }], macs: ['02:00:00:00:00:aa'] }]);
    lab.startAgent();
    await lab.waitReady(1);
  });
  afterEach(async () => {
    await lab.teardown();
  });

  it('switches local unicast to its port only, never into the fabric, and counts local MACs in status', async () => {
    const toVm2 = udpIpv4Frame({ srcMac: VM1, dstMac: VM2, srcIp: '10.0.0.1', dstIp: '10.0.0.2', srcPort: 1000, dstPort: 2000 });
    for (let i = 0; i < 5; i++) await lab.ovs.receive('vm1', toVm2.toString('hex'));
    const got = await frames(pcap('vm2'), 5);
    expect(got).toHaveLength(5);
    expect(macString(got[0]!, 0)).toBe(VM2);
    // A broadcast afterwards proves the pcaps are current (it reaches vm3 and the fabric), then nothing else arrived.
    const broadcast = udpIpv4Frame({ srcMac: VM1, dstMac: 'ff:ff:ff:ff:ff:ff', srcIp: '10.0.0.1', dstIp: '10.0.0.255', srcPort: 1000, dstPort: 2000 });
    await lab.ovs.receive('vm1', broadcast.toString('hex'));
    const vm3 = await frames(pcap('vm3'), 1);
    await lab.underlay.waitForVxlanFrames(2);
    expect(vm3.map((f) => macString(f, 0))).toEqual(['ff:ff:ff:ff:ff:ff']);
    expect(lab.underlay.vxlanFrames().map((f) => macString(f.inner, 0))).toEqual(['ff:ff:ff:ff:ff:ff', 'ff:ff:ff:ff:ff:ff']);
    expect(readPcap(pcap('vm2')).length).toBe(6);
    expect(readPcap(pcap('db'))).toHaveLength(0);
    expect(readPcap(pcap('vm1'))).toHaveLength(0);

    const status = await lab.waitStatus('local MACs exported', (s) => ((s as { local?: Array<{ exported?: number }> }).local ?? []).reduce((n, l) => n + (l.exported ?? 0), 0) === 3);
    // AgentLab gives each VNI a port of its own (p<vni>, no attached-mac) besides the ones above.
    // The attached MACs are exported too: static entries on the VNI's access port, for an EVPN control plane.
    expect((status as { local?: unknown }).local).toEqual([{ vni: 100, ports: 4, macs: 2, exported: 2 }, { vni: 200, ports: 2, macs: 1, exported: 1 }]);
  });

  it('delivers what the fabric sends to a local MAC to that port only, and anything else to every port of the VNI', async () => {
    const { stdout } = await lab.ovs.vsctl('get', 'Interface', 'br-underlay', 'mac_in_use');
    const nodeMac = stdout.trim().replace(/"/g, '');
    const fromFabric = (dstMac: string) => {
      const inner = udpIpv4Frame({ srcMac: '02:00:00:00:00:aa', dstMac, srcIp: '10.0.0.9', dstIp: '10.0.0.1', srcPort: 80, dstPort: 10_000 });
      const vxlanHeader = Buffer.from([0x08, 0, 0, 0, 0, 0, 100, 0]);
      return udpIpv4Frame({ srcMac: vtepMac(A[0]!), dstMac: nodeMac, srcIp: A[0]!, dstIp: '192.0.2.1', srcPort: 55_555, dstPort: 4789, payload: Buffer.concat([vxlanHeader, inner]) });
    };
    for (let i = 0; i < 3; i++) await lab.ovs.receive('nic0', fromFabric(VM1).toString('hex'));
    await lab.ovs.receive('nic0', fromFabric('02:00:00:00:0a:99').toString('hex'));
    const vm1 = await frames(pcap('vm1'), 4);
    expect(vm1.map((f) => macString(f, 0))).toEqual([VM1, VM1, VM1, '02:00:00:00:0a:99']);
    expect((await frames(pcap('vm2'), 1)).map((f) => macString(f, 0))).toEqual(['02:00:00:00:0a:99']);
    expect((await frames(pcap('vm3'), 1)).map((f) => macString(f, 0))).toEqual(['02:00:00:00:0a:99']);
    expect(readPcap(pcap('db'))).toHaveLength(0);
    // Never back into the fabric.
    expect(lab.underlay.vxlanFrames()).toHaveLength(0);
  });

  it('learns the MAC of a port without attached-mac: traffic to it then reaches that port only, and status counts it', async () => {
    const VM3 = '02:00:00:00:0a:03';
    const hello = udpIpv4Frame({ srcMac: VM3, dstMac: VM1, srcIp: '10.0.0.3', dstIp: '10.0.0.1', srcPort: 3000, dstPort: 1000 });
    await lab.ovs.receive('vm3', hello.toString('hex'));
    expect((await frames(pcap('vm1'), 1)).map((f) => macString(f, 6))).toEqual([VM3]);
    const learned = await lab.ovs.ofctl('dump-flows', 'br-evpn', 'table=1');
    expect(learned.stdout.split('\n').filter((l) => l.includes('priority=150'))).toEqual([expect.stringContaining(`dl_dst=${VM3}`)]);
    // Known now: vm1's reply goes to vm3 alone, not to vm2, not into the fabric.
    const reply = udpIpv4Frame({ srcMac: VM1, dstMac: VM3, srcIp: '10.0.0.1', dstIp: '10.0.0.3', srcPort: 1000, dstPort: 3000 });
    for (let i = 0; i < 3; i++) await lab.ovs.receive('vm1', reply.toString('hex'));
    expect((await frames(pcap('vm3'), 3)).map((f) => macString(f, 0))).toEqual([VM3, VM3, VM3]);
    expect(readPcap(pcap('vm2'))).toHaveLength(0);
    expect(lab.underlay.vxlanFrames()).toHaveLength(0);
    // The agent reads what Open vSwitch learned and counts it with the attached MACs.
    const status = await lab.waitStatus('learned MAC counted and exported', (s) => ((s as { local?: Array<{ vni: number; exported?: number }> }).local ?? []).some((l) => l.vni === 100 && l.exported === 3));
    expect((status as { local?: unknown }).local).toEqual([{ vni: 100, ports: 4, macs: 3, exported: 3 }, { vni: 200, ports: 2, macs: 1, exported: 1 }]);
    const fdb = await lab.ns.bridgeJson<{ mac: string; state?: string; master?: string }>('fdb', 'show', 'dev', 'evpa-100');
    expect(fdb.filter((e) => e.state === 'static').map((e) => [e.mac, e.master]).sort()).toEqual([[VM1, 'evpnbr-100'], [VM2, 'evpnbr-100'], [VM3, 'evpnbr-100']]);
  });
});
