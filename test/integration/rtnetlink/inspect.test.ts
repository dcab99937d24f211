import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { run } from '../../harness/exec.js';
import { Netns } from '../../harness/netns.js';
import { KERNEL_TOOLS, missingPrerequisites } from '../../harness/prereq.js';
import type { KernelView } from '../../../src/cli/inspect-kernel.js';
import type { BridgeFdb, IpNexthop } from './compare.js';

const skip = missingPrerequisites(KERNEL_TOOLS);
const ENTRY = fileURLToPath(new URL('./cli-entry.ts', import.meta.url));
const cli = (...args: string[]) => run(process.execPath, ['--import', 'tsx', ENTRY, ...args]);

const hex2 = (n: number) => n.toString(16).padStart(2, '0');
const mac = (i: number) => `02:00:00:00:${hex2(i >> 8)}:${hex2(i & 0xff)}`;

describe.skipIf(skip)('evpn-ecmp inspect kernel', () => {
  let ns: Netns;
  let dir: string;
  beforeEach(async () => {
    ns = await Netns.create();
    dir = mkdtempSync(join(tmpdir(), 'inspect-kernel-'));
  });
  afterEach(async () => {
    await ns.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('--json in a namespace with 10 nexthop groups and 1,000 FDB entries agrees field by field with iproute2', async () => {
    await ns.addVxlan('vx100', 100, { local: '192.0.2.1' });
    await ns.addVxlan('vx200', 200, { local: '2001:db8::1', port: 4790 });
    await ns.ip('link', 'add', 'vxext', 'type', 'vxlan', 'dstport', '4789', 'external', 'nolearning');
    const ip: string[] = [];
    for (let i = 1; i <= 32; i++) ip.push(`nexthop add id ${i} via 198.51.100.${i} fdb proto 236`);
    for (let i = 33; i <= 40; i++) ip.push(`nexthop add id ${i} via 2001:db8:1::${i.toString(16)} fdb`);
    for (let g = 0; g < 8; g++) ip.push(`nexthop add id ${100 + g} group ${g * 4 + 1},${g + 1}/${g * 4 + 2}/${g * 4 + 3},256/${g * 4 + 4},${40 + g} fdb proto 236`);
    ip.push('nexthop add id 108 group 33,2/34/35 fdb', 'nexthop add id 109 group 36/37,200/38/39/40 fdb proto static');
    const bridge: string[] = [];
    for (let i = 0; i < 900; i++) bridge.push(`fdb add ${mac(i)} dev vx100 self static nhid ${100 + (i % 8)}`);
    for (let i = 900; i < 980; i++) bridge.push(`fdb add ${mac(i)} dev vx200 self ${i % 2 ? 'extern_learn' : 'static'} nhid ${108 + (i % 2)}`);
    for (let i = 980; i < 995; i++) bridge.push(`fdb add ${mac(i)} dev vx100 self dst 198.51.100.${i - 900} vni ${5000 + i}`);
    for (let i = 995; i < 1000; i++) bridge.push(`fdb append 00:00:00:00:00:00 dev vx100 self dst 198.51.101.${i - 990}`);
    writeFileSync(join(dir, 'ip.batch'), ip.join('\n') + '\n');
    writeFileSync(join(dir, 'bridge.batch'), bridge.join('\n') + '\n');
    await ns.ip('-batch', join(dir, 'ip.batch'));
    await ns.bridge('-batch', join(dir, 'bridge.batch'));

    const { stdout } = await cli('inspect', 'kernel', '--netns', ns.name, '--json');
    const view = JSON.parse(stdout) as KernelView;

    // Nexthops: id, gateway, group members and weights (iproute2 omits weight 1), fdb flag, protocol.
    const ipNexthops = await ns.ipJson<IpNexthop>('nexthop', 'show');
    expect(ipNexthops.filter((n) => n.group)).toHaveLength(10);
    expect(view.nexthops).toHaveLength(ipNexthops.length);
    for (const want of ipNexthops) {
      const got = view.nexthops.find((n) => n.id === want.id);
      expect(got, `nexthop ${want.id}`).toBeDefined();
      expect(got!.gateway).toBe(want.gateway);
      expect(got!.fdb).toBe('fdb' in want);
      expect(got!.protocol).toBe(want.protocol ?? 'unspec');
      expect(got!.group).toEqual(want.group?.map((m) => ({ id: m.id, weight: m.weight ?? 1 })));
      expect(got!.family).toBe(want.group ? 'unspec' : want.gateway!.includes(':') ? 'inet6' : 'inet');
    }

    // FDB entries: 1,000 MAC entries plus 5 flood-list destinations.
    const ipFdb = await ns.bridgeJson<BridgeFdb>('fdb', 'show');
    expect(ipFdb).toHaveLength(1000);
    expect(view.fdb).toHaveLength(ipFdb.length);
    const key = (e: { mac: string; dst?: string }) => `${e.mac}/${e.dst ?? ''}`;
    const ours = new Map(view.fdb.map((e) => [key(e), e]));
    for (const want of ipFdb) {
      const got = ours.get(key(want));
      expect(got, key(want)).toBeDefined();
      expect(got!.dev).toBe(want.ifname);
      expect(got!.nhid).toBe(want.nhid);
      expect(got!.dst).toBe(want.dst);
      expect(got!.vni).toBe(want.vni);
      expect(got!.flags).toEqual(want.flags);
      expect(got!.state).toEqual(want.state === '' ? [] : [want.state]);
    }

    // VXLAN links: ifindex, name, VNI (none for an external device), local address, port.
    const ipLinks = await ns.ipJson<any>('-d', 'link', 'show', 'type', 'vxlan');
    expect(view.links).toHaveLength(3);
    for (const want of ipLinks) {
      const got = view.links.find((l) => l.ifindex === want.ifindex);
      const data = want.linkinfo.info_data;
      expect(got).toEqual({
        ifindex: want.ifindex,
        name: want.ifname,
        kind: 'vxlan',
        ...('external' in data && data.external !== false ? {} : { vni: data.id }),
        ...(data.local ?? data.local6 ? { local: data.local ?? data.local6 } : {}),
        port: data.port,
      });
    }
    expect(view.fdb.find((e) => e.ifindex === view.links.find((l) => l.name === 'vx100')!.ifindex)).toBeDefined();
  });

  it("shows the agent's devices (by their alias) and the local MACs exported on its access ports, as iproute2 does", async () => {
    // The agent's PerVni layout for VNI 100 (src/agent/engine/nodes/devices.ts), made with iproute2.
    await ns.ip('link', 'add', 'evpnbr-100', 'type', 'bridge', 'mcast_snooping', '0');
    await ns.addVxlan('evpn-100', 100, { local: '192.0.2.1' });
    await ns.ip('link', 'add', 'evpa-100', 'type', 'veth', 'peer', 'name', 'evpb-100');
    for (const [dev, role] of [['evpnbr-100', 'bridge'], ['evpn-100', 'vxlan'], ['evpa-100', 'access'], ['evpb-100', 'accessPeer']]) {
      await ns.ip('link', 'set', dev!, 'alias', `evpn-ecmp:${role}`, 'addrgenmode', 'none');
    }
    for (const dev of ['evpn-100', 'evpa-100']) await ns.ip('link', 'set', dev, 'master', 'evpnbr-100');
    for (const dev of ['evpnbr-100', 'evpn-100', 'evpa-100']) await ns.ip('link', 'set', dev, 'up');
    // evpb-100 stays down. Someone else's bridge and port, with a static entry of their own.
    await ns.ip('link', 'add', 'theirs', 'type', 'bridge');
    await ns.ip('link', 'add', 'their-a', 'type', 'veth', 'peer', 'name', 'their-b');
    await ns.ip('link', 'set', 'their-a', 'master', 'theirs');
    await ns.bridge('fdb', 'add', '02:00:00:00:ee:01', 'dev', 'their-a', 'master', 'static');
    // Exported local MACs, and what a zebra would add: a remote MAC with its `master` twin on the VXLAN device.
    for (let i = 1; i <= 20; i++) await ns.bridge('fdb', 'add', mac(i), 'dev', 'evpa-100', 'master', 'static');
    await ns.bridge('fdb', 'add', '02:00:00:00:bb:01', 'dev', 'evpn-100', 'self', 'dst', '192.0.2.2', 'extern_learn');
    await ns.bridge('fdb', 'add', '02:00:00:00:bb:01', 'dev', 'evpn-100', 'master', 'extern_learn');

    const { stdout } = await cli('inspect', 'kernel', '--netns', ns.name, '--json');
    const view = JSON.parse(stdout) as KernelView;

    // Devices: exactly those with the alias, with iproute2's kind, master, admin state and alias.
    const ipLinks = await ns.ipJson<{ ifindex: number; ifname: string; ifalias?: string; master?: string; flags: string[]; linkinfo?: { info_kind?: string } }>('-d', 'link', 'show');
    const owned = ipLinks.filter((l) => l.ifalias?.startsWith('evpn-ecmp:'));
    expect(owned.map((l) => l.ifname).sort()).toEqual(['evpa-100', 'evpb-100', 'evpn-100', 'evpnbr-100']);
    expect([...view.devices].sort((a, b) => a.ifindex - b.ifindex)).toEqual(
      owned
        .map((l) => ({ ifindex: l.ifindex, name: l.ifname, kind: l.linkinfo!.info_kind!, alias: l.ifalias!, ...(l.master ? { master: l.master } : {}), up: l.flags.includes('UP') }))
        .sort((a, b) => a.ifindex - b.ifindex),
    );
    expect(view.devices.find((d) => d.name === 'evpb-100')?.up).toBe(false);
    expect(view.links.find((l) => l.name === 'evpn-100')?.alias).toBe('evpn-ecmp:vxlan');

    // Exported MACs: the static entries iproute2 lists on the access port, nothing of the port's own, nothing of theirs.
    const onAccess = await ns.bridgeJson<BridgeFdb>('fdb', 'show', 'dev', 'evpa-100');
    const statics = onAccess.filter((e) => e.state === 'static');
    expect(statics).toHaveLength(20);
    expect(onAccess.length).toBeGreaterThan(statics.length); // the port's permanent address, its multicast list
    expect(view.local.map((e) => `${e.mac} ${e.dev} ${e.master} ${e.state.join(',')}`).sort()).toEqual(statics.map((e) => `${e.mac} evpa-100 ${e.master} static`).sort());
    expect(view.local.some((e) => e.mac === '02:00:00:00:ee:01')).toBe(false);

    // The remote MAC's two entries are told apart by `master`, as iproute2 tells them apart.
    const remote = (await ns.bridgeJson<BridgeFdb>('fdb', 'show', 'dev', 'evpn-100')).filter((e) => e.mac === '02:00:00:00:bb:01');
    expect(remote.map((e) => e.master ?? `dst ${e.dst}`).sort()).toEqual(['dst 192.0.2.2', 'evpnbr-100']);
    expect(view.fdb.filter((e) => e.mac === '02:00:00:00:bb:01').map((e) => e.master ?? `dst ${e.dst}`).sort()).toEqual(['dst 192.0.2.2', 'evpnbr-100']);

    const text = (await cli('inspect', 'kernel', '--netns', ns.name)).stdout;
    expect(text).toContain("the agent's devices (4):");
    expect(text).toMatch(/^ {2}\d+: evpn-100 vxlan master evpnbr-100 up alias evpn-ecmp:vxlan$/m);
    expect(text).toMatch(/^ {2}\d+: evpb-100 veth down alias evpn-ecmp:accessPeer$/m);
    expect(text).toContain("exported local MACs, on the agent's access ports (20):");
    expect(text).toContain(`  ${mac(1)} dev evpa-100 master evpnbr-100 static`);
    expect(text).toContain('  02:00:00:00:bb:01 dev evpn-100 extern_learn master evpnbr-100');
  });

  it('prints a readable table, and refuses bad flags', async () => {
    await ns.addVxlan('vx100', 100, { local: '192.0.2.1' });
    await ns.ip('nexthop', 'add', 'id', '1', 'via', '198.51.100.1', 'fdb');
    await ns.ip('nexthop', 'add', 'id', '2', 'group', '1,3', 'fdb');
    await ns.bridge('fdb', 'add', '02:00:00:00:00:01', 'dev', 'vx100', 'self', 'static', 'nhid', '2');
    const { stdout } = await cli('inspect', 'kernel', '--netns', ns.name);
    expect(stdout).toContain('  id 2 group 1,3 fdb');
    expect(stdout).toContain('  02:00:00:00:00:01 dev vx100 nhid 2 self static');
    expect(stdout).toMatch(/^ {2}\d+: vx100 vni 100 local 192\.0\.2\.1 dstport 4789$/m);
    await expect(cli('inspect', 'kernel', '--bogus')).rejects.toMatchObject({ code: 2 });
  });
});
