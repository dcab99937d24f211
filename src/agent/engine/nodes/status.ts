/**
 * status — per spec group, what the dataplane holds for it: kernel group
 * id, OpenFlow group id, paths, MAC count, and whether the kernel already
 * matches (the sync layers add OVS facts and conditions on top).
 *
 * Consumes: nodeState, kernelDesired, nexthops, fdb, evpnFdb, groupIds,
 * ofDesired, floodList, ovs. Produces: group reports, learned counts, per
 * VNI its flood list size and flood group, and its local ports and MACs.
 * Always recomputed: it is O(groups + MACs) and only read when written out.
 */
import type { EngineNode } from '../engine.js';
import type { EvpnFdbData, LearnedCounts } from './evpn-fdb.js';
import type { FdbNode } from './fdb.js';
import type { GroupIdsData } from './group-ids.js';
import type { KernelDesiredData } from './kernel-desired.js';
import type { NexthopsNode } from './nexthops.js';
import type { NodeStateNode } from './node-state.js';
import type { OfDesiredData } from './of-desired.js';
import type { FloodListData } from './flood-list.js';
import { localMacsOf, type OvsNode } from './ovs.js';
import type { LocalExportData } from './local-export.js';
import { fdbKey, sameMembers, type OfGroup, type Path } from '../../model.js';
import { slotCounts, slotTableOf } from '../../hash-slots.js';
import { isOwnedFdbEntry } from '../../ownership.js';

/** A path with, for a dp_hash group, the hash slots of Open vSwitch's table it receives. */
export interface ReportedPath extends Path {
  slots?: number;
}

export interface GroupReport {
  name: string;
  vni: number;
  generation: number;
  nexthopGroupId?: number;
  ofGroupId?: number;
  paths: ReportedPath[];
  /** VTEPs not programmed: this node's own. */
  droppedPaths: string[];
  macs: number;
  /** The kernel holds exactly the desired group and every MAC's entry. */
  kernelApplied: boolean;
  /** An OpenFlow group and every MAC's flow are in the desired OVS state. */
  ovsPlanned: boolean;
  invalid?: string;
  /** Said of a Programmed group too (LocalOnly). */
  note?: string;
  message: string;
}

/** One VNI's BUM replication: how many remote VTEPs, and the OpenFlow `all` group. */
export interface FloodReport {
  vni: number;
  vteps: number;
  ofGroupId?: number;
}

/** One VNI's local workloads: its ports and the MACs switched locally. */
export interface LocalReport {
  vni: number;
  ports: number;
  macs: number;
  /** With kernel.exportLocalMacs: MACs the kernel holds on the VNI's access port. */
  exported?: number;
}

export interface StatusData {
  groups: GroupReport[];
  flood: FloodReport[];
  local: LocalReport[];
  learned: LearnedCounts;
  conflicts: number[];
}

