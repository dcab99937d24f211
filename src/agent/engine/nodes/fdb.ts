/**
 * fdb — input node: the bridge FDB entries of the kernel (AF_BRIDGE neighbours).
 *
 * Consumes: RTM_NEWNEIGH / RTM_DELNEIGH events, resync dumps, and group
 * deletions (fed in the same order as the nexthop events).
 * Produces: entries by key (ifindex/mac/vlan) and an index nhid → entries
 * (no device index: a VXLAN device changes rarely, and at scale one device
 * holds all 100,000 entries, so an index by device would be a second copy of
 * every key for nothing — dependants scan `byKey` on a device change);
 * tracked: changed keys.
 *
 * Kernel fact honoured (Linux 6.18): deleting a nexthop group silently
 * removes the FDB entries that use it — RTM_DELNEXTHOP is sent, no
 * RTM_DELNEIGH. So a group deletion drops its entries here, or they would
 * linger until the next dump (what Open Virtual Network does).
 */
import type { EngineNode } from '../engine.js';
import { bridgeCopyYields, fdbKey, sameFdbEntry, type KernelFdbEntry } from '../../model.js';
import { KeyIndex } from './key-index.js';

export interface FdbData {
  byKey: Map<string, KernelFdbEntry>;
  /** nhid → keys of the entries naming it (KeyIndex: small bags are arrays, not Sets). */
  byNhid: KeyIndex<number>;
  tracked: { changed: Set<string> };
}

export interface FdbNode extends EngineNode<FdbData> {
  upsert(entry: KernelFdbEntry): void;
  /** With NTF_MASTER in `flags` (the bridge's copy deleted), the device's own entry of the key stays. */
  remove(entry: Pick<KernelFdbEntry, 'ifindex' | 'mac' | 'vlan' | 'dst'> & Partial<Pick<KernelFdbEntry, 'flags'>>): void;
  /** The kernel deleted nexthop `id`; if it was a group, its FDB entries are gone too. */
  nexthopDeleted(id: number): void;
  replaceAll(entries: KernelFdbEntry[]): void;
}

export function createFdbNode(): FdbNode {
  type Item = { entry?: KernelFdbEntry; removed?: string; removedFlags?: number; nhDeleted?: number; snapshot?: KernelFdbEntry[] };
  const queue: Item[] = [];
  const data: FdbData = { byKey: new Map(), byNhid: new KeyIndex(), tracked: { changed: new Set() } };

  const del = (key: string): void => {
    const old = data.byKey.get(key);
    if (!old) return;
    data.byKey.delete(key);
    if (old.nhid !== undefined) data.byNhid.delete(old.nhid, key);
    data.tracked.changed.add(key);
  };
  const put = (entry: KernelFdbEntry, key = fdbKey(entry)): void => {
    const old = data.byKey.get(key);
    if (old && (sameFdbEntry(old, entry) || bridgeCopyYields(old, entry))) return;
    if (old) del(key);
    data.byKey.set(key, entry);
    if (entry.nhid !== undefined) data.byNhid.add(entry.nhid, key);
    data.tracked.changed.add(key);
  };

  return {
    name: 'fdb',
    inputs: [],
    data,
    upsert: (entry) => queue.push({ entry }),
    remove: (entry) => queue.push({ removed: fdbKey(entry), removedFlags: entry.flags ?? 0 }),
    nexthopDeleted: (id) => queue.push({ nhDeleted: id }),
    replaceAll: (snapshot) => queue.push({ snapshot }),
    recompute() {
      for (const item of queue.splice(0)) {
        if (item.entry) put(item.entry);
        if (item.removed !== undefined) {
          const old = data.byKey.get(item.removed);
          if (!old || !bridgeCopyYields(old, { flags: item.removedFlags ?? 0 })) del(item.removed);
        }
        if (item.nhDeleted !== undefined) for (const key of [...(data.byNhid.get(item.nhDeleted) ?? [])]) del(key);
        if (item.snapshot) {
          // Each key built once (100,000 entries per dump at scale).
          const keys = item.snapshot.map(fdbKey);
          // Nothing to diff against on the first dump: no 100,000-key Set.
          if (data.byKey.size > 0) {
            const seen = new Set(keys);
            for (const key of [...data.byKey.keys()]) if (!seen.has(key)) del(key);
          }
          item.snapshot.forEach((entry, i) => put(entry, keys[i]));
        }
      }
      return data.tracked.changed.size > 0 ? 'updated' : 'unchanged';
    },
    clearTracked() {
      data.tracked.changed.clear();
    },
  };
}
