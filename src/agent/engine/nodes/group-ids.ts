/**
 * groupIds — one OpenFlow group id per kernel nexthop group in use by at
 * least one valid ECMP FDB entry, always inside ovs.groupIdRange.
 *
 * Consumes: nodeState (range), evpnFdb (which groups are in use), ovs
 * (VNIs with local ports), ofInstalled (group ids found installed after a
 * (re)connect, and which ids the bridge holds).
 * Produces: kernel nhid → OpenFlow group id; tracked: nhids whose id
 * appeared, changed or went away.
 *
 * Stable across agent restarts, in this order of preference:
 *  1. adopted: the id already installed for that nhid. Every ECMP flow
 *     carries the kernel nhid in the low 32 bits of its cookie (the fabric
 *     cookie mask leaves them free), so the OVS edge recovers nhid → group
 *     from the installed flows; no agent-side state file is needed.
 *  2. the preferred slot start + (nhid mod size): deterministic, so even
 *     with OVS emptied (restarted) the same ids come back in practice;
 *  3. the next free id after it (linear probing, wrapping inside the range).
 * An id is never reused while a group with that id is still installed:
 * a released id the bridge holds stays in quarantine until ofInstalled
 * reports it gone (so a select group's id never becomes a flood group's
 * in place, or the reverse). An id the bridge never got is free at once.
 *
 * Flood groups (one `all` group per VNI with local ports) share the range:
 * adopted from the installed flood flow of the VNI (table T+1, metadata=VNI,
 * group:F — see ofDesired), else the slot counted down from the range's end
 * (end - 1 - (VNI mod size)), so ECMP ids, which count up from the start,
 * rarely meet them; then probing downwards.
 */
import type { EngineNode, HandlerResult } from '../engine.js';
import type { EvpnFdbData } from './evpn-fdb.js';
import type { NodeStateNode } from './node-state.js';
import type { OvsNode } from './ovs.js';
import type { OfInstalledNode } from './of-installed.js';
import { inRange } from '../../ownership.js';
import type { IdRange } from '../../model.js';

export interface GroupIdsData {
  ofGroupOf: Map<number, number>;
  /** VNI → flood group id. */
  floodGroupOf: Map<number, number>;
  /** Released ids the bridge still holds. */
  quarantine: Set<number>;
  exhausted: Set<number>;
  tracked: { full: boolean; changed: Set<number>; changedFlood: Set<number> };
}

