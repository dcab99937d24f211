/**
 * The control loop against in-memory stand-ins for the kernel and OVS
 * (the real ones are exercised by test/integration/agent): failure paths
 * that are hard to provoke on demand with real daemons.
 *
 * The stand-ins model the kernel and Open vSwitch on their own terms —
 * rtnetlink objects as Linux reports them, OpenFlow messages as Open
 * vSwitch applies them — and never reuse the agent's translation code, so
 * a mismatch between what the agent expects and what the components do can
 * show up here.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { Agent } from '../../../src/agent/agent.js';
import type { KernelFdbEntry, KernelLink, KernelNexthop, OvsInterface } from '../../../src/agent/model.js';
import type { DeviceOp } from '../../../src/agent/sync/device-plan.js';
import type { KernelDumpBatch, KernelNews, KernelPort, OvsPort } from '../../../src/agent/ports.js';
import type { KernelOp } from '../../../src/agent/sync/kernel-plan.js';
import { flowIdentity, type BundleMessage, type BundleSource, type FlowStats, type GroupDesc } from '../../../src/lib/openflow/index.js';
import type { VtepNodeStateStatus } from '../../../src/api/index.js';
import { silentLogger } from '../../../src/util/log.js';
import { parseVtepNodeState } from '../../../src/api/index.js';
import { nodeSpecFrom } from '../../../src/agent/spec.js';
import { fabric, spec, vxlan } from './fixtures.js';

/** ndm_state / ndm_flags as Linux reports them for what iproute2 writes. */
const STATIC = 0x42; // `static`: NUD_NOARP | NUD_REACHABLE
const PERMANENT = 0xc0; // `bridge fdb append`'s default: NUD_NOARP | NUD_PERMANENT
const SELF = 0x02;
const ZERO = '00:00:00:00:00:00';

class KernelRefusal extends Error {}

/**
 * Linux 6.18 as the agent meets it: fdb nexthops and groups (members must
 * exist and be fdb nexthops), VXLAN FDB entries whose nhid must name an fdb
 * group, all-zeros flood entries per destination. Deleting a group removes
 * its FDB entries without a neighbour notification; deleting a member
 * notifies the member, then each group it left.
 */
