/**
 * floodList — per VNI, the remote VTEPs that broadcast, unknown unicast and
 * multicast (BUM) traffic is replicated to: the kernel's all-zeros-MAC FDB
 * entries on the VNI's VXLAN device (`bridge fdb append 00:00:00:00:00:00
 * dev D dst IP`), which is how an EVPN control plane installs the VTEPs
 * of its type-3 (inclusive multicast) routes, and what Open Virtual
 * Network reads for the same purpose.
 *
 * Consumes: nodeState (fabric family, mirrorLearned), links (VNI of each
 * device), fdb (the all-zeros entries), kernelDesired (which of them the
 * agent writes itself).
 * Produces: VNI → VTEP addresses (sorted, deduplicated); tracked: VNIs
 * whose list changed.
 *
 * Honoured: entries this agent writes (kernelDesired.flood) always; entries
 * other software installed only with kernel.mirrorLearned. Entries of the
 * wrong address family, on VLANs, or that are the bridge's own (master)
 * entries are not VTEPs and are skipped.
 *
 * Handled incrementally: fdb changes that touch no all-zeros entry are
 * ignored (a churn of 10,000 MACs costs nothing here); any other change
 * rebuilds the lists from the all-zeros index, which holds a handful of
 * entries per VNI.
 */
import type { EngineNode, HandlerResult } from '../engine.js';
import type { FdbNode } from './fdb.js';
import type { KernelDesiredData } from './kernel-desired.js';
import type { LinksNode } from './links.js';
import type { NodeStateNode } from './node-state.js';
import { compareIp } from './evpn-fdb.js';
import { ipFamily, isFloodKey, NTF_MASTER, sameStrings } from '../../model.js';

export interface FloodListData {
  vteps: Map<number, string[]>;
  tracked: { full: boolean; changedVnis: Set<number> };
}

export function createFloodListNode(deps: { nodeState: NodeStateNode; links: LinksNode; fdb: FdbNode; kernelDesired: EngineNode<KernelDesiredData> }): EngineNode<FloodListData> {
  const { nodeState, links, fdb, kernelDesired } = deps;
  const data: FloodListData = { vteps: new Map(), tracked: { full: false, changedVnis: new Set() } };
  const zeroKeys = new Set<string>();

  const rebuild = (): void => {
    const next = new Map<number, Set<string>>();
    const fabric = nodeState.data.spec?.fabric;
    if (fabric) {
      for (const key of zeroKeys) {
        const e = fdb.data.byKey.get(key);
        if (!e?.dst || e.vlan !== 0 || (e.flags & NTF_MASTER) !== 0) continue;
        const link = links.data.byIndex.get(e.ifindex);
        // This node's own VTEP is not a flood destination: a node never tunnels to itself.
        if (!link?.vxlan || ipFamily(e.dst) !== fabric.family || e.dst === fabric.localVtepIP) continue;
        if (!fabric.kernel.mirrorLearned && !kernelDesired.data.flood.has(key)) continue;
        const vni = link.vxlan.external ? (e.vni ?? link.vxlan.vni) : link.vxlan.vni;
        let set = next.get(vni);
        if (!set) next.set(vni, (set = new Set()));
        set.add(e.dst);
      }
    }
    const lists = new Map([...next].map(([vni, set]) => [vni, [...set].sort(compareIp)]));
    for (const vni of new Set([...lists.keys(), ...data.vteps.keys()])) {
      if (!sameStrings(lists.get(vni), data.vteps.get(vni))) data.tracked.changedVnis.add(vni);
    }
    data.vteps = lists;
  };
  const result = (): 'updated' | 'unchanged' => (data.tracked.changedVnis.size > 0 ? 'updated' : 'unchanged');

  const onFdb = (): HandlerResult => {
    let touched = false;
    for (const key of fdb.data.tracked.changed) {
      if (!isFloodKey(key)) continue;
      touched = true;
      if (fdb.data.byKey.has(key)) zeroKeys.add(key);
      else zeroKeys.delete(key);
    }
    if (!touched) return 'unchanged';
    rebuild();
    return result();
  };
  const onOther = (): HandlerResult => {
    rebuild();
    return result();
  };

  return {
    name: 'floodList',
    inputs: [
      { node: nodeState, handler: onOther },
      { node: links, handler: onOther },
      { node: fdb, handler: onFdb },
      { node: kernelDesired, handler: () => (kernelDesired.data.tracked.floodChanged || kernelDesired.data.tracked.full ? onOther() : 'unchanged') },
    ],
    data,
    recompute() {
      zeroKeys.clear();
      for (const key of fdb.data.byKey.keys()) if (isFloodKey(key)) zeroKeys.add(key);
      rebuild();
      data.tracked.full = true;
      return 'updated';
    },
    clearTracked() {
      data.tracked.full = false;
      data.tracked.changedVnis.clear();
    },
  };
}