export function createGroupIdsNode(deps: { nodeState: NodeStateNode; evpnFdb: EngineNode<EvpnFdbData>; ovs: OvsNode; ofInstalled: OfInstalledNode }): EngineNode<GroupIdsData> {
  const { nodeState, evpnFdb, ovs, ofInstalled } = deps;
  const adoption = () => ofInstalled.data.adopted;
  const data: GroupIdsData = {
    ofGroupOf: new Map(),
    floodGroupOf: new Map(),
    quarantine: new Set(),
    exhausted: new Set(),
    tracked: { full: false, changed: new Set(), changedFlood: new Set() },
  };
  const used = new Set<number>();

  const range = (): IdRange | undefined => nodeState.data.spec?.fabric.ovs.groupIdRange;

  const allocate = (nhid: number, r: IdRange): number | undefined => {
    const free = (id: number): boolean => !used.has(id) && !data.quarantine.has(id) && !adoptedByOther(id, nhid);
    const adopted = adoption().groups.get(nhid);
    if (adopted !== undefined && inRange(adopted, r) && !used.has(adopted)) return adopted;
    const first = nhid % r.size;
    for (let i = 0; i < r.size; i++) {
      const id = r.start + ((first + i) % r.size);
      if (free(id)) return id;
    }
    return undefined;
  };
  const adoptedByOther = (id: number, nhid: number): boolean => {
    for (const [n, g] of adoption().groups) if (g === id && n !== nhid) return true;
    for (const g of adoption().floodGroups.values()) if (g === id) return true;
    return false;
  };
  const adoptedByOtherFlood = (id: number, vni: number): boolean => {
    for (const g of adoption().groups.values()) if (g === id) return true;
    for (const [v, g] of adoption().floodGroups) if (g === id && v !== vni) return true;
    return false;
  };

  const allocateFlood = (vni: number, r: IdRange): number | undefined => {
    const adopted = adoption().floodGroups.get(vni);
    if (adopted !== undefined && inRange(adopted, r) && !used.has(adopted)) return adopted;
    const first = r.size - 1 - (vni % r.size);
    for (let i = 0; i < r.size; i++) {
      const id = r.start + ((first - i + r.size) % r.size);
      if (!used.has(id) && !data.quarantine.has(id) && !adoptedByOtherFlood(id, vni)) return id;
    }
    return undefined;
  };
  const assignFlood = (vni: number, r: IdRange, previous?: number): void => {
    const keep = previous !== undefined && !adoption().floodGroups.has(vni) && inRange(previous, r) && !used.has(previous) && !adoptedByOtherFlood(previous, vni);
    const id = keep ? previous : allocateFlood(vni, r);
    if (id !== undefined) {
      data.floodGroupOf.set(vni, id);
      used.add(id);
      data.quarantine.delete(id);
    }
    if (id !== previous) data.tracked.changedFlood.add(vni);
  };
  const releaseFlood = (vni: number): void => {
    const id = data.floodGroupOf.get(vni);
    if (id === undefined) return;
    data.floodGroupOf.delete(vni);
    used.delete(id);
    retire(id);
    data.tracked.changedFlood.add(vni);
  };
  /** VNIs with local ports get a flood group: their BUM traffic has somewhere to go. */
  const floodVnis = (): number[] => [...ovs.data.portsByVni.keys()].sort((a, b) => a - b);

  const assign = (nhid: number, r: IdRange): void => {
    const id = allocate(nhid, r);
    if (id === undefined) {
      data.exhausted.add(nhid);
    } else {
      data.ofGroupOf.set(nhid, id);
      used.add(id);
      data.quarantine.delete(id);
    }
    data.tracked.changed.add(nhid);
  };
  const release = (nhid: number): void => {
    data.exhausted.delete(nhid);
    const id = data.ofGroupOf.get(nhid);
    if (id === undefined) return;
    data.ofGroupOf.delete(nhid);
    used.delete(id);
    retire(id);
    data.tracked.changed.add(nhid);
  };

  /** An id given up: quarantined while the bridge holds it. */
  const retire = (id: number): void => {
    if (ofInstalled.data.groupIds.has(id)) data.quarantine.add(id);
  };

  const inUse = (): number[] => [...evpnFdb.data.ecmpUsers.nhids()].sort((a, b) => a - b);

  const recompute = (): 'updated' => {
    const r = range();
    const wanted = r ? inUse() : [];
    const previous = new Map(data.ofGroupOf);
    data.ofGroupOf.clear();
    used.clear();
    data.exhausted.clear();
    if (r) {
      // Adopted ids first, then the ids this process already gave out, so a
      // recompute renames nothing; fresh allocations last.
      const rank = (nhid: number): number => (adoption().groups.has(nhid) ? 0 : previous.has(nhid) ? 1 : 2);
      for (const nhid of [...wanted].sort((a, b) => rank(a) - rank(b) || a - b)) {
        const prev = previous.get(nhid);
        const adopted = adoption().groups.get(nhid);
        if (adopted === undefined && prev !== undefined && inRange(prev, r) && !used.has(prev) && !adoptedByOther(prev, nhid)) {
          data.ofGroupOf.set(nhid, prev);
          used.add(prev);
        } else {
          assign(nhid, r);
        }
      }
    }
    const previousFlood = new Map(data.floodGroupOf);
    data.floodGroupOf.clear();
    if (r) {
      const vnis = floodVnis();
      // Adopted first, so a fresh allocation never takes an id found installed.
      for (const vni of vnis) if (adoption().floodGroups.has(vni)) assignFlood(vni, r, previousFlood.get(vni));
      for (const vni of vnis) if (!adoption().floodGroups.has(vni)) assignFlood(vni, r, previousFlood.get(vni));
    }
    for (const [vni, id] of previousFlood) {
      if (data.floodGroupOf.get(vni) !== id) data.tracked.changedFlood.add(vni);
      if (!used.has(id)) retire(id);
    }
    for (const [nhid, id] of previous) {
      if (data.ofGroupOf.get(nhid) !== id) data.tracked.changed.add(nhid);
      if (!used.has(id)) retire(id);
    }
    data.tracked.full = true;
    return 'updated';
  };

  const onEvpnFdb = (): HandlerResult => {
    const r = range();
    if (!r || evpnFdb.data.tracked.full) return 'unhandled';
    const candidates = new Set<number>();
    for (const key of evpnFdb.data.tracked.changedEntries) {
      const e = evpnFdb.data.entries.get(key);
      if (e && e.kind === 'ecmp') candidates.add(e.nhid);
    }
    // A group whose last entry left in this run is released.
    for (const nhid of evpnFdb.data.tracked.unusedNhids) if (!evpnFdb.data.ecmpUsers.has(nhid)) release(nhid);
    for (const nhid of [...candidates].sort((a, b) => a - b)) {
      if (evpnFdb.data.ecmpUsers.has(nhid) && !data.ofGroupOf.has(nhid)) assign(nhid, r);
    }
    return data.tracked.changed.size > 0 || data.tracked.changedFlood.size > 0 ? 'updated' : 'unchanged';
  };

  const onOvs = (): HandlerResult => {
    const r = range();
    if (!r) return 'unchanged';
    for (const vni of [...ovs.data.tracked.changedVnis].sort((a, b) => a - b)) {
      const wanted = ovs.data.portsByVni.has(vni);
      if (!wanted) releaseFlood(vni);
      else if (!data.floodGroupOf.has(vni)) assignFlood(vni, r);
    }
    return data.tracked.changedFlood.size > 0 ? 'updated' : 'unchanged';
  };

  /** Quarantined ids the bridge no longer holds are free; a group that found no id may find one now. */
  const onOfInstalled = (): HandlerResult => {
    if (ofInstalled.data.tracked.adoptedChanged) return 'unhandled';
    const r = range();
    let freed = false;
    for (const id of ofInstalled.data.tracked.deletedGroupIds) {
      if (data.quarantine.has(id) && !ofInstalled.data.groupIds.has(id)) {
        data.quarantine.delete(id);
        freed = true;
      }
    }
    if (freed && r) for (const nhid of [...data.exhausted].sort((a, b) => a - b)) if (evpnFdb.data.ecmpUsers.has(nhid) && allocate(nhid, r) !== undefined) {
      data.exhausted.delete(nhid);
      assign(nhid, r);
    }
    return data.tracked.changed.size > 0 ? 'updated' : 'unchanged';
  };

  return {
    name: 'groupIds',
    inputs: [
      { node: nodeState, handler: () => (nodeState.data.tracked.fabricChanged ? 'unhandled' : 'unchanged') },
      { node: evpnFdb, handler: onEvpnFdb },
      { node: ovs, handler: onOvs },
      { node: ofInstalled, handler: onOfInstalled },
    ],
    data,
    recompute,
    clearTracked() {
      data.tracked.full = false;
      data.tracked.changed.clear();
      data.tracked.changedFlood.clear();
    },
  };
}
