/**
 * evpnFdb — join of kernel FDB entries with nexthops and VXLAN devices, and
 * their validation (DESIGN §4 "ECMP FDB validation").
 *
 * Consumes: nodeState (fabric family, protocol, id range, mirrorLearned),
 * links, nexthops, fdb.
 * Produces:
 *  - one EvpnEntry per kernel FDB entry: 'ecmp' (names a valid fdb nexthop
 *    group), 'single' (NDA_DST), 'invalid' (with a reason; never
 *    half-programmed) or 'ignored' (not a remote MAC of ours to mirror);
 *  - the resolution (paths, or a reason) of every nexthop group an entry
 *    names;
 *  - learned counts by kind and reason, maintained incrementally.
 * Tracked: entries whose evaluation changed; groups whose paths changed
 * while staying valid — a weight change touches the group only, never its
 * (possibly 10,000) entries.
 *
 * Handled incrementally: fdb (changed keys), nexthops (changed ids — which
 * already include groups containing a changed member), links (entries on
 * changed devices). A fabric change recomputes.
 */
import type { EngineNode, HandlerResult } from '../engine.js';
import type { FdbNode } from './fdb.js';
import type { LinksNode } from './links.js';
import type { NexthopsNode } from './nexthops.js';
import type { NodeStateNode } from './node-state.js';
import { ipFamily, NTF_MASTER, ZERO_MAC, type FabricSettings, type KernelFdbEntry, type KernelLink, type KernelNexthop, type Path } from '../../model.js';
import { isOwnedFdbEntry, isOwnedNexthop } from '../../ownership.js';
import { deepEqual } from '../../../util/equal.js';

export const INVALID_REASONS = [
  'UnknownNexthop',
  'NotAGroup',
  'NotFdb',
  'MixedFamily',
  'FamilyMismatch',
  'MemberMissing',
  'VlanNotZero',
  'LocalOnly',
] as const;
export type InvalidReason = (typeof INVALID_REASONS)[number];

export type GroupResolution =
  | { ok: true; paths: Path[]; owned: boolean }
  | { ok: false; reason: InvalidReason; detail: string };

/**
 * An evaluated FDB entry. Its key and device are the fdb node's (the map
 * key, `fdb.data.byKey`): not repeated in 100,000 objects.
 */
interface EntryBase {
  mac: string;
  vni: number;
  /** Written by this agent (its group), as opposed to mirrored. */
  owned: boolean;
}
export type EvpnEntry =
  | (EntryBase & { kind: 'ecmp'; nhid: number })
  | (EntryBase & { kind: 'single'; vtep: string })
  | (EntryBase & { kind: 'invalid'; reason: InvalidReason; detail: string; nhid?: number })
  | { kind: 'ignored' };

/** Every ignored entry is the same (immutable) object. */
const IGNORED: EvpnEntry = Object.freeze({ kind: 'ignored' });

export interface LearnedCounts {
  ecmp: number;
  singlePath: number;
  invalid: Partial<Record<InvalidReason, number>>;
}

export interface EvpnFdbData {
  entries: Map<string, EvpnEntry>;
  /** Resolution of every nexthop id some kernel FDB entry names. */
  groups: Map<number, GroupResolution>;
  /** nhid → the 'ecmp' entries using it. */
  ecmpUsers: EcmpUsers;
  learned: LearnedCounts;
  /** unusedNhids: nhids whose last 'ecmp' entry went in this run. */
  tracked: { full: boolean; changedEntries: Set<string>; changedGroups: Set<number>; unusedNhids: Set<number> };
}

/**
 * The 'ecmp' entries that name each nexthop group. Only a count per nhid is
 * held here: the keys come from the fdb node's nhid index, filtered to the
 * entries evaluated 'ecmp' (an FDB entry names one nhid), so 100,000 keys
 * are not indexed twice.
 */
export interface EcmpUsers {
  has(nhid: number): boolean;
  /** The nhids with at least one 'ecmp' entry. */
  nhids(): IterableIterator<number>;
  /** Keys of the 'ecmp' entries naming `nhid`. */
  keysOf(nhid: number): Iterable<string>;
  count(nhid: number): number;
}