class MemoryKernel implements KernelPort {
  /** evpn-100 made by someone else (no alias): the agent uses it as it is. */
  links_ = new Map<number, KernelLink>([[10, vxlan(10, 100)]]);
  private nextIfindex = 100;
  nexthops = new Map<number, KernelNexthop>();
  fdb = new Map<string, KernelFdbEntry>();
  queue: KernelNews[] = [];
  failures: string[] = [];
  private wake: (() => void) | undefined;
  /** Entries the next dumps pass over although they exist, as Linux 6.18's VXLAN FDB dump does when entries are deleted during it. */
  skipInDump = new Set<string>();
  async start(): Promise<void> {
    await Promise.resolve();
  }
  /** Links whole, then nexthops, then FDB entries two at a time, each part on a later turn of the event loop. */
  async dump(onBatch: (batch: KernelDumpBatch) => void): Promise<void> {
    await Promise.resolve();
    onBatch({ links: [...this.links_.values()] });
    await Promise.resolve();
    onBatch({ nexthops: [...this.nexthops.values()] });
    const fdb = [...this.fdb].filter(([key]) => !this.skipInDump.has(key)).map(([, e]) => e);
    for (let i = 0; i < fdb.length; i += 2) {
      await new Promise((r) => setImmediate(r));
      onBatch({ fdb: fdb.slice(i, i + 2) });
    }
  }
  /** Lookups (`ip nexthop get`, `bridge fdb get`): a flood list answers for the device as a whole. */
  async missing(nexthops: readonly number[], fdb: readonly KernelFdbEntry[]): Promise<{ nexthops: number[]; fdb: KernelFdbEntry[] }> {
    await Promise.resolve();
    const held = [...this.fdb.values()];
    const has = (e: KernelFdbEntry) => held.some((x) => x.ifindex === e.ifindex && x.mac === e.mac && x.vni === e.vni && x.vlan === e.vlan);
    return { nexthops: nexthops.filter((id) => !this.nexthops.has(id)), fdb: fdb.filter((e) => !has(e)) };
  }
  async links(): Promise<KernelLink[]> {
    await Promise.resolve();
    return [...this.links_.values()];
  }
  /** Devices as `ip link` makes them: a veth is two links, deleting either end deletes both. */
  async applyDevice(op: DeviceOp): Promise<void> {
    await Promise.resolve();
    const byName = (name: string) => [...this.links_.values()].find((l) => l.name === name);
    switch (op.op) {
      case 'createDevice': {
        const d = op.device;
        if (byName(d.name)) throw new KernelRefusal('EEXIST');
        const add = (name: string, alias: string, master?: number): void => {
          const ifindex = this.nextIfindex++;
          this.links_.set(ifindex, { ifindex, name, kind: d.kind, alias, up: true, ...(master !== undefined ? { master } : {}), ...(d.vxlan ? { vxlan: { vni: d.vxlan.vni ?? 0, port: d.vxlan.port, external: d.vxlan.external, local: d.vxlan.local } } : {}) });
        };
        add(d.name, `evpn-ecmp:${d.role}`, op.masterIfindex);
        if (d.kind === 'veth') add(d.peer!, 'evpn-ecmp:accessPeer');
        return;
      }
      case 'configureDevice': {
        const link = this.links_.get(op.ifindex)!;
        this.links_.set(op.ifindex, { ...link, up: true, ...(op.masterIfindex !== undefined ? { master: op.masterIfindex } : {}) });
        return;
      }
      case 'deleteDevice': {
        const link = this.links_.get(op.ifindex);
        this.links_.delete(op.ifindex);
        if (link?.kind === 'veth') for (const [i, l] of this.links_) if (l.kind === 'veth' && l.alias?.startsWith('evpn-ecmp:access')) this.links_.delete(i);
        return;
      }
      default:
        return;
    }
  }
  drain(): KernelNews[] {
    return this.queue.splice(0);
  }
  async waitForNews(): Promise<void> {
    while (this.queue.length === 0) await new Promise<void>((r) => (this.wake = r));
  }
  push(news: KernelNews): void {
    this.queue.push(news);
    this.wake?.();
  }
  async apply(op: KernelOp, protocol: number): Promise<void> {
    await Promise.resolve();
    const fail = this.failures.shift();
    if (fail) throw new Error(fail);
    switch (op.op) {
      case 'setNexthop':
        if (!op.replace && this.nexthops.has(op.id)) throw new KernelRefusal('EEXIST');
        return this.putNexthop({ id: op.id, protocol, family: op.gateway.includes(':') ? 6 : 4, fdb: true, gateway: op.gateway });
      case 'setGroup':
        if (!op.replace && this.nexthops.has(op.id)) throw new KernelRefusal('EEXIST');
        if (op.members.some((m) => !this.nexthops.get(m.id)?.fdb || this.nexthops.get(m.id)?.members)) throw new KernelRefusal('EINVAL: group members must be fdb nexthops');
        return this.putNexthop({ id: op.id, protocol, family: 0, fdb: true, members: op.members.map((m) => ({ ...m })) });
      case 'delNexthop':
        return this.deleteNexthop(op.id);
      case 'setFdb': {
        const nh = this.nexthops.get(op.nhid);
        if (!nh?.members || !nh.fdb) throw new KernelRefusal('EINVAL: nhid must be an fdb nexthop group');
        return this.putFdb(`${op.ifindex}/${op.mac}`, { ifindex: op.ifindex, mac: op.mac, vlan: 0, nhid: op.nhid, state: STATIC, flags: SELF });
      }
      case 'delFdb':
        return this.deleteFdb(`${op.ifindex}/${op.mac}`);
      case 'appendFlood':
        return this.putFdb(`${op.ifindex}/${ZERO}/${op.dst}`, { ifindex: op.ifindex, mac: ZERO, vlan: 0, dst: op.dst, state: PERMANENT, flags: SELF });
      case 'delFlood':
        return this.deleteFdb(`${op.ifindex}/${ZERO}/${op.dst}`);
    }
  }
  /** An entry other software installed (FRR's zebra, say). */
  learn(key: string, entry: KernelFdbEntry): void {
    this.fdb.set(key, entry);
  }
  private putNexthop(nh: KernelNexthop): void {
    this.nexthops.set(nh.id, nh);
    this.push({ kind: 'nexthop', op: 'new', nexthop: nh });
  }
  private deleteNexthop(id: number): void {
    const nh = this.nexthops.get(id);
    if (!nh) return;
    this.nexthops.delete(id);
    this.push({ kind: 'nexthop', op: 'del', nexthop: nh });
    if (nh.members) {
      for (const [key, e] of this.fdb) if (e.nhid === id) this.fdb.delete(key);
      return;
    }
    for (const g of [...this.nexthops.values()]) {
      if (!g.members?.some((m) => m.id === id)) continue;
      const members = g.members.filter((m) => m.id !== id);
      if (members.length === 0) this.deleteNexthop(g.id);
      else this.putNexthop({ ...g, members });
    }
  }
  private putFdb(key: string, entry: KernelFdbEntry): void {
    this.fdb.set(key, entry);
    this.push({ kind: 'fdb', op: 'new', entry });
  }
  private deleteFdb(key: string): void {
    const entry = this.fdb.get(key);
    if (!entry) return;
    this.fdb.delete(key);
    this.push({ kind: 'fdb', op: 'del', entry });
  }
  close(): void {}
}

/**
 * Open vSwitch's OpenFlow tables as bundles change them: all or nothing;
 * adding a group that exists or naming a group that does not is an error;
 * deleting a group removes the flows that output to it; strict modify and
 * delete match table, priority and match exactly, and the cookie under its
 * mask.
 */
