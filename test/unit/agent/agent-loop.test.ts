/**
 * The control loop against in-memory stand-ins for the kernel and OVS
 * (the real ones are exercised by test/integration/agent): failure paths
 * that are hard to provoke on demand with real daemons.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { Agent } from '../../../src/agent/agent.js';
import type { FloodGroup, KernelFdbEntry, KernelNexthop, KernelSnapshot, OvsInterface } from '../../../src/agent/model.js';
import { fdbKey } from '../../../src/agent/model.js';
import type { KernelNews, KernelPort, OvsInstalled, OvsPort, OvsSettingsForPort } from '../../../src/agent/ports.js';
import { observedAfter, type KernelOp } from '../../../src/agent/sync/kernel-plan.js';
import { applyOfChanges, type OfChange, type OfState } from '../../../src/agent/sync/of-plan.js';
import { applyFloodChanges, type FloodPlan } from '../../../src/agent/sync/flood-plan.js';
import type { VtepNodeStateStatus } from '../../../src/api/index.js';
import { silentLogger } from '../../../src/util/log.js';
import { fabric, spec, vxlan } from './fixtures.js';

class MemoryKernel implements KernelPort {
  nexthops = new Map<number, KernelNexthop>();
  fdb = new Map<string, KernelFdbEntry>();
  queue: KernelNews[] = [];
  failures: string[] = [];
  private wake: (() => void) | undefined;
  async start(): Promise<KernelSnapshot> {
    return this.dump();
  }
  async dump(): Promise<KernelSnapshot> {
    await Promise.resolve();
    return { links: [vxlan(10, 100)], nexthops: [...this.nexthops.values()], fdb: [...this.fdb.values()] };
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
  async apply(op: KernelOp): Promise<void> {
    await Promise.resolve();
    const fail = this.failures.shift();
    if (fail) throw new Error(fail);
    const ev = observedAfter(op, fabric());
    if (ev.kind === 'nexthop') {
      if (ev.op === 'new') this.nexthops.set(ev.nexthop.id, ev.nexthop);
      else this.nexthops.delete(ev.nexthop.id);
    } else if (ev.kind === 'fdb') {
      if (ev.op === 'new') this.fdb.set(fdbKey(ev.entry), ev.entry);
      else this.fdb.delete(fdbKey(ev.entry));
    }
    this.push(ev);
  }
  close(): void {}
}

class MemoryOvs implements OvsPort {
  state: OfState = { groups: new Map(), flows: new Map() };
  flood = new Map<number, FloodGroup>();
  commits: OfChange[][] = [];
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
  async readInstalled(settings: OvsSettingsForPort): Promise<OvsInstalled> {
    void settings;
    await Promise.resolve();
    return { groups: new Map(this.state.groups), flows: new Map(this.state.flows), adopted: new Map(), flood: new Map(this.flood), adoptedFlood: new Map() };
  }
  async commit(changes: readonly OfChange[], _settings: OvsSettingsForPort, flood: FloodPlan = { before: [], after: [] }): Promise<void> {
    await Promise.resolve();
    if (this.failCommits > 0) {
      this.failCommits -= 1;
      throw new Error('bundle rejected: GROUP_EXISTS');
    }
    this.commits.push([...changes]);
    applyFloodChanges(this.flood, flood.before);
    applyOfChanges(this.state, changes);
    applyFloodChanges(this.flood, flood.after);
  }
  close(): void {}
  emitInterfaces(i: OvsInterface[]): void {
    this.ifaceCb?.(i);
  }
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
    expect(ovs.state.groups.size).toBe(1);
    expect(ovs.flood.size).toBe(1);
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
    expect(ovs.state.flows.size).toBe(4); // classifier, tunnel delivery, one MAC, the VNI's flood flow
    expect([...ovs.flood.values()].map((g) => g.vteps)).toEqual([['192.0.2.2', '192.0.2.3']]);
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
    kernel.fdb.set('10/02:00:00:00:00:cc/0', { ifindex: 10, mac: '02:00:00:00:00:cc', vlan: 0, nhid: 2, state: 0x40, flags: 0x12 });
    kernel.push({ kind: 'resync', reason: 'overflow' });
    await settle(a, () => ovs.state.groups.size === 1 && a.status?.learned?.ecmp === 1);
    expect((await a.metrics.kernelResyncs.get()).values[0]).toMatchObject({ value: 1, labels: { reason: 'overflow' } });
  });

  it('with kernel.manage off, writes nothing to the kernel and still mirrors what it finds', async () => {
    const kernel = new MemoryKernel();
    kernel.nexthops.set(1, { id: 1, protocol: 186, family: 4, fdb: true, gateway: '192.0.2.7' });
    kernel.nexthops.set(2, { id: 2, protocol: 186, family: 0, fdb: true, members: [{ id: 1, weight: 1 }] });
    kernel.fdb.set('10/02:00:00:00:00:cc/0', { ifindex: 10, mac: '02:00:00:00:00:cc', vlan: 0, nhid: 2, state: 0x40, flags: 0x12 });
    const ovs = new MemoryOvs();
    const a = make(kernel, ovs, []);
    await a.start();
    const f = fabric();
    a.setSpec(spec([group], { kernel: { ...f.kernel, manage: false } }));
    await settle(a, () => ovs.state.groups.size === 1 && a.status?.groups?.[0]?.state === 'Pending');
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
    expect(later.map((c) => `${c.kind}:${c.command}`)).toEqual(['group:modify']);
  });
});
