import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KERNEL_TOOLS, OVS_TOOLS, missingPrerequisites } from '../../harness/prereq.js';
import { macString, readPcap, udpIpv4Frame } from '../../harness/packet.js';
import { AgentLab, vtepMac } from './lab.js';

const skip = missingPrerequisites([...KERNEL_TOOLS, ...OVS_TOOLS]);
const A = ['192.0.2.11', '192.0.2.12'];

describe.skipIf(skip)('agent: tunnel traffic to local ports', () => {
  let lab: AgentLab;
  beforeEach(async () => {
    lab = new AgentLab({ vteps: A, vnis: [100, 200] });
    await lab.setup();
  });
  afterEach(async () => {
    await lab.teardown();
  });

  it('delivers VXLAN traffic arriving from the fabric to the local ports of its VNI only', async () => {
    const pcap100 = join(lab.ovs.dir, 'local100.pcap');
    const pcap200 = join(lab.ovs.dir, 'local200.pcap');
    await lab.ovs.addDummyPort('br-evpn', 'l100', { externalIds: { 'evpn-vni': '100' }, txPcap: pcap100 });
    await lab.ovs.addDummyPort('br-evpn', 'l200', { externalIds: { 'evpn-vni': '200' }, txPcap: pcap200 });
    lab.writeState([{ name: 'web', vni: 100, vteps: [{ ip: A[0]! }, { ip: A[1]! }], macs: ['02:00:00:00:00:aa'] }]);
    lab.startAgent();
    await lab.waitReady(1);
    const flows = await lab.dumpFlows();
    expect(flows.some((f) => /in_port=\d+,tun_id=0x64/.test(f) || /tun_id=0x64,in_port=\d+/.test(f))).toBe(true);

    // A VXLAN frame from VTEP A[0] to this node (192.0.2.1), VNI 100, arrives on the underlay NIC.
    const { stdout } = await lab.ovs.vsctl('get', 'Interface', 'br-underlay', 'mac_in_use');
    const nodeMac = stdout.trim().replace(/"/g, '');
    const inner = udpIpv4Frame({ srcMac: '02:00:00:00:00:aa', dstMac: '02:00:00:00:01:01', srcIp: '10.0.0.2', dstIp: '10.0.0.1', srcPort: 80, dstPort: 10_000 });
    const vxlanHeader = Buffer.from([0x08, 0, 0, 0, 0, 0, 100, 0]);
    const outer = udpIpv4Frame({ srcMac: vtepMac(A[0]!), dstMac: nodeMac, srcIp: A[0]!, dstIp: '192.0.2.1', srcPort: 55_555, dstPort: 4789, payload: Buffer.concat([vxlanHeader, inner]) });
    for (let i = 0; i < 3; i++) await lab.ovs.receive('nic0', outer.toString('hex'));

    const deadline = Date.now() + 5_000;
    let got: Buffer[] = [];
    while (Date.now() < deadline) {
      got = readPcap(pcap100);
      if (got.length >= 3) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(got.length).toBe(3);
    expect(macString(got[0]!, 0)).toBe('02:00:00:00:01:01');
    expect(macString(got[0]!, 6)).toBe('02:00:00:00:00:aa');
    expect(readPcap(pcap200)).toHaveLength(0);
  });
});
