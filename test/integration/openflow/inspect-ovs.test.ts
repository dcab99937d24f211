import { afterEach, beforeAll, afterAll, describe, expect, it, vi } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OvsSandbox } from '../../harness/ovs.js';
import { run } from '../../harness/exec.js';
import { missingPrerequisites, OVS_TOOLS } from '../../harness/prereq.js';
import { inspectOvsTarget, type OvsView } from '../../../src/cli/inspect-ovs.js';
import { inspectCommand } from '../../../src/cli/inspect.js';
import { ofctlFlowLines, ofctlGroupLines } from './ofctl-text.js';

const skip = missingPrerequisites(OVS_TOOLS);
const GROUPS = 1_000;
const FLOWS = 10_000;

function weightOf(g: number, b: number): number {
  return ((g * 7 + b * 13) % 256) + 1;
}

async function capture(f: () => Promise<number>): Promise<{ code: number; out: string }> {
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  try {
    const code = await f();
    return { code, out };
  } finally {
    spy.mockRestore();
  }
}

describe.skipIf(skip)('evpn-ecmp inspect ovs', () => {
  let ovs: OvsSandbox;

  beforeAll(async () => {
    ovs = await OvsSandbox.start();
    await ovs.addBridge('br-evpn');
    await ovs.addDummyPort('br-evpn', 'p1', { ofport: 1 });
    const groups: string[] = [];
    for (let g = 1; g <= GROUPS; g++) {
      const buckets = Array.from({ length: 4 }, (_, b) => {
        const dst = g % 2 ? `198.51.${Math.floor(g / 250)}.${(g % 250) + b + 1}` : `2001:db8::${g.toString(16)}:${b + 1}`;
        return `bucket=bucket_id:${b},weight:${weightOf(g, b)},actions=set_field:${g}->tun_id,set_field:${dst}->${g % 2 ? 'tun_dst' : 'tun_ipv6_dst'},output:1`;
      });
      groups.push(`group_id=${65536 + g},type=select,selection_method=${g % 3 ? 'dp_hash' : 'hash'},${buckets.join(',')}`);
    }
    const flows: string[] = [];
    for (let i = 0; i < FLOWS; i++) {
      const mac = `02:00:00:${((i >> 16) & 0xff).toString(16).padStart(2, '0')}:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`;
      flows.push(`cookie=0x45564e0000000000,table=1,priority=100,metadata=${(i % 50) + 1},dl_dst=${mac},actions=set_field:${(i % 50) + 1}->tun_id,group:${65536 + (i % GROUPS) + 1}`);
    }
    writeFileSync(join(ovs.dir, 'groups.txt'), groups.join('\n') + '\n');
    writeFileSync(join(ovs.dir, 'flows.txt'), flows.join('\n') + '\n');
    const mgmt = `unix:${ovs.mgmtSocket('br-evpn')}`;
    await run('ovs-ofctl', ['-O', 'OpenFlow15', '--bundle', 'add-groups', mgmt, join(ovs.dir, 'groups.txt')], { env: ovs.env });
    await run('ovs-ofctl', ['-O', 'OpenFlow15', '--bundle', 'add-flows', mgmt, join(ovs.dir, 'flows.txt')], { env: ovs.env });
    await ovs.ofctl('add-flow', 'br-evpn', 'table=0,priority=10,in_port=1,actions=write_metadata:0x64,goto_table:1');
  });
  afterAll(async () => {
    await ovs?.stop();
  });
  afterEach(() => vi.restoreAllMocks());

  it(`--json agrees with ovs-ofctl on ${GROUPS} groups and ${FLOWS} flows`, async () => {
    const { code, out } = await capture(() => inspectOvsTarget.run(['--bridge', 'br-evpn', '--ovs-rundir', ovs.rundir, '--json']));
    expect(code).toBe(0);
    const view = JSON.parse(out) as OvsView;
    expect(view.openflow_version).toBe('1.5');
    expect(view.groups).toHaveLength(GROUPS);
    expect(view.flows).toHaveLength(FLOWS + 1);

    const { stdout: groups } = await ovs.ofctl('dump-groups', 'br-evpn');
    expect(view.groups.map((g) => g.text).sort()).toEqual(ofctlGroupLines(groups));
    const { stdout: flows } = await ovs.ofctl('dump-flows', 'br-evpn');
    expect(view.flows.map((f) => f.text).sort()).toEqual(ofctlFlowLines(flows));

    // Structured fields carry the same facts: ids, types, methods, weights.
    const g7 = view.groups.find((g) => g.group_id === 65536 + 7)!;
    expect(g7).toMatchObject({ type: 'select', selection_method: 'dp_hash', ref_count: 10, packet_count: 0 });
    expect(g7.buckets.map((b) => [b.bucket_id, b.weight])).toEqual([0, 1, 2, 3].map((b) => [b, weightOf(7, b)]));
    expect(g7.buckets[1]?.actions).toBe('set_field:0x7->tun_id,set_field:198.51.0.9->tun_dst,output:1');
    // What Open vSwitch makes of the weights: a table of 16..256 slots dealt
    // by weight, each bucket within one slot of its weight's share.
    const slots = g7.hash_slots!;
    expect([16, 32, 64, 128, 256]).toContain(slots.slots);
    expect(slots.targets.reduce((n, t) => n + t.slots, 0)).toBe(slots.slots);
    const total = [0, 1, 2, 3].reduce((n, b) => n + weightOf(7, b), 0);
    for (const b of g7.buckets) {
      const got = slots.targets.find((t) => t.actions === b.actions)?.slots ?? 0;
      expect(Math.abs(got / slots.slots - b.weight! / total)).toBeLessThan(1 / slots.slots);
    }
    expect(view.groups.find((g) => g.group_id === 65536 + 6)!.hash_slots).toBeUndefined(); // selection_method=hash
    const flow = view.flows.find((f) => f.table === 0)!;
    expect(flow).toMatchObject({ priority: 10, cookie: '0x0', match: 'in_port=1', actions: 'write_metadata:0x64,goto_table:1', n_packets: 0 });
  });

  it('prints text in ovs-ofctl vocabulary through `evpn-ecmp inspect ovs`', async () => {
    const { code, out } = await capture(() => inspectCommand.run(['ovs', '--bridge', 'br-evpn', '--ovs-rundir', ovs.rundir]));
    expect(code).toBe(0);
    expect(out).toMatch(/^bridge br-evpn: OpenFlow 1\.5, datapath_id 0x[0-9a-f]{16}$/m);
    expect(out).toContain(`groups (${GROUPS}):`);
    expect(out).toContain(`flows (${FLOWS + 1}):`);
    expect(out).toMatch(/^ group_id=65537,type=select,selection_method=dp_hash,bucket=bucket_id:0,weight:8,actions=set_field:0x1->tun_id,set_field:198\.51\.0\.2->tun_dst,output:1,/m);
    expect(out).toMatch(/^ {3}ref_count=10,packet_count=0,byte_count=0,bucket_id:0:packet_count=0,byte_count=0,/m);
    expect(out).toMatch(/^ {3}hash slots (16|32|64|128|256): \d+ \(\d+\.\d %\) set_field:0x1->tun_id,set_field:198\.51\.0\.2->tun_dst,output:1; /m);
    expect(out).toMatch(/^ cookie=0x0, table=0, n_packets=0, n_bytes=0, priority=10,in_port=1 actions=write_metadata:0x64,goto_table:1$/m);
  });

  it('filters flows by cookie/mask and table', async () => {
    const ours = await capture(() => inspectOvsTarget.run(['--bridge', 'br-evpn', '--ovs-rundir', ovs.rundir, '--json', '--cookie', '0x45564e0000000000/0xffffffff00000000']));
    expect((JSON.parse(ours.out) as OvsView).flows).toHaveLength(FLOWS);
    const table0 = await capture(() => inspectOvsTarget.run(['--bridge', 'br-evpn', '--ovs-rundir', ovs.rundir, '--json', '--table', '0']));
    expect((JSON.parse(table0.out) as OvsView).flows.map((f) => f.text)).toEqual(['cookie=0x0, table=0, priority=10,in_port=1 actions=write_metadata:0x64,goto_table:1']);
    await expect(inspectOvsTarget.run(['--bridge', 'br-evpn', '--cookie', 'zz'])).rejects.toThrow(/--cookie/);
  });

  it('sums up local MACs per VNI: declared (priority 200) and learned by Open vSwitch (150), in both local tables, as ovs-ofctl shows them', async () => {
    // The agent's local MAC flows (src/agent/openflow/pipeline.ts, T = 0) on a bridge of their own.
    await ovs.addBridge('br-local');
    await ovs.addDummyPort('br-local', 'vm1', { ofport: 1 });
    await ovs.addDummyPort('br-local', 'web', { ofport: 2 });
    await ovs.addDummyPort('br-local', 'db', { ofport: 3 });
    const cookie = '0x45564e0000000000';
    const learn = (table: number) => `learn(table=${table},idle_timeout=300,priority=150,cookie=0x45564e00ffffffff,OXM_OF_METADATA[]=0x64,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],output:NXM_OF_IN_PORT[])`;
    const flows = [
      `cookie=${cookie},table=0,priority=100,in_port=1,actions=write_metadata:0x64,goto_table:1`,
      `cookie=${cookie},table=0,priority=100,in_port=2,actions=${learn(1)},${learn(2)},write_metadata:0x64,goto_table:1`,
      `cookie=${cookie},table=0,priority=100,in_port=3,actions=write_metadata:0xc8,goto_table:1`,
      ...[1, 2].flatMap((t) => [
        `cookie=${cookie},table=${t},priority=200,metadata=0x64,dl_dst=02:00:00:00:0a:01,actions=output:1`,
        `cookie=${cookie},table=${t},priority=200,metadata=0xc8,dl_dst=02:00:00:00:0a:02,actions=output:3`,
        `cookie=${cookie},table=${t},priority=1,metadata=0x64,actions=output:1,output:2`,
      ]),
      // A remote MAC (priority 100, into the tunnel) is not local.
      `cookie=${cookie},table=1,priority=100,metadata=0x64,dl_dst=02:00:00:00:0b:01,actions=set_field:0x64->tun_id,set_field:192.0.2.2->tun_dst,output:1`,
    ];
    writeFileSync(join(ovs.dir, 'local-flows.txt'), flows.join('\n') + '\n');
    await run('ovs-ofctl', ['-O', 'OpenFlow15', 'add-flows', `unix:${ovs.mgmtSocket('br-local')}`, join(ovs.dir, 'local-flows.txt')], { env: ovs.env });
    // Open vSwitch learns web's MAC from a frame it sends.
    const frame = '020000000a01' + '020000000100' + '0800' + '4500001c00000000401100000a0000020a000001' + '00000000';
    await ovs.appctl('netdev-dummy/receive', 'web', frame);
    const dump = async () => (await ovs.ofctl('dump-flows', 'br-local')).stdout;
    for (let i = 0; i < 50 && !/priority=150/.test(await dump()); i++) await new Promise((r) => setTimeout(r, 100));

    const { code, out } = await capture(() => inspectOvsTarget.run(['--bridge', 'br-local', '--ovs-rundir', ovs.rundir, '--json']));
    expect(code).toBe(0);
    const view = JSON.parse(out) as OvsView;
    // What ovs-ofctl shows: every priority 200/150 flow that matches metadata and dl_dst and outputs to one port.
    const ofctl = ofctlFlowLines(await dump()).flatMap((l) => {
      const m = /table=(\d+), (?:idle_timeout=(\d+), )?priority=(200|150),metadata=0x([0-9a-f]+),dl_dst=([0-9a-f:]+) actions=output:(\d+)$/.exec(l);
      return m ? [{ table: Number(m[1]), priority: Number(m[3]), vni: parseInt(m[4]!, 16), mac: m[5]!, port: Number(m[6]) }] : [];
    });
    expect(ofctl).toHaveLength(6);
    const fromView = view.local.flatMap((e) => e.tables.map((table) => ({ table, priority: e.priority, vni: e.vni, mac: e.mac, port: e.port })));
    const order = (x: { table: number; mac: string }) => `${x.mac}/${x.table}`;
    expect(fromView.sort((a, b) => order(a).localeCompare(order(b)))).toEqual(ofctl.sort((a, b) => order(a).localeCompare(order(b))));
    expect(view.local).toEqual([
      { vni: 100, mac: '02:00:00:00:01:00', port: 2, port_name: 'web', kind: 'learned', priority: 150, tables: [1, 2], idle_timeout: 300 },
      { vni: 100, mac: '02:00:00:00:0a:01', port: 1, port_name: 'vm1', kind: 'attached', priority: 200, tables: [1, 2] },
      { vni: 200, mac: '02:00:00:00:0a:02', port: 3, port_name: 'db', kind: 'attached', priority: 200, tables: [1, 2] },
    ]);

    const text = await capture(() => inspectOvsTarget.run(['--bridge', 'br-local', '--ovs-rundir', ovs.rundir]));
    expect(text.out).toContain('local MACs (3):');
    expect(text.out).toMatch(/^ vni=100 dl_dst=02:00:00:00:01:00 output:2 \(web\) learned \(tables=1,2,priority=150,idle_timeout=300\)$/m);
    expect(text.out).toMatch(/^ vni=200 dl_dst=02:00:00:00:0a:02 output:3 \(db\) attached \(tables=1,2,priority=200\)$/m);
  });

  it('fails with a one-line reason when the bridge has no management socket', async () => {
    await expect(inspectOvsTarget.run(['--bridge', 'missing', '--ovs-rundir', ovs.rundir, '--timeout', '2000'])).rejects.toThrow(/missing\.mgmt/);
    await expect(inspectOvsTarget.run(['--ovs-rundir', ovs.rundir])).rejects.toThrow(/--bridge is required/);
  });
});
