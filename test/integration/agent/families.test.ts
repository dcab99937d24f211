import { afterEach, describe, expect, it } from 'vitest';
import { KERNEL_TOOLS, OVS_TOOLS, missingPrerequisites } from '../../harness/prereq.js';
import { macString, udpIpv4Frame } from '../../harness/packet.js';
import { AgentLab } from './lab.js';
import { bucketsOfLine, expectWeightShares } from '../../harness/slots.js';

const skip = missingPrerequisites([...KERNEL_TOOLS, ...OVS_TOOLS]);

describe.skipIf(skip)('agent: IPv6 VTEPs, 64-path groups, single-path entries', () => {
  let lab: AgentLab | undefined;
  afterEach(async () => {
    await lab?.teardown();
    lab = undefined;
  });

  async function send(l: AgentLab, mac: string, n: number) {
    for (let i = 0; i < n; i++) {
      const frame = udpIpv4Frame({ srcMac: '02:00:00:00:01:01', dstMac: mac, srcIp: '10.0.0.1', dstIp: '10.0.0.2', srcPort: 30_000 + i, dstPort: 80 });
      await l.ovs.receive('p100', frame.toString('hex'));
    }
  }

  it('programs IPv6 VTEPs (kernel inet6 fdb nexthops, tun_ipv6_dst buckets) and traffic leaves over IPv6', async () => {
    const vteps = ['2001:db8::11', '2001:db8::12'];
    lab = new AgentLab({ local: '2001:db8::1', vteps });
    await lab.setup();
    lab.writeState([{ name: 'v6', vni: 100, vteps: [{ ip: vteps[0]!, weight: 2 }, { ip: vteps[1]!, weight: 1 }], macs: ['02:00:00:00:06:01'] }]);
    lab.startAgent();
    const status = await lab.waitReady(1);
    const g = status.groups![0]!;
    const nh = await lab.ns.ipJson<{ id: number; gateway?: string; family?: string }>('nexthop', 'show');
    expect(nh.filter((n) => n.gateway !== undefined).map((n) => n.gateway).sort()).toEqual(vteps);
    const groups = await lab.dumpGroups();
    expect(groups).toHaveLength(1);
    expect(groups[0]).toContain(`group_id=${g.ofGroupId},`);
    expect(groups[0]).toContain(`set_field:${vteps[0]}->tun_ipv6_dst`);
    expectWeightShares(bucketsOfLine(groups[0]!), [{ vtep: vteps[0]!, weight: 2 }, { vtep: vteps[1]!, weight: 1 }]);
    const before = lab.underlay.vxlanFrames().length;
    await send(lab, '02:00:00:00:06:01', 60);
    const frames = (await lab.underlay.waitForVxlanFrames(before + 60)).slice(before);
    expect(frames).toHaveLength(60);
    expect(new Set(frames.map((f) => f.outerDstIp))).toEqual(new Set(vteps));
    expect(frames.every((f) => f.vni === 100 && f.outerSrcIp === '2001:db8::1')).toBe(true);
  });

  it('programs a group of 64 paths, and mirrors a single-destination entry without a group', async () => {
    const vteps = Array.from({ length: 64 }, (_, i) => `192.0.2.${100 + i}`);
    lab = new AgentLab({ vteps: [...vteps, '192.0.2.99'] });
    await lab.setup();
    await lab.ns.bridge('fdb', 'add', '02:00:00:00:05:01', 'dev', 'evpn-100', 'self', 'static', 'dst', '192.0.2.99');
    lab.writeState([{ name: 'wide', vni: 100, vteps: vteps.map((ip, i) => ({ ip, weight: (i % 4) + 1 })), macs: ['02:00:00:00:64:01'] }]);
    lab.startAgent();
    const status = await lab.waitReady(1);
    expect(status.groups![0]!.paths).toHaveLength(64);
    expect(status.learned?.singlePath).toBe(1);
    const [kernelGroup] = await lab.ns.ipJson<{ group: unknown[] }>('nexthop', 'show', 'id', String(status.groups![0]!.nexthopGroupId));
    expect(kernelGroup!.group).toHaveLength(64);
    const groups = await lab.dumpGroups();
    expect(groups).toHaveLength(1);
    // 64 VTEPs with weights 1..4: more hash slots than VTEPs, every share within one slot of its weight's.
    expectWeightShares(bucketsOfLine(groups[0]!), vteps.map((ip, i) => ({ vtep: ip, weight: (i % 4) + 1 })));
    const single = (await lab.dumpFlows()).find((f) => f.includes('dl_dst=02:00:00:00:05:01'))!;
    expect(single).toContain('set_field:192.0.2.99->tun_dst');
    expect(single).not.toContain('group:');
    const before = lab.underlay.vxlanFrames().length;
    await send(lab, '02:00:00:00:05:01', 3);
    await send(lab, '02:00:00:00:64:01', 200);
    const frames = (await lab.underlay.waitForVxlanFrames(before + 203)).slice(before);
    expect(frames.filter((f) => macString(f.inner, 0) === '02:00:00:00:05:01').every((f) => f.outerDstIp === '192.0.2.99')).toBe(true);
    const wide = frames.filter((f) => macString(f.inner, 0) === '02:00:00:00:64:01');
    expect(wide).toHaveLength(200);
    expect(new Set(wide.map((f) => f.outerDstIp)).size).toBeGreaterThan(30);
  });
});
