import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OvsSandbox } from '../../harness/ovs.js';
import { Underlay } from '../../harness/underlay.js';
import { missingPrerequisites, OVS_TOOLS } from '../../harness/prereq.js';
import { udpIpv4Frame, macString } from '../../harness/packet.js';

const skip = missingPrerequisites(OVS_TOOLS);

describe.skipIf(skip)('harness: underlay', () => {
  let ovs: OvsSandbox;
  beforeEach(async () => {
    ovs = await OvsSandbox.start();
  });
  afterEach(async () => {
    await ovs.stop();
  });

  it('turns tunnel output into VXLAN frames on the dummy NIC', async () => {
    const underlay = await Underlay.create(ovs, {
      localAddress: '192.0.2.1/24',
      neighbors: [
        { ip: '192.0.2.2', mac: 'aa:55:aa:55:00:02' },
        { ip: '192.0.2.3', mac: 'aa:55:aa:55:00:03' },
      ],
    });
    await ovs.addBridge('br-evpn');
    const local = await ovs.addDummyPort('br-evpn', 'p1');
    // No options:local_ip: with it, OVS 3.1's native tunnel route lookup fails
    // on the dummy datapath; the source comes from the underlay route instead.
    await ovs.vsctl('add-port', 'br-evpn', 'vxlan0', '--', 'set', 'Interface', 'vxlan0', 'type=vxlan',
      'options:remote_ip=flow', 'options:key=flow');
    const tunnel = await ovs.ofport('vxlan0');
    await ovs.ofctl('add-group', 'br-evpn', `group_id=1,type=select,selection_method=dp_hash,`
      + `bucket=bucket_id:0,weight:3,actions=set_field:192.0.2.2->tun_dst,output:${tunnel},`
      + `bucket=bucket_id:1,weight:1,actions=set_field:192.0.2.3->tun_dst,output:${tunnel}`);
    await ovs.ofctl('add-flow', 'br-evpn', `in_port=${local},dl_dst=02:00:00:00:00:aa,actions=set_field:100->tun_id,group:1`);

    const flows = 200;
    for (let i = 0; i < flows; i++) {
      const frame = udpIpv4Frame({ srcMac: '02:00:00:00:00:01', dstMac: '02:00:00:00:00:aa', srcIp: '10.0.0.1', dstIp: '10.0.0.2', srcPort: 10_000 + i, dstPort: 80 });
      await ovs.receive('p1', frame.toString('hex'));
    }
    const frames = await underlay.waitForVxlanFrames(flows);
    expect(frames).toHaveLength(flows);
    for (const f of frames) {
      expect(f.vni).toBe(100);
      expect(f.outerSrcIp).toBe('192.0.2.1');
      expect(macString(f.inner, 0)).toBe('02:00:00:00:00:aa');
    }
    const toFirst = frames.filter((f) => f.outerDstIp === '192.0.2.2').length;
    const toSecond = frames.filter((f) => f.outerDstIp === '192.0.2.3').length;
    expect(toFirst + toSecond).toBe(flows);
    expect(frames.find((f) => f.outerDstIp === '192.0.2.2')?.outerDstMac).toBe('aa:55:aa:55:00:02');
    // 3:1 weights: the first VTEP carries clearly more than half of the flows.
    expect(toFirst / flows).toBeGreaterThan(0.6);
    expect(toFirst / flows).toBeLessThan(0.9);
  });
});
