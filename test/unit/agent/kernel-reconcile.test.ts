/**
 * kernel-reconcile: a dump folded in while notifications keep arriving. A
 * dump is a walk, not a snapshot: what a notification said during it wins
 * over the dump's older copy, and an absence from the dump removes an
 * object only when a lookup confirms the kernel lacks it (Linux 6.18's
 * VXLAN FDB dump skips existing entries when entries are deleted during it).
 */
import { describe, expect, it } from 'vitest';
import { createAgentGraph, type AgentGraph } from '../../../src/agent/engine/graph.js';
import { applyKernelEvent, applyKernelSnapshot } from '../../../src/agent/kernel-input.js';
import { KernelReconcile, type ReconcileState } from '../../../src/agent/kernel-reconcile.js';
import { fdbKey, ZERO_MAC, type KernelEvent, type KernelFdbEntry, type KernelLink, type KernelNexthop } from '../../../src/agent/model.js';
import type { KernelDumpBatch } from '../../../src/agent/ports.js';
import { fdbGroup, fdbNh, mac, spec, vxlan } from './fixtures.js';

function learned(m: string, nhid: number): KernelFdbEntry {
  return { ifindex: 10, mac: m, vlan: 0, nhid, state: 0x40, flags: 0x12 };
}

function flood(dst: string): KernelFdbEntry {
  return { ifindex: 10, mac: ZERO_MAC, vlan: 0, dst, state: 0x80, flags: 0x02 };
}

/** The kernel as lookups see it now, and a dump the test hands out part by part. */
class ScriptedKernel {
  nexthops = new Map<number, KernelNexthop>();
  fdb = new Map<string, KernelFdbEntry>();
  private onBatch: ((batch: KernelDumpBatch) => void) | undefined;
  private finish: (() => void) | undefined;
  lookups = 0;

  dump(onBatch: (batch: KernelDumpBatch) => void): Promise<void> {
    this.onBatch = onBatch;
    return new Promise((resolve) => (this.finish = resolve));
  }
  send(batch: KernelDumpBatch): void {
    this.onBatch!(batch);
  }
  end(): void {
    this.finish!();
  }
  missing(nexthops: readonly number[], fdb: readonly KernelFdbEntry[]): Promise<{ nexthops: number[]; fdb: KernelFdbEntry[] }> {
    this.lookups += nexthops.length + fdb.length;
    const floods = (ifindex: number) => [...this.fdb.values()].some((e) => e.ifindex === ifindex && e.mac === ZERO_MAC);
    return Promise.resolve({
      nexthops: nexthops.filter((id) => !this.nexthops.has(id)),
      // A flood-list lookup answers for the device as a whole (its first destination).
      fdb: fdb.filter((e) => (e.mac === ZERO_MAC ? !floods(e.ifindex) : !this.fdb.has(fdbKey(e)))),
    });
  }
}

const LINKS: KernelLink[] = [vxlan(10, 100)];
const MEMBER = fdbNh(1, '192.0.2.2');
const GROUP = fdbGroup(11, [[1, 1]]);

function graphWith(fdb: KernelFdbEntry[]): AgentGraph {
  const g = createAgentGraph();
  applyKernelSnapshot(g, { links: LINKS, nexthops: [MEMBER, GROUP], fdb });
  g.engine.run();
  return g;
}

function kernelWith(fdb: KernelFdbEntry[]): ScriptedKernel {
  const k = new ScriptedKernel();
  k.nexthops.set(1, MEMBER);
  k.nexthops.set(11, GROUP);
  for (const e of fdb) k.fdb.set(fdbKey(e), e);
  return k;
}

/** A notification as kernelctrl applies one while a reconcile runs. */
function notify(g: AgentGraph, r: KernelReconcile, ev: KernelEvent): void {
  applyKernelEvent(g, ev);
  r.noteEvent(ev);
}

/** Steps the reconcile (and the engine, as the agent's iterations do) until it ends. */
async function finish(g: AgentGraph, r: KernelReconcile): Promise<ReconcileState> {
  for (let i = 0; i < 20; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    const state = r.step();
    g.engine.run();
    if (state !== 'running') return state;
  }
  return 'running';
}

const macs = (g: AgentGraph) => [...g.fdb.data.byKey.values()].map((e) => e.mac).sort();

