/**
 * The kernel devices the agent owns (kernel.manage), against the real
 * kernel: created from the templates with an ownership alias, repaired,
 * deleted when no VNI needs them, never a device of another owner; the
 * single VXLAN device mode with entries keyed by MAC and VNI.
 */
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { KERNEL_TOOLS, OVS_TOOLS, missingPrerequisites } from '../../harness/prereq.js';
import { AgentLab } from './lab.js';

const skip = missingPrerequisites([...KERNEL_TOOLS, ...OVS_TOOLS]);
const A = ['192.0.2.11', '192.0.2.12'];

interface LinkJson {
  ifname: string;
  ifindex: number;
  ifalias?: string;
  master?: string;
  flags: string[];
  linkinfo?: { info_kind?: string; info_data?: { id?: number; local?: string; port?: number; learning?: boolean; external?: boolean; vnifilter?: boolean; mcast_snooping?: number }; info_slave_data?: { learning?: boolean } };
  stats64?: { tx: { packets: number; dropped: number } };
}

describe.skipIf(skip)('agent: the kernel devices it owns', () => {
  let lab: AgentLab | undefined;
  afterEach(async () => {
    await lab?.teardown();
    lab = undefined;
  });

  const links = async (): Promise<Map<string, LinkJson>> => new Map((await lab!.ns.ipJson<LinkJson>('-d', 'link', 'show')).map((l) => [l.ifname, l]));

  it('creates a VXLAN device, a bridge and an access port per VNI, deletes them when unneeded, and leaves other devices alone', async () => {
    lab = new AgentLab({ vteps: A, vnis: [100, 200], devices: 'agent' });
    await lab.setup();
    // Someone else's VXLAN device for a VNI the agent never needs.
    await lab.ns.addVxlan('evpn-300', 300, { local: '192.0.2.1' });
    // VNI 100 from a group, VNI 200 from the local port p200 alone.
    lab.writeState([{ name: 'web', vni: 100, vteps: [{ ip: A[0]! }, { ip: A[1]! }], macs: ['02:00:00:00:00:aa'] }]);
    lab.startAgent();
    await lab.waitReady(1);
    let l = await links();
    for (const vni of [100, 200]) {
      const vx = l.get(`evpn-${vni}`)!;
      expect(vx.linkinfo?.info_kind).toBe('vxlan');
      expect(vx.linkinfo?.info_data).toMatchObject({ id: vni, local: '192.0.2.1', port: 4789, learning: false });
      expect([vx.ifalias, vx.master, vx.flags.includes('UP')]).toEqual(['evpn-ecmp:vxlan', `evpnbr-${vni}`, true]);
      expect(vx.linkinfo?.info_slave_data?.learning).toBe(false);
      expect([l.get(`evpnbr-${vni}`)?.linkinfo?.info_kind, l.get(`evpnbr-${vni}`)?.ifalias]).toEqual(['bridge', 'evpn-ecmp:bridge']);
      const access = l.get(`evpa-${vni}`)!;
      expect([access.linkinfo?.info_kind, access.ifalias, access.master, access.flags.includes('LOWER_UP')]).toEqual(['veth', 'evpn-ecmp:access', `evpnbr-${vni}`, true]);
      expect(l.get(`evpb-${vni}`)?.ifalias).toBe('evpn-ecmp:accessPeer');
      // No address of their own: the devices never emit anything (Open vSwitch carries the traffic).
      for (const name of [`evpn-${vni}`, `evpnbr-${vni}`, `evpa-${vni}`]) expect(await lab.ns.ipJson('-6', 'addr', 'show', 'dev', name)).toEqual([]);
      // Nor does the bridge: no multicast snooping, so no IGMP/MLD reports for the all-snoopers groups.
      expect(l.get(`evpnbr-${vni}`)?.linkinfo?.info_data?.mcast_snooping).toBe(0);
    }
    // What a snooping bridge sends at once and again within a second or two
    // (the reports' retransmissions): counted after that, on every device of the agent.
    await new Promise((r) => setTimeout(r, 2_500));
    const sent = (await lab.ns.ipJson<LinkJson>('-s', 'link', 'show')).filter((x) => x.ifalias?.startsWith('evpn-ecmp:')).map((x) => [x.ifname, x.stats64!.tx.packets + x.stats64!.tx.dropped]);
    expect(sent.filter(([, n]) => n !== 0), 'frames sent by the agent\'s devices').toEqual([]);
    expect(sent).toHaveLength(8);
    const fdb = await lab.ns.bridgeJson<{ mac: string; nhid?: number }>('fdb', 'show', 'dev', 'evpn-100');
    expect(fdb.some((e) => e.mac === '02:00:00:00:00:aa' && e.nhid !== undefined)).toBe(true);
    const before = new Map([...l].map(([name, link]) => [name, link.ifindex]));

    // A restarted agent finds its devices right: nothing is created again.
    await lab.stopAgent();
    rmSync(lab.statusFile);
    lab.startAgent();
    await lab.waitReady(1);
    l = await links();
    expect(new Map([...l].map(([name, link]) => [name, link.ifindex]))).toEqual(before);

    // Down behind its back: repaired.
    await lab.ns.ip('link', 'set', 'evpn-100', 'down');
    await until(async () => (await links()).get('evpn-100')?.flags.includes('UP') === true);

    // VNI 200 no longer needed (its port leaves): its devices go; evpn-300 stays untouched.
    await lab.ovs.vsctl('del-port', 'br-evpn', 'p200');
    await until(async () => ['evpn-200', 'evpnbr-200', 'evpa-200', 'evpb-200'].every((n) => !l.has(n)) || (l = await links(), false));
    l = await links();
    expect(['evpn-200', 'evpnbr-200', 'evpa-200', 'evpb-200'].filter((n) => l.has(n))).toEqual([]);
    expect(['evpn-100', 'evpnbr-100', 'evpa-100'].every((n) => l.has(n))).toBe(true);
    expect([l.get('evpn-300')?.ifindex, l.get('evpn-300')?.ifalias, l.get('evpn-300')?.master]).toEqual([before.get('evpn-300'), undefined, undefined]);
  });

  it('single VXLAN device mode: one external vnifilter device, FDB entries keyed by MAC and VNI', async () => {
    lab = new AgentLab({ vteps: A, vnis: [100, 200], devices: 'agent' });
    await lab.setup();
    const mac = '02:00:00:00:00:aa';
    lab.writeState(
      [
        { name: 'web', vni: 100, vteps: [{ ip: A[0]! }], macs: [mac] },
        { name: 'db', vni: 200, vteps: [{ ip: A[1]! }], macs: [mac] },
      ],
      { vxlan: { mode: 'Single', device: 'evpn0', bridge: 'evpnbr0' } },
    );
    lab.startAgent();
    const status = await lab.waitReady(1);
    const l = await links();
    const dev = l.get('evpn0')!;
    expect(dev.linkinfo?.info_data).toMatchObject({ external: true, vnifilter: true, local: '192.0.2.1', learning: false });
    expect(dev.ifalias).toBe('evpn-ecmp:vxlan');
    const vnis = await lab.ns.bridgeJson<{ ifname: string; vnis: Array<{ vni: number; vniEnd?: number }> }>('vni', 'show', 'dev', 'evpn0');
    expect(vnis.flatMap((d) => d.vnis.flatMap((v) => (v.vniEnd === undefined ? [v.vni] : [v.vni, v.vniEnd])))).toEqual([100, 200]);
    // One MAC in two VNIs: two kernel entries (src_vni), two OpenFlow flows.
    const fdb = await lab.ns.bridgeJson<{ mac: string; nhid?: number; src_vni?: number; dst?: string }>('fdb', 'show', 'dev', 'evpn0');
    expect(fdb.filter((e) => e.mac === mac).map((e) => e.src_vni).sort()).toEqual([100, 200]);
    expect(fdb.filter((e) => e.mac === '00:00:00:00:00:00').map((e) => [e.dst, e.src_vni]).sort()).toEqual([[A[0], 100], [A[1], 200]]);
    const flows = (await lab.dumpFlows()).filter((f) => f.includes(`dl_dst=${mac}`));
    expect(flows.map((f) => /metadata=(0x[0-9a-f]+)/.exec(f)?.[1]).sort()).toEqual(['0x64', '0xc8']);
    expect(status.groups!.map((g) => g.state)).toEqual(['Programmed', 'Programmed']);
    const kernelSynced = status.conditions!.find((c) => c.type === 'KernelSynced')!;
    expect(kernelSynced.status).toBe('True');
    if (!l.has('evpnbr0')) {
      // This kernel cannot filter VLANs on a bridge (CONFIG_BRIDGE_VLAN_FILTERING): the layout's bridge side is refused, and said so.
      expect(kernelSynced.message).toMatch(/evpnbr0: link add evpnbr0 type bridge: .*EOPNOTSUPP/);
      expect(kernelSynced.message).not.toMatch(/vlan/);
      expect(dev.master).toBeUndefined();
      expect(l.has('evpa-svd')).toBe(false);
    } else {
      // A kernel that filters VLANs: the VLAN-aware bridge, a VLAN per VNI mapped to it.
      expect(dev.master).toBe('evpnbr0');
      const tunnels = await lab.ns.bridgeJson<{ ifname: string; tunnels: Array<{ vlan: number; tunid: number }> }>('vlan', 'tunnelshow', 'dev', 'evpn0');
      expect(tunnels.flatMap((t) => t.tunnels.map((x) => [x.vlan, x.tunid]))).toEqual([[100, 100], [200, 200]]);
    }
  });
});

async function until(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}