export function createEvpnFdbNode(deps: { nodeState: NodeStateNode; links: LinksNode; nexthops: NexthopsNode; fdb: FdbNode }): EngineNode<EvpnFdbData> {
  const { nodeState, links, nexthops, fdb } = deps;
  const ecmpCounts = new Map<number, number>();
  const entries = new Map<string, EvpnEntry>();
  const ecmpUsers: EcmpUsers = {
    has: (nhid) => ecmpCounts.has(nhid),
    nhids: () => ecmpCounts.keys(),
    count: (nhid) => ecmpCounts.get(nhid) ?? 0,
    *keysOf(nhid) {
      if (!ecmpCounts.has(nhid)) return;
      for (const key of fdb.data.byNhid.get(nhid) ?? []) {
        const e = entries.get(key);
        if (e?.kind === 'ecmp' && e.nhid === nhid) yield key;
      }
    },
  };
  const data: EvpnFdbData = {
    entries,
    groups: new Map(),
    ecmpUsers,
    learned: { ecmp: 0, singlePath: 0, invalid: {} },
    tracked: { full: false, changedEntries: new Set(), changedGroups: new Set(), unusedNhids: new Set() },
  };

  const fabric = (): FabricSettings | undefined => nodeState.data.spec?.fabric;

  // Learned counts cover mirrored entries only: the agent's own are reported per group.
  const count = (e: EvpnEntry | undefined, delta: number): void => {
    if (!e || e.kind === 'ignored' || e.owned) return;
    if (e.kind === 'ecmp') data.learned.ecmp += delta;
    else if (e.kind === 'single') data.learned.singlePath += delta;
    else if (e.kind === 'invalid') {
      const n = (data.learned.invalid[e.reason] ?? 0) + delta;
      if (n === 0) delete data.learned.invalid[e.reason];
      else data.learned.invalid[e.reason] = n;
    }
  };
  const setEntry = (key: string, next: EvpnEntry | undefined): void => {
    const prev = data.entries.get(key);
    if (prev && next && sameEntry(prev, next)) return;
    count(prev, -1);
    if (prev?.kind === 'ecmp') {
      const n = (ecmpCounts.get(prev.nhid) ?? 0) - 1;
      if (n > 0) ecmpCounts.set(prev.nhid, n);
      else {
        ecmpCounts.delete(prev.nhid);
        data.tracked.unusedNhids.add(prev.nhid);
      }
    }
    if (next) {
      data.entries.set(key, next);
      count(next, +1);
      if (next.kind === 'ecmp') ecmpCounts.set(next.nhid, (ecmpCounts.get(next.nhid) ?? 0) + 1);
    } else {
      data.entries.delete(key);
    }
    data.tracked.changedEntries.add(key);
  };

  const evaluateKey = (key: string): void => {
    const f = fabric();
    const entry = fdb.data.byKey.get(key);
    if (!entry || !f) return setEntry(key, undefined);
    if (entry.nhid !== undefined && !data.groups.has(entry.nhid)) {
      data.groups.set(entry.nhid, resolveGroup(entry.nhid, nexthops.data.byId, f));
    }
    setEntry(key, evaluate(entry, links.data.byIndex.get(entry.ifindex), data.groups, nexthops.data.byId, f));
  };

  /** Drops resolutions nobody names any more, so the map stays bounded. */
  const pruneGroup = (nhid: number): void => {
    if (!fdb.data.byNhid.has(nhid)) data.groups.delete(nhid);
  };

  const recompute = (): 'updated' => {
    data.entries.clear();
    data.groups.clear();
    ecmpCounts.clear();
    data.learned = { ecmp: 0, singlePath: 0, invalid: {} };
    for (const key of fdb.data.byKey.keys()) evaluateKey(key);
    data.tracked.full = true;
    return 'updated';
  };

  const onFdb = (): HandlerResult => {
    for (const key of fdb.data.tracked.changed) {
      const nhid = data.entries.get(key)?.kind === 'ecmp' ? (data.entries.get(key) as { nhid: number }).nhid : undefined;
      evaluateKey(key);
      if (nhid !== undefined) pruneGroup(nhid);
    }
    return data.tracked.changedEntries.size > 0 ? 'updated' : 'unchanged';
  };

  const onNexthops = (): HandlerResult => {
    const f = fabric();
    if (!f) return 'unchanged';
    for (const id of nexthops.data.tracked.changed) {
      const before = data.groups.get(id);
      if (before === undefined) continue; // no FDB entry names it
      const after = resolveGroup(id, nexthops.data.byId, f);
      data.groups.set(id, after);
      if (sameResolution(before, after)) continue;
      if (before.ok && after.ok && before.owned === after.owned) {
        // Same validity: the entries stay as they are; only the group's
        // paths (members, weights, gateways) change.
        data.tracked.changedGroups.add(id);
        continue;
      }
      for (const key of fdb.data.byNhid.get(id) ?? []) evaluateKey(key);
      data.tracked.changedGroups.add(id);
    }
    return data.tracked.changedEntries.size > 0 || data.tracked.changedGroups.size > 0 ? 'updated' : 'unchanged';
  };

  const onLinks = (): HandlerResult => {
    // One pass over the entries (the fdb node keeps no device index): a
    // device change is rare, and evaluateKey leaves fdb's map untouched.
    const changed = links.data.tracked.changed;
    if (changed.size > 0) for (const [key, entry] of fdb.data.byKey) if (changed.has(entry.ifindex)) evaluateKey(key);
    return data.tracked.changedEntries.size > 0 ? 'updated' : 'unchanged';
  };

  return {
    name: 'evpnFdb',
    inputs: [
      { node: nodeState, handler: () => (nodeState.data.tracked.fabricChanged ? 'unhandled' : 'unchanged') },
      { node: links, handler: onLinks },
      { node: nexthops, handler: onNexthops },
      { node: fdb, handler: onFdb },
    ],
    data,
    recompute,
    clearTracked() {
      data.tracked.full = false;
      data.tracked.changedEntries.clear();
      data.tracked.changedGroups.clear();
      data.tracked.unusedNhids.clear();
    },
  };
}

