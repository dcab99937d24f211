/**
 * What the agent may write in the kernel: objects it marked with the
 * fabric's rtnetlink protocol number, with ids inside kernel.nexthopIdRange.
 * An object in the range carrying another protocol belongs to someone else
 * and is never modified (DESIGN §3.1): it is a conflict, shown in status.
 */
import type { FabricSettings, IdRange, KernelFdbEntry, KernelNexthop } from './model.js';

export function inRange(id: number, range: IdRange): boolean {
  return id >= range.start && id < range.start + range.size;
}

export function isOwnedNexthop(nh: KernelNexthop | undefined, fabric: FabricSettings): boolean {
  return nh !== undefined && nh.protocol === fabric.kernel.protocol && inRange(nh.id, fabric.kernel.nexthopIdRange);
}

/** A nexthop id inside our range held by an object with another protocol. */
export function isConflictingNexthop(nh: KernelNexthop, fabric: FabricSettings): boolean {
  return inRange(nh.id, fabric.kernel.nexthopIdRange) && nh.protocol !== fabric.kernel.protocol;
}

/**
 * An FDB entry is ours when it points at a nexthop group we own. The VXLAN
 * FDB keeps no rtnetlink protocol of its own, so the group is the mark.
 */
export function isOwnedFdbEntry(entry: KernelFdbEntry, nexthops: ReadonlyMap<number, KernelNexthop>, fabric: FabricSettings): boolean {
  return entry.nhid !== undefined && isOwnedNexthop(nexthops.get(entry.nhid), fabric);
}
