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
