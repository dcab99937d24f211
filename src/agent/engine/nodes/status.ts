/**
 * status — per spec group, what the dataplane holds for it: kernel group
 * id, OpenFlow group id, paths, MAC count, and whether the kernel already
 * matches (the sync layers add OVS facts and conditions on top).
 *
 * Consumes: nodeState, kernelDesired, nexthops, fdb, evpnFdb, groupIds,
 * ofDesired, floodList, ovs. Produces: group reports, learned counts, per
 * VNI its flood list size and flood group, its local ports and MACs, and
 * what could not get an id.
 * Id exhaustion is never a silently missing flow (issue 18): a spec group
 * whose kernel group found no nexthop id or no OpenFlow group id says so
 * (IdRangeExhausted, GroupIdRangeExhausted), mirrored entries whose group
 * found no OpenFlow group id are counted as refused for that reason (not
 * as mirrored), and a VNI with local ports but no flood group id says so.
 * Always recomputed: it is O(groups + MACs) and only read when written out.
 */
import type { EngineNode } from '../engine.js';
import type { EvpnFdbData } from './evpn-fdb.js';
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
  /** The spec's version could not be written: this generation of the group is kept (0: what the kernel held after a restart). */
  keptGeneration?: number;
  /** Said of a Programmed group too (LocalOnly). */
  note?: string;
  message: string;
}

/** One VNI's BUM replication: how many remote VTEPs, and the OpenFlow `all` group. */
export interface FloodReport {
  vni: number;
  vteps: number;
  ofGroupId?: number;
  /** Why the VNI has no flood group (ovs.groupIdRange exhausted). */
  message?: string;
}

/** What could not get an id: never silent (see header). */
export interface Exhaustion {
  /** Spec groups without a kernel nexthop id (kernel.nexthopIdRange). */
  nexthopGroups: string[];
  /** Kernel nexthop groups in use without an OpenFlow select group id (ovs.groupIdRange). */
  selectGroups: number[];
  /** VNIs with local ports without an OpenFlow flood group id. */
  floodVnis: number[];
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
  /** Mirrored entries: `invalid` also counts reasons of the agent's own making (GroupIdRangeExhausted). */
  learned: { ecmp: number; singlePath: number; invalid: Record<string, number> };
  conflicts: number[];
  exhaustion: Exhaustion;
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
  const data: StatusData = {
    groups: [],
    flood: [],
    local: [],
    learned: { ecmp: 0, singlePath: 0, invalid: {} },
    conflicts: [],
    exhaustion: { nexthopGroups: [], selectGroups: [], floodVnis: [] },
  };
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
      const range = spec?.fabric.ovs.groupIdRange;
      const rangeText = range ? `ovs.groupIdRange (${range.start}-${range.start + range.size - 1}, ${range.size} ids) has no free id` : '';
      const invalid: Record<string, number> = { ...evpnFdb.data.learned.invalid };
      data.learned = { ...evpnFdb.data.learned, invalid };
      data.conflicts = [...kernelDesired.data.conflicts];
      // Mirrored entries whose group got no OpenFlow group id have no flow: refused, for that reason.
      const selectExhausted = [...groupIds.data.exhausted].filter((nhid) => evpnFdb.data.ecmpUsers.has(nhid)).sort((a, b) => a - b);
      for (const nhid of selectExhausted) {
        let learnedUsers = 0;
        for (const key of evpnFdb.data.ecmpUsers.keysOf(nhid)) {
          const e = evpnFdb.data.entries.get(key);
          if (e?.kind === 'ecmp' && !e.owned) learnedUsers++;
        }
        if (learnedUsers === 0) continue;
        data.learned.ecmp -= learnedUsers;
        data.learned.invalid['GroupIdRangeExhausted'] = (data.learned.invalid['GroupIdRangeExhausted'] ?? 0) + learnedUsers;
      }
      const floodVnis: number[] = [];
      const vnis = new Set([...(spec?.groups ?? []).map((g) => g.vni), ...floodList.data.vteps.keys(), ...groupIds.data.floodGroupOf.keys(), ...ovs.data.portsByVni.keys()]);
      data.flood = [...vnis].sort((a, b) => a - b).map((vni) => {
        const ofGroupId = groupIds.data.floodGroupOf.get(vni);
        const planned = ofGroupId !== undefined && ofDesired.data.groups.has(ofGroupId);
        const report: FloodReport = { vni, vteps: floodList.data.vteps.get(vni)?.length ?? 0, ...(planned ? { ofGroupId } : {}) };
        // A VNI with local ports gets a flood group (groupIds): without an id its BUM traffic has nowhere to go.
        if (range && ofGroupId === undefined && ovs.data.portsByVni.has(vni)) {
          floodVnis.push(vni);
          report.message = `GroupIdRangeExhausted: ${rangeText} for the VNI's flood group: broadcast, unknown unicast and multicast are not forwarded`;
        }
        return report;
      });
      const exported = new Map<number, number>();
      for (const [key, e] of localExport.data.entries) if (fdb.data.byKey.has(key)) exported.set(e.vni, (exported.get(e.vni) ?? 0) + 1);
      data.local = [...ovs.data.portsByVni].sort(([a], [b]) => a - b).map(([vni, ports]) => ({
        vni,
        ports: ports.length,
        macs: localMacsOf(ovs.data, vni).size,
        ...(localExport.data.counts.has(vni) ? { exported: exported.get(vni) ?? 0 } : {}),
      }));
      const nexthopGroups: string[] = [];
      data.groups = (spec?.groups ?? []).map((specGroup) => {
        const placement = kernelDesired.data.placements.get(specGroup.name);
        const nhid = placement?.nexthopGroupId;
        // What is written: the spec's version, or the last good one kept.
        const g = placement?.placed ?? specGroup;
        const withheld = new Set(placement?.withheldMacs ?? []);
        const report: GroupReport = {
          name: g.name,
          vni: g.vni,
          generation: specGroup.generation,
          paths: g.vteps.filter((v) => !placement?.droppedPaths.includes(v.vtep)).map((v) => ({ vtep: v.vtep, weight: v.weight })),
          droppedPaths: placement?.droppedPaths ?? [],
          macs: g.macs.length - withheld.size,
          kernelApplied: false,
          ovsPlanned: false,
          message: placement?.message ?? '',
        };
        if (placement?.keptGeneration !== undefined) report.keptGeneration = placement.keptGeneration;
        if (placement?.problem === 'IdRangeExhausted') nexthopGroups.push(g.name);
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
          if (withheld.has(mac.toLowerCase())) continue;
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
        else if (groupIds.data.exhausted.has(nhid)) {
          report.invalid = 'GroupIdRangeExhausted';
          report.message = `${rangeText} for the group's OpenFlow select group: its MACs have no flow`;
        }
        // Without MACs there is nothing to mirror: no OpenFlow group is needed.
        const ofGroup = ofGroupId === undefined ? undefined : ofDesired.data.groups.get(ofGroupId);
        report.ovsPlanned = g.macs.length === 0 || ofGroup !== undefined;
        const slots = ofGroup && slotsPerVtep(ofGroup);
        if (slots) report.paths = report.paths.map((p) => ({ ...p, slots: slots.get(p.vtep) ?? 0 }));
        return report;
      });
      data.exhaustion = { nexthopGroups, selectGroups: selectExhausted, floodVnis };
      return 'updated';
    },
  };
}

