import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { OvsSandbox } from '../../harness/ovs.js';
import { missingPrerequisites, OVS_TOOLS } from '../../harness/prereq.js';
import { udpIpv4Frame } from '../../harness/packet.js';

const skip = missingPrerequisites(OVS_TOOLS);

describe.skipIf(skip)('harness: ovs sandbox', () => {
  let ovs: OvsSandbox;
  beforeEach(async () => {
    ovs = await OvsSandbox.start();
    await ovs.addBridge('br0');
  });
  afterEach(async () => {
    await ovs.stop();
  });

  it('counts injected packets in a select group added with ovs-ofctl', async () => {
    const p1 = await ovs.addDummyPort('br0', 'p1');
    const p2 = await ovs.addDummyPort('br0', 'p2');
    const p3 = await ovs.addDummyPort('br0', 'p3');
    await ovs.ofctl('add-group', 'br0', `group_id=7,type=select,selection_method=dp_hash,bucket=bucket_id:0,weight:3,actions=output:${p2},bucket=bucket_id:1,weight:1,actions=output:${p3}`);
    await ovs.ofctl('add-flow', 'br0', `in_port=${p1},actions=group:7`);

    const { stdout: groups } = await ovs.ofctl('dump-groups', 'br0');
    expect(groups).toMatch(/group_id=7,type=select,selection_method=dp_hash,bucket=bucket_id:0,weight:3,actions=output:2/);

    for (let i = 0; i < 40; i++) {
      const frame = udpIpv4Frame({ srcMac: '02:00:00:00:01:01', dstMac: '02:00:00:00:02:02', srcIp: '10.0.0.1', dstIp: '10.0.0.2', srcPort: 1000 + i, dstPort: 80 });
      await ovs.receive('p1', frame.toString('hex'));
    }
    await ovs.settleStats();
    const { stdout: stats } = await ovs.ofctl('dump-group-stats', 'br0', 'group_id=7');
    const total = /group_id=7,.*?packet_count=(\d+)/.exec(stats);
    expect(Number(total?.[1])).toBe(40);
    const buckets = [...stats.matchAll(/bucket(\d):packet_count=(\d+)/g)].map((m) => Number(m[2]));
    expect(buckets.reduce((a, b) => a + b, 0)).toBe(40);
    expect(buckets[0]).toBeGreaterThan(buckets[1] ?? 0);
  });

  it('runs several sandboxes at once and removes its directory', async () => {
    const other = await OvsSandbox.start();
    expect(other.dir).not.toBe(ovs.dir);
    await other.addBridge('br0');
    expect(existsSync(other.mgmtSocket('br0'))).toBe(true);
    const pid = other.vswitchdPid;
    await other.stop();
    expect(existsSync(other.dir)).toBe(false);
    expect(() => process.kill(pid ?? -1, 0)).toThrow();
  });
});