/**
 * Resolves a nexthop id named by an FDB entry into weighted paths. Rules
 * (DESIGN §4): it must be a group flagged fdb whose members all exist, are
 * fdb nexthops, and share one address family, the fabric's.
 */
export function resolveGroup(nhid: number, byId: ReadonlyMap<number, KernelNexthop>, fabric: FabricSettings): GroupResolution {
  const group = byId.get(nhid);
  if (!group) return { ok: false, reason: 'UnknownNexthop', detail: `nexthop ${nhid} does not exist` };
  if (!group.members) return { ok: false, reason: 'NotAGroup', detail: `nexthop ${nhid} is not a group` };
  if (!group.fdb) return { ok: false, reason: 'NotFdb', detail: `nexthop group ${nhid} is not flagged fdb` };
  const weights = new Map<string, number>();
  let family: number | undefined;
  for (const m of group.members) {
    const member = byId.get(m.id);
    if (!member) return { ok: false, reason: 'MemberMissing', detail: `member ${m.id} of group ${nhid} does not exist` };
    if (!member.fdb || member.gateway === undefined) {
      return { ok: false, reason: 'NotFdb', detail: `member ${m.id} of group ${nhid} is not an fdb nexthop` };
    }
    const memberFamily = ipFamily(member.gateway);
    if (family !== undefined && family !== memberFamily) {
      return { ok: false, reason: 'MixedFamily', detail: `group ${nhid} mixes IPv4 and IPv6 members` };
    }
    family = memberFamily;
    // A path to this node's own VTEP is never programmed; two member
    // nexthops with one gateway are one VTEP: their weights add up.
    if (member.gateway !== fabric.localVtepIP) weights.set(member.gateway, (weights.get(member.gateway) ?? 0) + m.weight);
  }
  if (family !== undefined && family !== fabric.family) {
    return { ok: false, reason: 'FamilyMismatch', detail: `group ${nhid} is IPv${family}, the fabric IPv${fabric.family}` };
  }
  if (group.members.length === 0) return { ok: false, reason: 'MemberMissing', detail: `group ${nhid} has no members` };
  if (weights.size === 0) return { ok: false, reason: 'LocalOnly', detail: `group ${nhid} leads only to this node's own VTEP (${fabric.localVtepIP})` };
  // Sort keys computed once per path, not once per comparison (10,000 groups at start).
  const paths = [...weights]
    .map(([vtep, weight]) => ({ sortKey: ipSortKey(vtep), path: { vtep, weight } }))
    .sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0))
    .map((p) => p.path);
  return { ok: true, paths, owned: isOwnedNexthop(group, fabric) };
}