export function createStatusNode(deps: {
  nodeState: NodeStateNode;
  kernelDesired: EngineNode<KernelDesiredData>;
  nexthops: NexthopsNode;
  fdb: FdbNode;
  evpnFdb: EngineNode<EvpnFdbData>;
  groupIds: EngineNode<GroupIdsData>;
  ofDesired: EngineNode<OfDesiredData>;
  floodList: EngineNode<FloodListData>;
  ovs: OvsNode;
  localExport: EngineNode<LocalExportData>;
}): EngineNode<StatusData> {
  const { nodeState, kernelDesired, nexthops, fdb, evpnFdb, groupIds, ofDesired, floodList, ovs, localExport } = deps;
  const data: StatusData = { groups: [], flood: [], local: [], learned: { ecmp: 0, singlePath: 0, invalid: {} }, conflicts: [] };
  // Status is recomputed whole on every change; a group object is replaced
  // whenever it changes, so its slot counts are worked out once per object.
  const slotCache = new WeakMap<OfGroup, Map<string, number> | null>();
  const slotsPerVtep = (g: OfGroup): Map<string, number> | undefined => {
    let counts = slotCache.get(g);
    if (counts === undefined) {
      const table = slotTableOf(g);
      counts = table ? slotCounts(table) : null;
      slotCache.set(g, counts);
    }
    return counts ?? undefined;
  };
  return {
    name: 'status',
    inputs: [nodeState, kernelDesired, nexthops, fdb, evpnFdb, groupIds, ofDesired, floodList, ovs, localExport].map((node) => ({ node })),
    data,
    recompute() {
      const spec = nodeState.data.spec;
      data.learned = structuredClone(evpnFdb.data.learned);
      data.conflicts = [...kernelDesired.data.conflicts];
      const vnis = new Set([...(spec?.groups ?? []).map((g) => g.vni), ...floodList.data.vteps.keys(), ...groupIds.data.floodGroupOf.keys()]);
      data.flood = [...vnis].sort((a, b) => a - b).map((vni) => {
        const ofGroupId = groupIds.data.floodGroupOf.get(vni);
        const planned = ofGroupId !== undefined && ofDesired.data.groups.has(ofGroupId);
        return { vni, vteps: floodList.data.vteps.get(vni)?.length ?? 0, ...(planned ? { ofGroupId } : {}) };
      });
      const exported = new Map<number, number>();
      for (const [key, e] of localExport.data.entries) if (fdb.data.byKey.has(key)) exported.set(e.vni, (exported.get(e.vni) ?? 0) + 1);
      data.local = [...ovs.data.portsByVni].sort(([a], [b]) => a - b).map(([vni, ports]) => ({
        vni,
        ports: ports.length,
        macs: localMacsOf(ovs.data, vni).size,
        ...(localExport.data.counts.has(vni) ? { exported: exported.get(vni) ?? 0 } : {}),
      }));
      data.groups = (spec?.groups ?? []).map((g) => {
        const placement = kernelDesired.data.placements.get(g.name);
        const nhid = placement?.nexthopGroupId;
        const report: GroupReport = {
          name: g.name,
          vni: g.vni,
          generation: g.generation,
          paths: g.vteps.filter((v) => !placement?.droppedPaths.includes(v.vtep)).map((v) => ({ vtep: v.vtep, weight: v.weight })),
          droppedPaths: placement?.droppedPaths ?? [],
          macs: g.macs.length,
          kernelApplied: false,
          ovsPlanned: false,
          message: placement?.message ?? '',
        };
        if (placement?.problem === 'LocalOnly') {
          // Nothing to program is programmed: the node serves the MACs itself.
          report.kernelApplied = true;
          report.ovsPlanned = true;
          report.note = `LocalOnly: ${placement.message}`;
          return report;
        }
        if (placement?.problem && placement.problem !== 'NotManaged') report.invalid = placement.problem;
        if (nhid === undefined || placement?.ifindex === undefined) return report;
        report.nexthopGroupId = nhid;
        const desired = kernelDesired.data.groups.get(nhid);
        const observed = nexthops.data.byId.get(nhid);
        const groupOk = desired !== undefined && sameMembers(observed?.members, desired.members)
          && desired.members.every((m) => nexthops.data.byId.get(m.id)?.gateway === kernelDesired.data.nexthops.get(m.id)?.gateway);
        let macsOk = true;
        let conflict: string | undefined;
        for (const mac of g.macs) {
          const seen = fdb.data.byKey.get(fdbKey({ ifindex: placement.ifindex, mac: mac.toLowerCase(), vlan: 0, vni: placement.srcVni }));
          if (seen?.nhid !== nhid) {
            macsOk = false;
            if (seen && conflict === undefined && spec && !isOwnedFdbEntry(seen, nexthops.data.byId, spec.fabric)) conflict = mac.toLowerCase();
          }
        }
        report.kernelApplied = groupOk && macsOk;
        if (conflict !== undefined) {
          report.message = `MAC ${conflict} is held in the kernel by an FDB entry this agent did not write`;
          report.invalid = 'MacConflict';
        }
        const resolution = evpnFdb.data.groups.get(nhid);
        if (resolution && !resolution.ok) {
          report.invalid = resolution.reason;
          report.message = resolution.detail;
        }
        const ofGroupId = groupIds.data.ofGroupOf.get(nhid);
        if (ofGroupId !== undefined) report.ofGroupId = ofGroupId;
        // Without MACs there is nothing to mirror: no OpenFlow group is needed.
        const ofGroup = ofGroupId === undefined ? undefined : ofDesired.data.groups.get(ofGroupId);
        report.ovsPlanned = g.macs.length === 0 || ofGroup !== undefined;
        const slots = ofGroup && slotsPerVtep(ofGroup);
        if (slots) report.paths = report.paths.map((p) => ({ ...p, slots: slots.get(p.vtep) ?? 0 }));
        return report;
      });
      return 'updated';
    },
  };
}

