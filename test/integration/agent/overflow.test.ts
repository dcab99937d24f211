import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KERNEL_TOOLS, OVS_TOOLS, missingPrerequisites } from '../../harness/prereq.js';
import { AgentLab, metricValue } from './lab.js';
import { bucketsOfLine, sharesMatch, vtepShares, type BucketLike } from '../../harness/slots.js';
import type { Path } from '../../../src/agent/model.js';

const skip = missingPrerequisites([...KERNEL_TOOLS, ...OVS_TOOLS]);
const VTEPS = Array.from({ length: 8 }, (_, i) => `192.0.2.${40 + i}`);

function mac(i: number): string {
  return `02:00:00:${((i >> 16) & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
}

describe.skipIf(skip)('agent: notification overflow', () => {
  let lab: AgentLab;
  beforeEach(async () => {
    lab = new AgentLab({ vteps: VTEPS, agentArgs: ['--netlink-rcvbuf', '4096'] });
    await lab.setup();
  });
  afterEach(async () => {
    await lab.teardown();
  });

  /** MAC → the paths (VTEP, weight) of its nexthop group, as the kernel holds them. */
  async function kernelView(): Promise<Map<string, Path[]>> {
    const nh = await lab.ns.ipJson<{ id: number; gateway?: string; group?: Array<{ id: number; weight?: number }> }>('nexthop', 'show');
    const byId = new Map(nh.map((n) => [n.id, n]));
    const out = new Map<string, Path[]>();
    for (const e of await lab.ns.bridgeJson<{ mac: string; nhid?: number; dst?: string }>('fdb', 'show', 'dev', 'evpn-100')) {
      if (e.nhid === undefined) continue;
      const g = byId.get(e.nhid);
      if (!g?.group) continue;
      out.set(e.mac, g.group.map((m) => ({ vtep: byId.get(m.id)?.gateway ?? '?', weight: m.weight ?? 1 })));
    }
    return out;
  }

  /** MAC → the buckets of the select group its flow names, as Open vSwitch forwards. */
  async function ovsView(): Promise<Map<string, BucketLike[]>> {
    const buckets = new Map<number, BucketLike[]>();
    for (const g of await lab.dumpGroups()) buckets.set(Number(/group_id=(\d+)/.exec(g)![1]), bucketsOfLine(g));
    const out = new Map<string, BucketLike[]>();
    for (const f of await lab.dumpFlows()) {
      const m = /dl_dst=([0-9a-f:]+).*group:(\d+)/.exec(f);
      if (m) out.set(m[1]!, buckets.get(Number(m[2])) ?? []);
    }
    return out;
  }

  /** MACs whose OVS group does not split their traffic as the kernel's weights say. */
  const mismatches = (expected: Map<string, Path[]>, actual: Map<string, BucketLike[]>) =>
    [...expected].filter(([mac, paths]) => !sharesMatch(actual.get(mac) ?? [], paths)).map(([mac, paths]) => ({ mac, paths, ovs: [...vtepShares(actual.get(mac) ?? [])] }));

  it('a burst of 20,000 kernel changes on a 4 KiB receive buffer ends in exactly the kernel state', async () => {
    lab.writeState([]);
    lab.startAgent();
    await lab.waitReady(1);

    const nh: string[] = VTEPS.map((ip, i) => `nexthop add id ${i + 1} via ${ip} fdb`);
    for (let g = 0; g < 50; g++) nh.push(`nexthop add id ${100 + g} group ${(g % 8) + 1},${(g % 3) + 1}/${((g + 3) % 8) + 1},1 fdb`);
    const fdb: string[] = [];
    for (let i = 0; i < 20_000; i++) fdb.push(`fdb add ${mac(i)} dev evpn-100 self extern_learn nhid ${100 + (i % 50)}`);
    for (let i = 0; i < 2_000; i++) fdb.push(`fdb del ${mac(i * 7)} dev evpn-100 self`);
    const nh2: string[] = [];
    for (let g = 0; g < 50; g += 5) nh2.push(`nexthop replace id ${100 + g} group ${(g % 8) + 1},7/${((g + 5) % 8) + 1},2 fdb`);
    nh2.push('nexthop replace id 4 via 192.0.2.47 fdb'); // member replace: only the member is notified
    nh2.push('nexthop del id 149'); // group deletion: its FDB entries vanish without RTM_DELNEIGH
    const files = { nh: join(lab.dir, 'nh.batch'), fdb: join(lab.dir, 'fdb.batch'), nh2: join(lab.dir, 'nh2.batch') };
    writeFileSync(files.nh, nh.join('\n') + '\n');
    writeFileSync(files.fdb, fdb.join('\n') + '\n');
    writeFileSync(files.nh2, nh2.join('\n') + '\n');
    await lab.ns.ip('-batch', files.nh);
    await lab.ns.bridge('-batch', files.fdb);
    await lab.ns.ip('-batch', files.nh2);

    const expected = await kernelView();
    expect(expected.size).toBeGreaterThan(17_000);
    const deadline = Date.now() + 90_000;
    let actual = new Map<string, BucketLike[]>();
    while (Date.now() < deadline) {
      actual = await ovsView();
      if (actual.size === expected.size && mismatches(expected, actual).length === 0) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(actual.size).toBe(expected.size);
    expect(mismatches(expected, actual).slice(0, 5)).toEqual([]);
    const m = await lab.metrics();
    // The small buffer did overflow, and recovery was a re-dump, not a restart.
    expect(metricValue(m, 'evpn_agent_kernel_resyncs_total', { reason: 'overflow' })).toBeGreaterThanOrEqual(1);
    expect(lab.agent?.exitCode).toBeNull();
    const status = await lab.waitStatus('learned count', (s) => s.learned?.ecmp === expected.size);
    expect(status.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
  }, 150_000);
});
