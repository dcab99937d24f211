/**
 * localExport — the local MACs the kernel should hold for an EVPN control
 * plane to advertise (kernel.manage and kernel.exportLocalMacs): one static
 * bridge FDB entry per local MAC (attached or learned) on its VNI's access
 * port, `bridge fdb add MAC dev evpa-<VNI> master static [vlan V]`, which
 * FRR's zebra reads as a local MAC and announces as a type-2 route.
 *
 * Not exported: the MACs of a port marked external_ids:evpn-export="false"
 * (an anycast or multihomed service another speaker announces), and a MAC
 * the node's own spec groups declare in that VNI (it is served as a
 * declared remote too: announcing it would make it move between VTEPs).
 *
 * Ownership: the access ports are the agent's devices (devices.ts), so the
 * static entries on them are the agent's; the bridge's own entries there
 * (the port's permanent MAC, multicast addresses) are not static and are
 * never touched.
 *
 * Consumes: nodeState, devices (where each VNI's MACs go), links (the
 * access ports' ifindexes), ovs (local MACs).
 * Produces: desired entries by fdbKey, the ifindexes of the access ports,
 * and how many MACs each VNI exports.
 * Handled incrementally: spec changes (only the changed groups' declared
 * MACs); any change then rebuilds the entries, O(local MACs).
 */
import type { EngineNode } from '../engine.js';
import type { DevicesData } from './devices.js';
import type { LinksNode } from './links.js';
import type { NodeStateNode } from './node-state.js';
import { localMacsOf, type OvsNode } from './ovs.js';
import { fdbKey } from '../../model.js';
import { deepEqual } from '../../../util/equal.js';

export interface ExportedMac {
  ifindex: number;
  mac: string;
  vlan: number;
  vni: number;
}

export interface LocalExportData {
  entries: Map<string, ExportedMac>;
  /** The ifindexes of the access ports that exist (the entries there are ours). */
  ports: Set<number>;
  /** VNI → MACs exported. */
  counts: Map<number, number>;
  /**
   * Whether the local MACs are known yet (interfaces and learned MACs read
   * once): until then an entry the kernel holds is not deleted — after an
   * agent restart a control plane must not see every local MAC withdrawn.
   */
  complete: boolean;
  /** FDB keys that entered or left `entries` in this run. */
  tracked: { changedKeys: Set<string> };
}

export function createLocalExportNode(deps: { nodeState: NodeStateNode; devices: EngineNode<DevicesData>; links: LinksNode; ovs: OvsNode }): EngineNode<LocalExportData> {
  const { nodeState, devices, links, ovs } = deps;
  const data: LocalExportData = { entries: new Map(), ports: new Set(), counts: new Map(), complete: false, tracked: { changedKeys: new Set() } };
  // The MACs the spec's groups declare, per VNI (a count per MAC: two groups may name one), kept group by group.
  const declared = new Map<number, Map<string, number>>();
  const declaredBy = new Map<string, { vni: number; macs: string[] }>();
  const undeclare = (name: string): void => {
    const had = declaredBy.get(name);
    if (!had) return;
    declaredBy.delete(name);
    const macs = declared.get(had.vni)!;
    for (const mac of had.macs) {
      const n = (macs.get(mac) ?? 0) - 1;
      if (n > 0) macs.set(mac, n);
      else macs.delete(mac);
    }
  };
  const declare = (g: { name: string; vni: number; macs: string[] }): void => {
    declaredBy.set(g.name, { vni: g.vni, macs: g.macs });
    let macs = declared.get(g.vni);
    if (!macs) declared.set(g.vni, (macs = new Map()));
    for (const mac of g.macs) macs.set(mac, (macs.get(mac) ?? 0) + 1);
  };

  const rebuild = (): 'updated' | 'unchanged' => {
    const entries = new Map<string, ExportedMac>();
    const ports = new Set<number>();
    const counts = new Map<number, number>();
    for (const [vni, at] of devices.data.exportPorts) {
      const port = links.data.byName.get(at.device);
      // Only a port of a bridge holds bridge FDB entries (its bridge may not exist, see devices.ts).
      if (port?.master === undefined) continue;
      ports.add(port.ifindex);
      const vlan = at.vlan ?? 0;
      let n = 0;
      for (const [mac, local] of localMacsOf(ovs.data, vni)) {
        if (ovs.data.noExportPorts.has(local) || declared.get(vni)?.has(mac)) continue;
        entries.set(fdbKey({ ifindex: port.ifindex, mac, vlan }), { ifindex: port.ifindex, mac, vlan, vni });
        n++;
      }
      counts.set(vni, n);
    }
    for (const key of entries.keys()) if (!data.entries.has(key)) data.tracked.changedKeys.add(key);
    for (const key of data.entries.keys()) if (!entries.has(key)) data.tracked.changedKeys.add(key);
    const same = deepEqual([...entries], [...data.entries]) && deepEqual([...ports], [...data.ports]) && deepEqual([...counts], [...data.counts]);
    data.entries = entries;
    data.ports = ports;
    data.counts = counts;
    const complete = ovs.data.interfacesKnown && ovs.data.learnedKnown;
    const news = !same || complete !== data.complete;
    data.complete = complete;
    return news ? 'updated' : 'unchanged';
  };

  return {
    name: 'localExport',
    inputs: [
      {
        node: nodeState,
        handler: () => {
          if (nodeState.data.tracked.fabricChanged) return 'unhandled';
          for (const name of nodeState.data.tracked.changedGroups) {
            undeclare(name);
            const g = nodeState.data.groups.get(name);
            if (g) declare(g);
          }
          return rebuild();
        },
      },
      { node: devices, handler: rebuild },
      { node: links, handler: rebuild },
      { node: ovs, handler: rebuild },
    ],
    data,
    recompute() {
      declared.clear();
      declaredBy.clear();
      if (nodeState.data.spec) for (const g of nodeState.data.groups.values()) declare(g);
      rebuild();
      return 'updated';
    },
    clearTracked() {
      data.tracked.changedKeys.clear();
    },
  };
}