class MemoryOvs implements OvsPort {
  groups = new Map<number, GroupDesc>();
  flows = new Map<string, FlowStats>();
  commits: BundleMessage[][] = [];
  failCommits = 0;
  private ifaceCb: ((i: OvsInterface[]) => void) | undefined;
  async connect(): Promise<void> {}
  async ensureTunnelPort(): Promise<void> {}
  async interfaces(): Promise<OvsInterface[]> {
    await Promise.resolve();
    return [{ name: 'evpn-vxlan', ofport: 9 }, { name: 'p1', ofport: 1, vni: 100 }];
  }
  onInterfaces(cb: (i: OvsInterface[]) => void): void {
    this.ifaceCb = cb;
  }
  onDisconnect(): void {}
  async dumpGroups(): Promise<GroupDesc[]> {
    await Promise.resolve();
    return [...this.groups.values()].map((g) => structuredClone(g));
  }
  async dumpFlows(cookie: bigint, cookieMask: bigint): Promise<FlowStats[]> {
    await Promise.resolve();
    return [...this.flows.values()].filter((f) => (f.cookie & cookieMask) === (cookie & cookieMask)).map((f) => structuredClone(f));
  }
  async commit(source: BundleSource): Promise<void> {
    await Promise.resolve();
    if (this.failCommits > 0) {
      this.failCommits -= 1;
      throw new Error('bundle rejected: GROUP_EXISTS');
    }
    const messages = Array.from({ length: source.length }, (_, i) => source.at(i)!);
    const groups = new Map(this.groups);
    const flows = new Map(this.flows);
    for (const m of messages) {
      if (m.type === 'groupMod') {
        const g = m.groupMod;
        if (g.command === 'add' && groups.has(g.groupId)) throw new Error('OFPGMFC_GROUP_EXISTS');
        if ((g.command === 'modify' || g.command === 'delete') && !groups.has(g.groupId)) throw new Error('OFPGMFC_UNKNOWN_GROUP');
        if (g.command === 'delete') {
          groups.delete(g.groupId);
          for (const [key, f] of flows) if (outputsTo(f, g.groupId)) flows.delete(key);
        } else {
          // Open vSwitch reports a weight for select buckets only.
          const buckets = g.buckets.map((b, i) => ({ bucketId: b.bucketId ?? i, actions: b.actions, ...(g.type === 'select' ? { weight: b.weight ?? 1 } : {}) }));
          groups.set(g.groupId, { groupId: g.groupId, type: g.type ?? 'all', ...(g.selectionMethod ? { selectionMethod: g.selectionMethod } : {}), buckets });
        }
        continue;
      }
      const f = m.flowMod;
      const key = flowIdentity({ tableId: f.tableId, priority: f.priority ?? 0x8000, match: f.match, instructions: [], cookie: 0n });
      const have = flows.get(key);
      const cookieOk = !have || f.cookieMask === undefined || (have.cookie & f.cookieMask) === (f.cookie & f.cookieMask);
      for (const ins of f.instructions) {
        for (const a of ins.type === 'applyActions' ? ins.actions : []) if (a.type === 'group' && !groups.has(a.groupId)) throw new Error('OFPBAC_BAD_OUT_GROUP');
      }
      if (f.command === 'add') flows.set(key, { tableId: f.tableId, priority: f.priority ?? 0x8000, idleTimeout: 0, hardTimeout: 0, flags: 0, importance: 0, cookie: f.cookie, durationSec: 0, durationNsec: 0, packetCount: 0n, byteCount: 0n, match: f.match, instructions: f.instructions });
      else if (f.command === 'modifyStrict' && have && cookieOk) flows.set(key, { ...have, instructions: f.instructions });
      else if (f.command === 'deleteStrict' && have && cookieOk) flows.delete(key);
    }
    this.groups = groups;
    this.flows = flows;
    this.commits.push(messages);
  }
  close(): void {}
  emitInterfaces(i: OvsInterface[]): void {
    this.ifaceCb?.(i);
  }
  /** The VTEPs of a group's buckets, in bucket order. */
  vteps(g: GroupDesc): string[] {
    return g.buckets.flatMap((b) => b.actions.flatMap((a) => (a.type === 'setField' && a.field === 'tun_dst' ? [String(a.value)] : [])));
  }
}

function outputsTo(f: FlowStats, groupId: number): boolean {
  return f.instructions.some((ins) => ins.type === 'applyActions' && ins.actions.some((a) => a.type === 'group' && a.groupId === groupId));
}

const group = { name: 'web', generation: 1, vni: 100, vteps: [{ vtep: '192.0.2.2', weight: 3 }, { vtep: '192.0.2.3', weight: 1 }], macs: ['02:00:00:00:00:aa'] };

async function settle(agent: Agent, check: () => boolean, rounds = 50): Promise<void> {
  for (let i = 0; i < rounds && !check(); i++) {
    await agent.nextIteration();
    await new Promise((r) => setTimeout(r, 5));
  }
  expect(check()).toBe(true);
}

