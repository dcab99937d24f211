/**
 * links — input node: the kernel's network devices (VXLAN ones matter).
 *
 * Consumes: link events and resync snapshots from the rtnetlink edge.
 * Produces: devices by ifindex and by name; tracked: changed ifindexes.
 */
import type { EngineNode } from '../engine.js';
import { sameLink, type KernelLink } from '../../model.js';

export interface LinksData {
  byIndex: Map<number, KernelLink>;
  byName: Map<string, KernelLink>;
  tracked: { changed: Set<number> };
}

export interface LinksNode extends EngineNode<LinksData> {
  upsert(link: KernelLink): void;
  remove(ifindex: number): void;
  /** A fresh dump: the difference to what is known becomes tracked changes. */
  replaceAll(links: KernelLink[]): void;
}

export function createLinksNode(): LinksNode {
  const queue: Array<{ link?: KernelLink; removed?: number; snapshot?: KernelLink[] }> = [];
  const data: LinksData = { byIndex: new Map(), byName: new Map(), tracked: { changed: new Set() } };
  const put = (link: KernelLink): boolean => {
    const old = data.byIndex.get(link.ifindex);
    if (old && sameLink(old, link)) return false;
    if (old && data.byName.get(old.name) === old) data.byName.delete(old.name);
    data.byIndex.set(link.ifindex, link);
    data.byName.set(link.name, link);
    return true;
  };
  const del = (ifindex: number): boolean => {
    const old = data.byIndex.get(ifindex);
    if (!old) return false;
    data.byIndex.delete(ifindex);
    if (data.byName.get(old.name) === old) data.byName.delete(old.name);
    return true;
  };
  return {
    name: 'links',
    inputs: [],
    data,
    upsert: (link) => queue.push({ link }),
    remove: (ifindex) => queue.push({ removed: ifindex }),
    replaceAll: (links) => queue.push({ snapshot: links }),
    recompute() {
      for (const item of queue.splice(0)) {
        if (item.link && put(item.link)) data.tracked.changed.add(item.link.ifindex);
        if (item.removed !== undefined && del(item.removed)) data.tracked.changed.add(item.removed);
        if (item.snapshot) {
          const seen = new Set(item.snapshot.map((l) => l.ifindex));
          for (const ifindex of [...data.byIndex.keys()]) {
            if (!seen.has(ifindex) && del(ifindex)) data.tracked.changed.add(ifindex);
          }
          for (const link of item.snapshot) if (put(link)) data.tracked.changed.add(link.ifindex);
        }
      }
      return data.tracked.changed.size > 0 ? 'updated' : 'unchanged';
    },
    clearTracked() {
      data.tracked.changed.clear();
    },
  };
}
