/**
 * nexthops — input node: the kernel's nexthop objects (fdb and others).
 *
 * Consumes: RTM_NEWNEXTHOP / RTM_DELNEXTHOP events and resync dumps.
 * Produces: nexthops by id, an index member → groups containing it, and as
 * tracked changes the ids whose *resolution* may have changed.
 *
 * Kernel fact honoured (Linux 6.18, reference/ovn-ecmp-fdb.md §1.1):
 * replacing a member nexthop (even its gateway) notifies only the member,
 * never the groups that contain it. So a change of id M marks every group
 * containing M as changed too; dependants then re-resolve those groups.
 * (Open Virtual Network re-links members only for groups in the same batch
 * and is left with stale pointers.)
 */
import type { EngineNode } from '../engine.js';
import { sameNexthop, type KernelNexthop } from '../../model.js';

export interface NexthopsData {
  byId: Map<number, KernelNexthop>;
  /**
   * True once a whole dump of the kernel (links, nexthops, FDB entries) is
   * in: before that, absence from these nodes says nothing, and a choice
   * that rests on what the kernel holds (which ids to adopt after a
   * restart, what to keep of a group whose spec is invalid) must wait.
   */
  kernelRead: boolean;
  /** member id → ids of the groups that list it. */
  groupsOfMember: Map<number, Set<number>>;
  tracked: {
    /** Ids added, removed or changed, plus every group containing such an id. */
    changed: Set<number>;
    /** Groups that disappeared in this run. */
    deletedGroups: Set<number>;
    /** kernelRead became true in this run. */
    kernelReadNow: boolean;
  };
}

export interface NexthopsNode extends EngineNode<NexthopsData> {
  upsert(nexthop: KernelNexthop): void;
  remove(id: number): void;
  /** A snapshot: the kernel's nexthops, whole (the kernel counts as read from then on). */
  replaceAll(nexthops: KernelNexthop[]): void;
  /** The first whole dump of the kernel is in (kernel-reconcile.ts folded it). */
  markKernelRead(): void;
}

export function createNexthopsNode(): NexthopsNode {
  const queue: Array<{ nh?: KernelNexthop; removed?: number; snapshot?: KernelNexthop[]; read?: true }> = [];
  const data: NexthopsData = {
    byId: new Map(),
    groupsOfMember: new Map(),
    kernelRead: false,
    tracked: { changed: new Set(), deletedGroups: new Set(), kernelReadNow: false },
  };
  const read = (): void => {
    if (data.kernelRead) return;
    data.kernelRead = true;
    data.tracked.kernelReadNow = true;
  };

  const unindex = (nh: KernelNexthop): void => {
    for (const m of nh.members ?? []) {
      const groups = data.groupsOfMember.get(m.id);
      groups?.delete(nh.id);
      if (groups?.size === 0) data.groupsOfMember.delete(m.id);
    }
  };
  const index = (nh: KernelNexthop): void => {
    for (const m of nh.members ?? []) {
      let groups = data.groupsOfMember.get(m.id);
      if (!groups) data.groupsOfMember.set(m.id, (groups = new Set()));
      groups.add(nh.id);
    }
  };
  const touched = (id: number): void => {
    data.tracked.changed.add(id);
    for (const g of data.groupsOfMember.get(id) ?? []) data.tracked.changed.add(g);
  };
  const put = (nh: KernelNexthop): void => {
    const old = data.byId.get(nh.id);
    if (old && sameNexthop(old, nh)) return;
    if (old) unindex(old);
    data.byId.set(nh.id, nh);
    index(nh);
    touched(nh.id);
  };
  const del = (id: number): void => {
    const old = data.byId.get(id);
    if (!old) return;
    touched(id);
    unindex(old);
    data.byId.delete(id);
    if (old.members) data.tracked.deletedGroups.add(id);
  };

  return {
    name: 'nexthops',
    inputs: [],
    data,
    upsert: (nh) => queue.push({ nh }),
    remove: (id) => queue.push({ removed: id }),
    replaceAll: (snapshot) => queue.push({ snapshot }),
    markKernelRead: () => queue.push({ read: true }),
    recompute() {
      for (const item of queue.splice(0)) {
        if (item.nh) put(item.nh);
        if (item.removed !== undefined) del(item.removed);
        if (item.snapshot) {
          // A re-dump after ENOBUFS or an interrupted dump: diff, don't restart.
          const seen = new Set(item.snapshot.map((n) => n.id));
          for (const id of [...data.byId.keys()]) if (!seen.has(id)) del(id);
          for (const nh of item.snapshot) put(nh);
          read();
        }
        if (item.read) read();
      }
      return data.tracked.changed.size > 0 || data.tracked.kernelReadNow ? 'updated' : 'unchanged';
    },
    clearTracked() {
      data.tracked.changed.clear();
      data.tracked.deletedGroups.clear();
      data.tracked.kernelReadNow = false;
    },
  };
}