describe('agent control loop', () => {
  let agent: Agent | undefined;
  afterEach(async () => {
    await agent?.stop();
    agent = undefined;
  });

  function make(kernel: MemoryKernel, ovs: MemoryOvs, statuses: VtepNodeStateStatus[]) {
    agent = new Agent({ kernel, ovs, logger: silentLogger, registry: new Registry(), onStatus: (s) => statuses.push(s), auditIntervalMs: 0, retryMinMs: 1, retryMaxMs: 5 });
    return agent;
  }
  const ready = (s: VtepNodeStateStatus | undefined) => s?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';

  it('retries a refused kernel write after a re-dump, and says why meanwhile', async () => {
    const kernel = new MemoryKernel();
    kernel.failures.push('EBUSY: device busy');
    const ovs = new MemoryOvs();
    const statuses: VtepNodeStateStatus[] = [];
    const a = make(kernel, ovs, statuses);
    await a.start();
    a.setSpec(spec([group]));
    await settle(a, () => ready(a.status));
    const refused = statuses.find((s) => s.conditions?.find((c) => c.type === 'KernelSynced')?.message.includes('EBUSY'));
    expect(refused?.conditions?.find((c) => c.type === 'KernelSynced')?.status).toBe('False');
    // The MAC's entry, and the flood list: an all-zeros entry per VTEP of the VNI.
    expect([...kernel.fdb.values()].map((e) => `${e.mac} ${e.dst ?? `nhid`}`).sort()).toEqual(['00:00:00:00:00:00 192.0.2.2', '00:00:00:00:00:00 192.0.2.3', '02:00:00:00:00:aa nhid']);
    expect([...ovs.groups.values()].map((g) => g.type).sort()).toEqual(['all', 'select']);
    expect(await a.metrics.kernelErrors.get()).toMatchObject({ values: [{ value: 1 }] });
  });

  it('re-reads the bridge after a refused bundle and converges', async () => {
    const kernel = new MemoryKernel();
    const ovs = new MemoryOvs();
    ovs.failCommits = 1;
    const statuses: VtepNodeStateStatus[] = [];
    const a = make(kernel, ovs, statuses);
    await a.start();
    a.setSpec(spec([group]));
    await settle(a, () => ready(a.status));
    expect(statuses.some((s) => s.conditions?.find((c) => c.type === 'OvsSynced')?.message.includes('GROUP_EXISTS'))).toBe(true);
    expect(ovs.flows.size).toBe(5); // classifier, way in from the fabric, delivery to the local port, one MAC, the VNI's flood flow
    expect([...ovs.groups.values()].filter((g) => g.type === 'all').map((g) => ovs.vteps(g))).toEqual([['192.0.2.2', '192.0.2.3']]);
    expect((await a.metrics.ofErrors.get()).values[0]?.value).toBe(1);
  });

  it('after lost notifications, re-dumps and diffs instead of restarting', async () => {
    const kernel = new MemoryKernel();
    const ovs = new MemoryOvs();
    const a = make(kernel, ovs, []);
    await a.start();
    a.setSpec(spec([]));
    await settle(a, () => ready(a.status));
    // Entries appear in the kernel while the notifications are lost.
    kernel.nexthops.set(1, { id: 1, protocol: 4, family: 4, fdb: true, gateway: '192.0.2.7' });
    kernel.nexthops.set(2, { id: 2, protocol: 4, family: 0, fdb: true, members: [{ id: 1, weight: 1 }] });
    kernel.learn('10/02:00:00:00:00:cc', { ifindex: 10, mac: '02:00:00:00:00:cc', vlan: 0, nhid: 2, state: 0x40, flags: 0x12 });
    kernel.push({ kind: 'resync', reason: 'overflow' });
    await settle(a, () => [...ovs.groups.values()].filter((g) => g.type === 'select').length === 1 && a.status?.learned?.ecmp === 1);
    expect((await a.metrics.kernelResyncs.get()).values[0]).toMatchObject({ value: 1, labels: { reason: 'overflow' } });
  });

  it('with kernel.manage off, writes nothing to the kernel and still mirrors what it finds', async () => {
    const kernel = new MemoryKernel();
    kernel.nexthops.set(1, { id: 1, protocol: 186, family: 4, fdb: true, gateway: '192.0.2.7' });
    kernel.nexthops.set(2, { id: 2, protocol: 186, family: 0, fdb: true, members: [{ id: 1, weight: 1 }] });
    kernel.learn('10/02:00:00:00:00:cc', { ifindex: 10, mac: '02:00:00:00:00:cc', vlan: 0, nhid: 2, state: 0x40, flags: 0x12 });
    const ovs = new MemoryOvs();
    const a = make(kernel, ovs, []);
    await a.start();
    const f = fabric();
    a.setSpec(spec([group], { kernel: { ...f.kernel, manage: false } }));
    await settle(a, () => [...ovs.groups.values()].filter((g) => g.type === 'select').length === 1 && a.status?.groups?.[0]?.state === 'Pending');
    expect(kernel.fdb.size).toBe(1);
    expect(kernel.nexthops.size).toBe(2);
    expect(a.status?.conditions?.find((c) => c.type === 'KernelSynced')).toMatchObject({ status: 'True', reason: 'NotManaged' });
    expect(a.status?.groups?.[0]?.message).toContain('kernel.manage is off');
    expect(a.status?.learned?.ecmp).toBe(1);
  });

  it('keeps the OVS group id when a weight changes and sends exactly one group modify', async () => {
    const kernel = new MemoryKernel();
    const ovs = new MemoryOvs();
    const a = make(kernel, ovs, []);
    await a.start();
    a.setSpec(spec([{ ...group, macs: Array.from({ length: 500 }, (_, i) => `02:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`) }]));
    await settle(a, () => ready(a.status));
    const before = ovs.commits.length;
    a.setSpec(spec([{ ...group, generation: 2, vteps: [{ vtep: '192.0.2.2', weight: 1 }, { vtep: '192.0.2.3', weight: 1 }], macs: Array.from({ length: 500 }, (_, i) => `02:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`) }], {}, 2));
    await settle(a, () => ready(a.status) && a.status?.observedGeneration === 2);
    const later = ovs.commits.slice(before).flat();
    expect(later.map((m) => (m.type === 'groupMod' ? `group:${m.groupMod.command}` : `flow:${m.flowMod.command}`))).toEqual(['group:modify']);
  });

  it('reads OVS back for the audit without holding kernel changes back; what commits touched meanwhile is not drift', async () => {
    const kernel = new MemoryKernel();
    kernel.nexthops.set(1, { id: 1, protocol: 186, family: 4, fdb: true, gateway: '192.0.2.11' });
    kernel.nexthops.set(11, { id: 11, protocol: 186, family: 0, fdb: true, members: [{ id: 1, weight: 1 }] });
    const aa = { ifindex: 10, mac: '02:00:00:00:01:aa', vlan: 0, nhid: 11, state: 0x40, flags: 0x12 };
    kernel.learn('10/02:00:00:00:01:aa', aa);
    const ovs = new MemoryOvs();
    const a = new Agent({ kernel, ovs, logger: silentLogger, registry: new Registry(), onStatus: () => undefined, auditIntervalMs: 20, learnedPollMs: 0, retryMinMs: 1, retryMaxMs: 5 });
    agent = a;
    await a.start();
    a.setSpec(spec([]));
    const hasFlow = (mac: string) => [...ovs.flows.values()].some((f) => f.match.ethDst === mac);
    await settle(a, () => hasFlow(aa.mac));
    const drift = async () => (await a.metrics.drift.get()).values.find((v) => v.labels.dataplane === 'ovs')?.value ?? 0;
    const driftBefore = await drift();
    // Someone deletes aa's flow behind the agent's back.
    for (const [key, f] of ovs.flows) if (f.match.ethDst === aa.mac) ovs.flows.delete(key);
    // The audit's read answers late, with the bridge as it was when asked.
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    let reads = 0;
    const dumpFlows = ovs.dumpFlows.bind(ovs);
    ovs.dumpFlows = async (cookie, mask) => {
      const snapshot = await dumpFlows(cookie, mask);
      reads += 1;
      await gate;
      return snapshot;
    };
    await settle(a, () => reads > 0);
    // A kernel change while the read is out reaches OVS now, not after the read.
    const bb = { ...aa, mac: '02:00:00:00:01:bb' };
    kernel.fdb.set('10/02:00:00:00:01:bb', bb);
    kernel.push({ kind: 'fdb', op: 'new', entry: bb });
    await settle(a, () => hasFlow(bb.mac));
    release();
    // aa's missing flow is drift, reported and repaired; bb's (committed during the read, absent from it) is not.
    await settle(a, () => hasFlow(aa.mac));
    expect((await drift()) - driftBefore).toBe(1);
    expect(hasFlow(bb.mac)).toBe(true);
  });

  it('counts in the convergence histogram a kernel change that arrives while learned MACs are being read (issue 20, B4 flake)', async () => {
    const kernel = new MemoryKernel();
    // A group another EVPN speaker installed, with one MAC.
    kernel.nexthops.set(1, { id: 1, protocol: 186, family: 4, fdb: true, gateway: '192.0.2.11' });
    kernel.nexthops.set(2, { id: 2, protocol: 186, family: 4, fdb: true, gateway: '192.0.2.12' });
    kernel.nexthops.set(11, { id: 11, protocol: 186, family: 0, fdb: true, members: [{ id: 1, weight: 1 }, { id: 2, weight: 1 }] });
    kernel.learn('10/02:00:00:00:01:01', { ifindex: 10, mac: '02:00:00:00:01:01', vlan: 0, nhid: 11, state: 0x40, flags: 0x12 });
    const ovs = new MemoryOvs();
    const registry = new Registry();
    const a = new Agent({ kernel, ovs, logger: silentLogger, registry, onStatus: () => undefined, auditIntervalMs: 0, learnedPollMs: 10, retryMinMs: 1, retryMaxMs: 5 });
    agent = a;
    await a.start();
    a.setSpec(spec([]));
    await settle(a, () => [...ovs.groups.values()].some((g) => g.type === 'select') && a.status?.learned?.ecmp === 1);
    const count = async () => (await a.metrics.convergence.get()).values.find((v) => v.metricName === 'evpn_agent_convergence_seconds_count')?.value ?? 0;
    const selectWeights = () => JSON.stringify([...ovs.groups.values()].find((g) => g.type === 'select')?.buckets);
    const weightsBefore = selectWeights();
    // The kernel notifies a weight change while the agent waits for Open vSwitch's answer to its learned-MAC read.
    const dumpFlows = ovs.dumpFlows.bind(ovs);
    let injected = false;
    ovs.dumpFlows = async (cookie, mask) => {
      if (!injected) {
        injected = true;
        kernel.nexthops.set(11, { id: 11, protocol: 186, family: 0, fdb: true, members: [{ id: 1, weight: 3 }, { id: 2, weight: 1 }] });
        kernel.push({ kind: 'nexthop', op: 'new', nexthop: kernel.nexthops.get(11)! });
      }
      return dumpFlows(cookie, mask);
    };
    const before = await count();
    await settle(a, () => injected && selectWeights() !== weightsBefore);
    // Let every iteration the change caused finish.
    for (let i = 0; i < 3; i++) await a.nextIteration();
    expect(await count()).toBe(before + 1);
  });
});