function evaluate(
  entry: KernelFdbEntry,
  link: KernelLink | undefined,
  groups: ReadonlyMap<number, GroupResolution>,
  byId: ReadonlyMap<number, KernelNexthop>,
  fabric: FabricSettings,
): EvpnEntry {
  // Only remote MACs of VXLAN devices: the bridge's own (master) entries carry
  // no tunnel destination, all-zeros MACs are the flood list (floodList node).
  if (!link?.vxlan || entry.mac === ZERO_MAC || (entry.flags & NTF_MASTER) !== 0) return IGNORED;
  if (entry.nhid === undefined && entry.dst === undefined) return IGNORED;
  const owned = isOwnedFdbEntry(entry, byId, fabric);
  if (!owned && !fabric.kernel.mirrorLearned) return IGNORED;
  const vni = link.vxlan.external ? (entry.vni ?? link.vxlan.vni) : link.vxlan.vni;
  // Literals rather than `{ ...base, ... }` (one per FDB entry, 100,000 at
  // scale: the spread copies were larger objects plus a garbage `base`).
  const { mac } = entry;
  if (entry.vlan !== 0) {
    return { mac, vni, owned, kind: 'invalid', reason: 'VlanNotZero', detail: `entry on VLAN ${entry.vlan}, only VLAN 0 is mirrored` };
  }
  if (entry.nhid !== undefined) {
    const r = groups.get(entry.nhid) ?? resolveGroup(entry.nhid, byId, fabric);
    if (!r.ok) return { mac, vni, owned, kind: 'invalid', reason: r.reason, detail: r.detail, nhid: entry.nhid };
    return { mac, vni, owned, kind: 'ecmp', nhid: entry.nhid };
  }
  const dst = entry.dst!;
  if (ipFamily(dst) !== fabric.family) {
    return { mac, vni, owned, kind: 'invalid', reason: 'FamilyMismatch', detail: `destination ${dst} is not IPv${fabric.family}` };
  }
  if (dst === fabric.localVtepIP) return { mac, vni, owned, kind: 'invalid', reason: 'LocalOnly', detail: `destination ${dst} is this node's own VTEP` };
  return { mac, vni, owned, kind: 'single', vtep: dst };
}

function sameEntry(a: EvpnEntry, b: EvpnEntry): boolean {
  return deepEqual(a, b);
}

function sameResolution(a: GroupResolution, b: GroupResolution): boolean {
  return deepEqual(a, b);
}

/** Orders addresses numerically within a family (IPv4 before IPv6), so bucket ids are stable. */
export function compareIp(a: string, b: string): number {
  const ka = ipSortKey(a);
  const kb = ipSortKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

function ipSortKey(ip: string): string {
  if (!ip.includes(':')) return '4' + ip.split('.').map((o) => Number(o).toString(16).padStart(2, '0')).join('');
  const [head = '', tail = ''] = ip.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === '' ? [] : tail.split(':');
  const groups = ip.includes('::') ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
  return '6' + groups.map((g) => g.padStart(4, '0').toLowerCase()).join('');
}
