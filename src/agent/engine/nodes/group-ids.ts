/**
 * groupIds — one OpenFlow group id per kernel nexthop group in use by at
 * least one valid ECMP FDB entry, always inside ovs.groupIdRange.
 *
 * Consumes: nodeState (range), evpnFdb (which groups are in use), ovs
 * (group ids found installed after a (re)connect).
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
 * An id is never reused while a group with that id may still be installed:
 * released ids stay in quarantine until the OVS sync confirms their
 * deletion (`confirmDeleted`).
 */
import type { EngineNode, HandlerResult } from '../engine.js';
import type { EvpnFdbData } from './evpn-fdb.js';
import type { NodeStateNode } from './node-state.js';
import type { OvsNode } from './ovs.js';
import { inRange } from '../../ownership.js';
import type { IdRange } from '../../model.js';

export interface GroupIdsData {
  ofGroupOf: Map<number, number>;
  /** Released ids whose deletion OVS has not confirmed yet. */
  quarantine: Set<number>;
  exhausted: Set<number>;
  tracked: { full: boolean; changed: Set<number> };
}

export interface GroupIdsNode extends EngineNode<GroupIdsData> {
  /** The OVS sync deleted (or never installed) these group ids. */
  confirmDeleted(ids: Iterable<number>): void;
}

export function createGroupIdsNode(deps: { nodeState: NodeStateNode; evpnFdb: EngineNode<EvpnFdbData>; ovs: OvsNode }): GroupIdsNode {
  const { nodeState, evpnFdb, ovs } = deps;
  const data: GroupIdsData = { ofGroupOf: new Map(), quarantine: new Set(), exhausted: new Set(), tracked: { full: false, changed: new Set() } };
  const used = new Set<number>();

  const range = (): IdRange | undefined => nodeState.data.spec?.fabric.ovs.groupIdRange;

  const allocate = (nhid: number, r: IdRange): number | undefined => {
    const free = (id: number): boolean => !used.has(id) && !data.quarantine.has(id) && !adoptedByOther(id, nhid);
    const adopted = ovs.data.adoptedGroups.get(nhid);
    if (adopted !== undefined && inRange(adopted, r) && !used.has(adopted)) return adopted;
    const first = nhid % r.size;
    for (let i = 0; i < r.size; i++) {
      const id = r.start + ((first + i) % r.size);
      if (free(id)) return id;
    }
    return undefined;
  };
  const adoptedByOther = (id: number, nhid: number): boolean => {
    for (const [n, g] of ovs.data.adoptedGroups) if (g === id && n !== nhid) return true;
    return false;
  };

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
    data.quarantine.add(id);
    data.tracked.changed.add(nhid);
  };

  const inUse = (): number[] => [...evpnFdb.data.ecmpUsers.keys()].sort((a, b) => a - b);

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
      const rank = (nhid: number): number => (ovs.data.adoptedGroups.has(nhid) ? 0 : previous.has(nhid) ? 1 : 2);
      for (const nhid of [...wanted].sort((a, b) => rank(a) - rank(b) || a - b)) {
        const prev = previous.get(nhid);
        const adopted = ovs.data.adoptedGroups.get(nhid);
        if (adopted === undefined && prev !== undefined && inRange(prev, r) && !used.has(prev) && !adoptedByOther(prev, nhid)) {
          data.ofGroupOf.set(nhid, prev);
          used.add(prev);
        } else {
          assign(nhid, r);
        }
      }
    }
    for (const [nhid, id] of previous) {
      if (data.ofGroupOf.get(nhid) !== id) data.tracked.changed.add(nhid);
      if (!used.has(id)) data.quarantine.add(id);
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
    // Entries that left a group: any assigned nhid without users is released.
    for (const nhid of [...data.ofGroupOf.keys(), ...data.exhausted]) if (!evpnFdb.data.ecmpUsers.has(nhid)) release(nhid);
    for (const nhid of [...candidates].sort((a, b) => a - b)) {
      if (evpnFdb.data.ecmpUsers.has(nhid) && !data.ofGroupOf.has(nhid)) assign(nhid, r);
    }
    return data.tracked.changed.size > 0 ? 'updated' : 'unchanged';
  };

  return {
    name: 'groupIds',
    inputs: [
      { node: nodeState, handler: () => (nodeState.data.tracked.fabricChanged ? 'unhandled' : 'unchanged') },
      { node: evpnFdb, handler: onEvpnFdb },
      { node: ovs, handler: () => (ovs.data.tracked.adoptedChanged ? 'unhandled' : 'unchanged') },
    ],
    data,
    recompute,
    confirmDeleted(ids) {
      for (const id of ids) if (!used.has(id)) data.quarantine.delete(id);
    },
    clearTracked() {
      data.tracked.full = false;
      data.tracked.changed.clear();
    },
  };
}