/**
 * Issue 18: the last good state of a group survives a bad spec (and an
 * agent restart), a MAC two groups claim is withheld from both only, and
 * id exhaustion is a reason, a condition and a metric — never a silently
 * missing flow.
 */
describe('agent: status that cannot lie', () => {
  const agents: Agent[] = [];
  afterEach(async () => {
    for (const a of agents.splice(0)) await a.stop();
  });
  function make(kernel: MemoryKernel, ovs: MemoryOvs, registry = new Registry()): Agent {
    const a = new Agent({ kernel, ovs, logger: silentLogger, registry, onStatus: () => undefined, auditIntervalMs: 0, retryMinMs: 1, retryMaxMs: 5 });
    agents.push(a);
    return a;
  }
  const cond = (a: Agent, type: string) => a.status?.conditions?.find((c) => c.type === type);
  const groupOf = (a: Agent, name: string) => a.status?.groups?.find((g) => g.name === name);
  const isReady = (a: Agent) => cond(a, 'Ready')?.status === 'True';
  /** The kernel and the bridge as comparable snapshots. */
  const snapshot = (kernel: MemoryKernel, ovs: MemoryOvs) => ({
    nexthops: [...kernel.nexthops.values()].sort((x, y) => x.id - y.id),
    fdb: [...kernel.fdb.keys()].sort(),
    groups: [...ovs.groups.values()].sort((x, y) => x.groupId - y.groupId),
    flows: [...ovs.flows.keys()].sort(),
  });
  /** A VtepNodeState as the operator renders it, through the agent's own spec edge (nodeSpecFrom). */
  const stateWith = (generation: number, vteps: Array<{ ip: string; weight?: number }>) =>
    nodeSpecFrom(parseVtepNodeState({
      apiVersion: 'evpn.ecmp.dev/v1alpha1',
      kind: 'VtepNodeState',
      metadata: { name: 'node-a', generation },
      spec: { fabric: 'default', localVtepIP: '192.0.2.1', groups: [{ name: 'web', generation, vni: 100, vteps, macs: ['02:00:00:00:00:aa', '02:00:00:00:00:ab'] }] },
    }));
  const metric = async (a: Agent, range: string) => (await a.metrics.idRangeExhausted.get()).values.find((v) => v.labels.range === range)?.value;

  it('keeps the last good state of a group whose spec turns invalid, reports it Invalid and the node Degraded', async () => {
    const kernel = new MemoryKernel();
    const ovs = new MemoryOvs();
    const a = make(kernel, ovs);
    await a.start();
    a.setSpec(stateWith(1, [{ ip: '192.0.2.2', weight: 3 }, { ip: '192.0.2.3' }]));
    await settle(a, () => isReady(a) && groupOf(a, 'web')?.state === 'Programmed');
    const good = snapshot(kernel, ovs);
    expect([...ovs.flows.values()].filter((f) => typeof f.match.ethDst === 'string' && f.match.ethDst.startsWith('02:00:00:00:00:a')).length).toBeGreaterThanOrEqual(2);

    // A typo the VtepNodeState pattern lets through: an IPv4 octet with a leading zero.
    a.setSpec(stateWith(2, [{ ip: '192.0.2.02', weight: 3 }, { ip: '192.0.2.3' }]));
    await settle(a, () => groupOf(a, 'web')?.state === 'Invalid' && a.status?.observedGeneration === 2);
    expect(snapshot(kernel, ovs)).toEqual(good);
    const web = groupOf(a, 'web')!;
    expect(web.message).toMatch(/^InvalidSpec: vteps\[0\]\.ip: .*; keeping generation 1, its last good version/);
    expect(web.appliedGeneration).toBe(1);
    expect(web.paths).toEqual([{ vtep: '192.0.2.2', weight: 3, slots: 12 }, { vtep: '192.0.2.3', weight: 1, slots: 4 }]);
    expect(cond(a, 'Degraded')).toMatchObject({ status: 'True', reason: 'GroupsInvalid', message: expect.stringContaining('web (InvalidSpec') });
    expect(cond(a, 'Ready')).toMatchObject({ status: 'True', message: expect.stringContaining('Degraded') });
    expect(a.status?.summary?.invalid).toBe(1);

    // Fixed: the new generation goes live, Degraded clears.
    a.setSpec(stateWith(3, [{ ip: '192.0.2.2', weight: 1 }, { ip: '192.0.2.3' }]));
    await settle(a, () => groupOf(a, 'web')?.state === 'Programmed' && groupOf(a, 'web')?.appliedGeneration === 3 && isReady(a));
    expect(cond(a, 'Degraded')).toMatchObject({ status: 'False', reason: 'AsExpected' });
  });

  it('after a restart, keeps what the kernel holds for a group whose spec is invalid', async () => {
    const kernel = new MemoryKernel();
    const ovs = new MemoryOvs();
    const first = make(kernel, ovs);
    await first.start();
    first.setSpec(stateWith(1, [{ ip: '192.0.2.2', weight: 3 }, { ip: '192.0.2.3' }]));
    await settle(first, () => isReady(first));
    await first.stop();
    const good = snapshot(kernel, ovs);

    const second = make(kernel, ovs);
    await second.start();
    second.setSpec(stateWith(2, [{ ip: '192.0.2.2', weight: 3 }, { ip: '192.0.2.300' }]));
    await settle(second, () => groupOf(second, 'web')?.state === 'Invalid' && cond(second, 'OvsSynced')?.status === 'True');
    expect(snapshot(kernel, ovs)).toEqual(good);
    expect(groupOf(second, 'web')!.message).toMatch(/keeping what the kernel holds for it/);
    expect(groupOf(second, 'web')!.macs).toBe(2);
  });

  it('withholds only the MAC two groups claim; the existing group keeps its other MACs', async () => {
    const kernel = new MemoryKernel();
    const ovs = new MemoryOvs();
    const a = make(kernel, ovs);
    await a.start();
    const web = { ...group, macs: ['02:00:00:00:00:aa', '02:00:00:00:00:ab', '02:00:00:00:00:ac'] };
    a.setSpec(spec([web]));
    await settle(a, () => isReady(a));
    // A newcomer that sorts first and shares one MAC.
    const newcomer = { name: 'aaa', generation: 1, vni: 100, vteps: [{ vtep: '192.0.2.4', weight: 1 }], macs: ['02:00:00:00:00:ab', '02:00:00:00:00:ff'] };
    a.setSpec(spec([web, newcomer], {}, 2));
    await settle(a, () => groupOf(a, 'aaa')?.state === 'Invalid' && cond(a, 'OvsSynced')?.status === 'True' && a.status?.observedGeneration === 2);
    const macsIn = () => [...kernel.fdb.values()].filter((e) => e.nhid !== undefined).map((e) => e.mac).sort();
    expect(macsIn()).toEqual(['02:00:00:00:00:aa', '02:00:00:00:00:ac', '02:00:00:00:00:ff']);
    expect(groupOf(a, 'web')).toMatchObject({ state: 'Invalid', macs: 2, message: expect.stringMatching(/^MacConflict: MAC 02:00:00:00:00:ab \(also group aaa\).*other 2 MAC\(s\) are programmed/) });
    expect(groupOf(a, 'aaa')).toMatchObject({ state: 'Invalid', macs: 1 });
    // OVS mirrors the kernel: the uncontested MACs keep their flows.
    const macFlows = [...ovs.flows.values()].map((f) => f.match.ethDst).filter(Boolean).sort();
    expect(macFlows).toEqual(['02:00:00:00:00:aa', '02:00:00:00:00:ac', '02:00:00:00:00:ff']);
  });

  it('OpenFlow group id exhaustion is a reason, a node condition and a metric, not a missing flow counted as mirrored', async () => {
    const kernel = new MemoryKernel();
    // Three groups another EVPN speaker installed, one MAC each.
    for (const i of [1, 2, 3]) {
      kernel.nexthops.set(i, { id: i, protocol: 186, family: 4, fdb: true, gateway: `192.0.2.${10 + i}` });
      kernel.nexthops.set(10 + i, { id: 10 + i, protocol: 186, family: 0, fdb: true, members: [{ id: i, weight: 1 }] });
      kernel.learn(`10/02:00:00:00:01:0${i}`, { ifindex: 10, mac: `02:00:00:00:01:0${i}`, vlan: 0, nhid: 10 + i, state: 0x40, flags: 0x12 });
    }
    const ovs = new MemoryOvs();
    const a = make(kernel, ovs);
    await a.start();
    // Ids go first come, first served: the three groups are read before the spec asks for VNI 100's flood group.
    await settle(a, () => a.debugEngine().kernelRead);
    const f = fabric();
    // Two ids: two select groups fit; the third group and VNI 100's flood group do not.
    a.setSpec(spec([], { ovs: { ...f.ovs, groupIdRange: { start: 65536, size: 2 } } }));
    await settle(a, () => cond(a, 'OvsSynced')?.status === 'True' && cond(a, 'Degraded')?.status === 'True');
    expect([...ovs.groups.values()].map((g) => g.type)).toEqual(['select', 'select']);
    expect(a.status?.learned).toEqual({ ecmp: 2, singlePath: 0, invalid: { GroupIdRangeExhausted: 1 } });
    expect(a.status?.flood).toEqual([{ vni: 100, vteps: 0, message: expect.stringMatching(/^GroupIdRangeExhausted: ovs.groupIdRange \(65536-65537, 2 ids\) has no free id for the VNI's flood group/) }]);
    expect(cond(a, 'Degraded')).toMatchObject({ reason: 'IdRangeExhausted', message: expect.stringContaining('1 kernel nexthop group(s) without an OpenFlow select group (0 of this node\'s groups, 1 mirrored MAC(s) without a flow); ovs.groupIdRange: VNI 100 without a flood group') });
    expect(a.status?.summary?.invalid).toBe(1);
    expect(await metric(a, 'groupIdRange')).toBe(2);
    expect(await metric(a, 'nexthopIdRange')).toBe(0);

    // A bigger range: everything gets its id, the condition and the metric clear.
    a.setSpec(spec([], { ovs: { ...f.ovs, groupIdRange: { start: 65536, size: 16 } } }, 2));
    await settle(a, () => cond(a, 'Degraded')?.status === 'False' && cond(a, 'OvsSynced')?.status === 'True');
    expect(a.status?.learned).toEqual({ ecmp: 3, singlePath: 0, invalid: {} });
    expect(await metric(a, 'groupIdRange')).toBe(0);
  });

  it('kernel nexthop id exhaustion keeps the last good version of a group and says why', async () => {
    const kernel = new MemoryKernel();
    const ovs = new MemoryOvs();
    const a = make(kernel, ovs);
    await a.start();
    const f = fabric();
    const small = { kernel: { ...f.kernel, nexthopIdRange: { start: 100, size: 3 } } };
    // One VTEP and the group: two of the three ids.
    a.setSpec(spec([{ ...group, vteps: [{ vtep: '192.0.2.2', weight: 1 }] }], small));
    await settle(a, () => isReady(a));
    const good = snapshot(kernel, ovs);
    // Two more VTEPs need two more ids; one is left.
    a.setSpec(spec([{ ...group, generation: 2, vteps: [{ vtep: '192.0.2.2', weight: 1 }, { vtep: '192.0.2.3', weight: 1 }, { vtep: '192.0.2.4', weight: 1 }] }], small, 2));
    await settle(a, () => groupOf(a, 'web')?.state === 'Invalid' && a.status?.observedGeneration === 2);
    expect(groupOf(a, 'web')).toMatchObject({ appliedGeneration: 1, message: expect.stringMatching(/^IdRangeExhausted: kernel.nexthopIdRange \(100-102, 3 ids\) has no free id for the nexthop of VTEP 192.0.2.4; keeping generation 1/) });
    expect(snapshot(kernel, ovs)).toEqual(good);
    expect(cond(a, 'Degraded')).toMatchObject({ status: 'True', reason: 'IdRangeExhausted', message: expect.stringContaining('1 group(s) without a kernel nexthop id (web)') });
    expect(await metric(a, 'nexthopIdRange')).toBe(1);
  });
});


describe('agent status within the object etcd stores (status-size.ts)', () => {
  let agent: Agent | undefined;
  afterEach(async () => {
    await agent?.stop();
    agent = undefined;
  });
  const ready = (s: VtepNodeStateStatus | undefined) => s?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
  const groupsOf = (n: number, from = 0) =>
    Array.from({ length: n }, (_, k) => {
      const i = from + k;
      return { name: `group-${String(i).padStart(5, '0')}`, generation: 1, vni: 100, vteps: [{ vtep: '192.0.2.2', weight: 3 }, { vtep: '192.0.2.3', weight: 1 }], macs: [`02:00:00:${(i >> 16).toString(16).padStart(2, '0')}:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`] };
    });

  it('past its budget lists Programmed groups in short form, keeps the detail of the others, and says so; back under it, full again', async () => {
    const statuses: VtepNodeStateStatus[] = [];
    const kernel = new MemoryKernel();
    const ovs = new MemoryOvs();
    agent = new Agent({ kernel, ovs, logger: silentLogger, registry: new Registry(), onStatus: (s) => statuses.push(s), auditIntervalMs: 0, retryMinMs: 1, retryMaxMs: 5, statusBudgetBytes: 8 * 1024 });
    await agent.start();
    const bad = { name: 'bad', generation: 3, vni: 100, vteps: [], macs: ['02:00:00:00:ff:01'], invalid: 'vteps[0].ip: must be written in canonical form' };
    agent.setSpec(spec([...groupsOf(60), bad]));
    await settle(agent, () => ready(agent!.status) && agent!.status?.groupDetail === 'Compact');
    const s = agent.status!;
    expect(s.groups).toHaveLength(61);
    expect(s.groups!.find((g) => g.name === 'group-00007')).toEqual({ name: 'group-00007', state: 'Programmed', appliedGeneration: 1 });
    expect(s.groups!.find((g) => g.name === 'bad')).toMatchObject({ state: 'Invalid', vni: 100, message: expect.stringMatching(/^InvalidSpec: vteps\[0\]\.ip/) });
    // Counts are of every group, whatever the listing.
    expect(s.summary).toEqual({ groups: 61, paths: 120, macs: 60, invalid: 1 });
    expect(JSON.stringify(s).length).toBeLessThan(8 * 1024);
    expect(await agent.metrics.statusBytes.get()).toMatchObject({ values: [{ value: expect.any(Number) }] });

    // A change through updateSpec (one VtepGroup): that group's entry follows, still short.
    agent.updateSpec({ groups: [{ ...groupsOf(1, 7)[0]!, generation: 2, vteps: [{ vtep: '192.0.2.2', weight: 1 }] }] });
    await settle(agent, () => agent!.status?.groups?.find((g) => g.name === 'group-00007')?.appliedGeneration === 2);
    expect(agent.status!.groups!.find((g) => g.name === 'group-00007')).toEqual({ name: 'group-00007', state: 'Programmed', appliedGeneration: 2 });

    agent.updateSpec({ removed: groupsOf(55).map((g) => g.name) });
    await settle(agent, () => agent!.status?.groupDetail === 'Full' && agent!.status.groups?.length === 6);
    expect(agent.status!.groups!.find((g) => g.name === 'group-00059')).toMatchObject({ vni: 100, macs: 1, paths: [{ vtep: '192.0.2.2', weight: 3 }, { vtep: '192.0.2.3', weight: 1 }], nexthopGroupId: expect.any(Number), ofGroupId: expect.any(Number) });
  });

  it('10,000 groups: Ready, and a status well under what etcd accepts', async () => {
    const statuses: VtepNodeStateStatus[] = [];
    const kernel = new MemoryKernel();
    const ovs = new MemoryOvs();
    agent = new Agent({ kernel, ovs, logger: silentLogger, registry: new Registry(), onStatus: (s) => statuses.push(s), auditIntervalMs: 0, retryMinMs: 1, retryMaxMs: 5 });
    await agent.start();
    agent.setSpec(spec(groupsOf(10_000)));
    await settle(agent, () => ready(agent!.status), 200);
    const s = agent.status!;
    const bytes = Buffer.byteLength(JSON.stringify(s));
    process.stdout.write(`status at 10,000 groups: ${bytes} bytes, groupDetail ${s.groupDetail}\n`);
    expect(s.groupDetail).toBe('Compact');
    expect(s.groups).toHaveLength(10_000);
    expect(s.summary).toMatchObject({ groups: 10_000, macs: 10_000, paths: 20_000 });
    expect(bytes).toBeLessThan(1024 * 1024);
    // The full form would not have fitted beside the spec in etcd's 1.5 MiB.
    const full = statuses.find((x) => x.groupDetail === 'Full' && (x.groups?.length ?? 0) > 5_000);
    expect(full).toBeUndefined();
  }, 120_000);
});
