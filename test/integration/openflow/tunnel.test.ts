import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OvsSandbox } from '../../harness/ovs.js';
import { Underlay } from '../../harness/underlay.js';
import { missingPrerequisites, OVS_TOOLS } from '../../harness/prereq.js';
import { macString, udpIpv4Frame } from '../../harness/packet.js';
import { OpenFlowClient } from '../../../src/lib/openflow/index.js';
import { ensureBridge, ensureTunnelPort, InterfaceMonitor, OvsdbClient } from '../../../src/lib/ovsdb/index.js';

const skip = missingPrerequisites(OVS_TOOLS);

describe.skipIf(skip)('OVSDB tunnel port + OpenFlow select group: VXLAN out of the underlay', () => {
  let ovs: OvsSandbox;
  let db: OvsdbClient | undefined;
  let of: OpenFlowClient | undefined;
  beforeEach(async () => {
    ovs = await OvsSandbox.start();
  });
  afterEach(async () => {
    of?.close();
    db?.close();
    await ovs.stop();
  });

  it('spreads a VNI\'s traffic over weighted VTEPs, with bucket counters matching the wire', async () => {
    const underlay = await Underlay.create(ovs, {
      localAddress: '192.0.2.1/24',
      neighbors: [
        { ip: '192.0.2.2', mac: 'aa:55:aa:55:00:02' },
        { ip: '192.0.2.3', mac: 'aa:55:aa:55:00:03' },
      ],
    });
    db = await OvsdbClient.connect(`unix:${ovs.dbSocket}`);
    await ensureBridge(db, { bridge: 'br-evpn', datapathType: 'dummy', failMode: 'secure' });
    const { ofport: tunnel } = await ensureTunnelPort(db, { bridge: 'br-evpn', port: 'evpn-vxlan', dstPort: 4790 });
    await ovs.addDummyPort('br-evpn', 'p1', { externalIds: { 'evpn-vni': '100' } });
    const monitor = await InterfaceMonitor.start(db);
    const local = [...monitor.interfaces().values()].find((i) => i.externalIds['evpn-vni'] === '100');
    expect(local?.name).toBe('p1');
    expect(local?.ofport).toBeGreaterThan(0);
    await monitor.stop();

    of = await OpenFlowClient.connect(`unix:${ovs.mgmtSocket('br-evpn')}`);
    const cookie = 0x45564e0000000000n;
    await of.applyBundle([
      {
        type: 'groupMod',
        groupMod: {
          command: 'add', type: 'select', groupId: 65537, selectionMethod: { name: 'dp_hash' },
          buckets: [
            { bucketId: 0, weight: 3, actions: [{ type: 'setField', field: 'tun_dst', value: '192.0.2.2' }, { type: 'output', port: tunnel }] },
            { bucketId: 1, weight: 1, actions: [{ type: 'setField', field: 'tun_dst', value: '192.0.2.3' }, { type: 'output', port: tunnel }] },
          ],
        },
      },
      { type: 'flowMod', flowMod: { command: 'add', tableId: 0, priority: 100, cookie, match: { inPort: local!.ofport! }, instructions: [{ type: 'writeMetadata', metadata: 100n, mask: 0xffffffffffffffffn }, { type: 'gotoTable', tableId: 1 }] } },
      {
        type: 'flowMod',
        flowMod: {
          command: 'add', tableId: 1, priority: 100, cookie, match: { metadata: 100n, ethDst: '02:00:00:00:00:aa' },
          instructions: [{ type: 'applyActions', actions: [{ type: 'setField', field: 'tun_id', value: 100n }, { type: 'group', groupId: 65537 }] }],
        },
      },
    ]);

    const flows = 200;
    for (let i = 0; i < flows; i++) {
      const frame = udpIpv4Frame({ srcMac: '02:00:00:00:00:01', dstMac: '02:00:00:00:00:aa', srcIp: '10.0.0.1', dstIp: '10.0.0.2', srcPort: 20_000 + i, dstPort: 80 });
      await ovs.receive('p1', frame.toString('hex'));
    }
    const frames = underlay.vxlanFrames(4790);
    expect(frames).toHaveLength(flows);
    for (const f of frames) {
      expect(f.vni).toBe(100);
      expect(f.udpDstPort).toBe(4790);
      expect(macString(f.inner, 0)).toBe('02:00:00:00:00:aa');
    }
    const toFirst = frames.filter((f) => f.outerDstIp === '192.0.2.2').length;
    const toSecond = frames.filter((f) => f.outerDstIp === '192.0.2.3').length;
    expect(toFirst + toSecond).toBe(flows);
    expect(toFirst / flows).toBeGreaterThan(0.6);
    expect(toFirst / flows).toBeLessThan(0.9);

    await ovs.settleStats();
    const [group] = await of.dumpGroups({ groupId: 65537, stats: true });
    expect(group?.stats?.buckets.map((b) => Number(b.packetCount))).toEqual([toFirst, toSecond]);
  });
});