describe('kernel-reconcile: a dump folded in while notifications flow', () => {
  it('keeps an entry the dump passed over when the lookup finds it, and removes one the kernel lost', async () => {
    const [a, b, c] = [learned(mac(1), 11), learned(mac(2), 11), learned(mac(3), 11)];
    const g = graphWith([a, b, c]);
    // The kernel lost b without a notification; the dump skips a although it exists.
    const k = kernelWith([a, c]);
    const r = new KernelReconcile('resync', k, g, new Set(), () => undefined);
    r.begin();
    k.send({ links: LINKS });
    k.send({ nexthops: [MEMBER, GROUP] });
    k.send({ fdb: [c] });
    k.end();
    expect(await finish(g, r)).toBe('done');
    expect(macs(g)).toEqual([mac(1), mac(3)]);
    // Only the two absences were looked up, not every entry.
    expect(k.lookups).toBe(2);
  });

  it('a notification during the dump wins over the dump\'s older copy; an entry added meanwhile stays', async () => {
    const [a, b] = [learned(mac(1), 11), learned(mac(2), 11)];
    const g = graphWith([a]);
    const k = kernelWith([b]);
    const r = new KernelReconcile('resync', k, g, new Set(), () => undefined);
    r.begin();
    k.send({ links: LINKS });
    k.send({ nexthops: [MEMBER, GROUP] });
    // a is deleted and b added while the dump walks; the dump's datagram holding a was read before.
    notify(g, r, { kind: 'fdb', op: 'del', entry: a });
    notify(g, r, { kind: 'fdb', op: 'new', entry: b });
    k.send({ fdb: [a] });
    k.end();
    expect(await finish(g, r)).toBe('done');
    expect(macs(g)).toEqual([mac(2)]);
  });

  it('does not bring back entries of a group deleted during the dump (the kernel drops them without a notification)', async () => {
    const a = learned(mac(1), 11);
    const g = graphWith([a]);
    const k = kernelWith([]);
    k.nexthops.delete(11);
    const r = new KernelReconcile('resync', k, g, new Set(), () => undefined);
    r.begin();
    k.send({ links: LINKS });
    k.send({ nexthops: [MEMBER, GROUP] });
    notify(g, r, { kind: 'nexthop', op: 'del', nexthop: GROUP });
    k.send({ fdb: [a] });
    k.end();
    expect(await finish(g, r)).toBe('done');
    expect(macs(g)).toEqual([]);
    expect(g.nexthops.data.byId.has(11)).toBe(false);
  });

  it('removes a flood destination only when two dumps in a row miss it while its device still floods', async () => {
    const [x, y] = [flood('192.0.2.7'), flood('192.0.2.8')];
    const g = graphWith([x, y]);
    // The kernel lost x; y is still there (so the device still floods: a lookup cannot tell x's absence).
    const k = kernelWith([y]);
    const dump = async (suspects: ReadonlySet<string>) => {
      const r = new KernelReconcile('resync', k, g, suspects, () => undefined);
      r.begin();
      k.send({ links: LINKS });
      k.send({ nexthops: [MEMBER, GROUP] });
      k.send({ fdb: [y] });
      k.end();
      expect(await finish(g, r)).toBe('done');
      return r;
    };
    const first = await dump(new Set());
    expect(g.fdb.data.byKey.has(fdbKey(x))).toBe(true);
    expect([...first.floodSuspects]).toEqual([fdbKey(x)]);
    await dump(first.floodSuspects);
    expect(g.fdb.data.byKey.has(fdbKey(x))).toBe(false);
    expect(g.fdb.data.byKey.has(fdbKey(y))).toBe(true);
  });

  it('folds a large dump in slices, waking the agent for the rest, so changes are not held back behind it', async () => {
    const entries = Array.from({ length: 12_000 }, (_, i) => learned(mac(i), 11));
    const g = graphWith([]);
    const k = kernelWith(entries);
    let wakes = 0;
    const r = new KernelReconcile('audit', k, g, new Set(), () => (wakes += 1));
    r.begin();
    k.send({ links: LINKS });
    k.send({ nexthops: [MEMBER, GROUP] });
    for (let i = 0; i < entries.length; i += 1000) k.send({ fdb: entries.slice(i, i + 1000) });
    k.end();
    await new Promise((resolve) => setImmediate(resolve));
    const sizes: number[] = [];
    for (let i = 0; i < 10; i++) {
      const wakesBefore = wakes;
      const state = r.step();
      g.engine.run();
      sizes.push(g.fdb.data.byKey.size);
      if (state !== 'running') break;
      expect(wakes).toBeGreaterThan(wakesBefore);
    }
    // At most about 5,000 entries a step (whole datagrams), all of them in the end.
    expect(sizes.slice(0, 3)).toEqual([5000, 10000, 12000]);
  });

  it('keeps the VXLAN device\'s own (self) entry of a MAC that also has a bridge (master) entry, whichever the dump returns first', async () => {
    // FRR's zebra writes a remote MAC with NTF_SELF|NTF_MASTER: the kernel
    // keeps it twice on the VXLAN device, `self extern_learn` (with nhid or
    // dst) and `extern_learn master <bridge>` (neither); both have the key
    // ifindex/MAC/VLAN 0. rtnl_fdb_dump (net/core/rtnetlink.c) returns a
    // port's bridge entries before the device's own.
    const viaGroup = learned(mac(1), 11);
    const single: KernelFdbEntry = { ifindex: 10, mac: mac(2), vlan: 0, dst: '192.0.2.2', state: 0x40, flags: 0x12 };
    const bridgeCopy = (e: KernelFdbEntry): KernelFdbEntry => ({ ifindex: e.ifindex, mac: e.mac, vlan: 0, state: 0x40, flags: 0x14 });
    for (const why of ['start', 'audit'] as const) {
      // At start the nodes hold nothing; at an audit they hold the entries as notified (bridge copy first, as rtnl_fdb_add writes it).
      const g = graphWith(why === 'start' ? [] : [bridgeCopy(viaGroup), viaGroup, bridgeCopy(single), single]);
      g.nodeState.set(spec([]));
      g.engine.run();
      const k = kernelWith([viaGroup, single]);
      const r = new KernelReconcile(why, k, g, new Set(), () => undefined);
      r.begin();
      k.send({ links: LINKS });
      k.send({ nexthops: [MEMBER, GROUP] });
      k.send({ fdb: [bridgeCopy(viaGroup), viaGroup, bridgeCopy(single), single] });
      k.end();
      expect(await finish(g, r)).toBe('done');
      expect(g.fdb.data.byKey.get(fdbKey(viaGroup))).toEqual(viaGroup);
      expect(g.fdb.data.byKey.get(fdbKey(single))).toEqual(single);
      expect(g.evpnFdb.data.learned).toEqual({ ecmp: 1, singlePath: 1, invalid: {} });
      expect(r.drift).toEqual([]);
    }
  });

  it('a notification of the bridge\'s copy (added or deleted) leaves the VXLAN device\'s own entry of the MAC in place', () => {
    const own = learned(mac(1), 11);
    const bridgeCopy: KernelFdbEntry = { ifindex: 10, mac: mac(1), vlan: 0, state: 0x02, flags: 0x14 };
    const g = graphWith([]);
    g.nodeState.set(spec([]));
    g.engine.run();
    // rtnl_fdb_add with NTF_SELF|NTF_MASTER notifies the bridge's entry, then the device's; a later refresh may notify the bridge's alone.
    for (const ev of [{ op: 'new', entry: bridgeCopy }, { op: 'new', entry: own }, { op: 'new', entry: bridgeCopy }] as const) applyKernelEvent(g, { kind: 'fdb', ...ev });
    g.engine.run();
    expect(g.fdb.data.byKey.get(fdbKey(own))).toEqual(own);
    expect(g.evpnFdb.data.learned.ecmp).toBe(1);
    // `bridge fdb del MAC dev evpn-100 master`: the bridge's copy goes, the device's entry stays.
    applyKernelEvent(g, { kind: 'fdb', op: 'del', entry: bridgeCopy });
    g.engine.run();
    expect(g.evpnFdb.data.learned.ecmp).toBe(1);
    applyKernelEvent(g, { kind: 'fdb', op: 'del', entry: own });
    g.engine.run();
    expect(g.fdb.data.byKey.size).toBe(0);
    expect(g.evpnFdb.data.learned.ecmp).toBe(0);
  });

  it('fails (and changes nothing more) when the dump fails', async () => {
    const a = learned(mac(1), 11);
    const g = graphWith([a]);
    const k = kernelWith([a]);
    k.dump = () => Promise.reject(new Error('EBUSY'));
    const r = new KernelReconcile('resync', k, g, new Set(), () => undefined);
    r.begin();
    expect(await finish(g, r)).toBe('failed');
    expect(String(r.error)).toMatch(/EBUSY/);
    expect(macs(g)).toEqual([mac(1)]);
  });
});
