/**
 * status — per spec group, what the dataplane holds for it: kernel group
 * id, OpenFlow group id, paths, MAC count, and whether the kernel already
 * matches (the status publisher adds OVS facts and conditions on top); per
 * VNI its flood list and local ports; learned counts.
 *
 * Consumes: nodeState, kernelDesired, nexthops, fdb, evpnFdb, groupIds,
 * ofDesired, floodList, ovs, localExport.
 * Produces: a report per group by name; tracked: the names whose report
 * changed (or `full`), and whether the per-VNI reports changed.
 * Handled incrementally: every input. A change is traced to the groups it
 * can affect — a kernel or OpenFlow group id to the group that holds it, an
 * FDB key to the group that owns the MAC — and only their reports are
 * rebuilt: one FDB add among 100,000 rebuilds at most one report, not all.
 * The per-VNI reports (a handful) are rebuilt on any change that can touch
 * them. A fabric change or a full recompute upstream rebuilds everything.
 *
 * Id exhaustion is never a silently missing flow: a group whose kernel
 * group found no nexthop id or no OpenFlow group id says so
 * (IdRangeExhausted, GroupIdRangeExhausted), mirrored entries whose group
 * found no OpenFlow group id are counted as refused for that reason (not as
 * mirrored), and a VNI with local ports but no flood group id says so.
 */
import type { EngineNode, HandlerResult } from '../engine.js';
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
import { fdbKey, sameMembers, type OfGroup, type Path, type SpecGroup } from '../../model.js';
import { slotCounts, slotTableOf } from '../../hash-slots.js';
import { isOwnedFdbEntry } from '../../ownership.js';
import { deepEqual } from '../../../util/equal.js';

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
  /** By group name, in spec order after a full rebuild (new groups last). */
  groups: Map<string, GroupReport>;
  flood: FloodReport[];
  local: LocalReport[];
  /** Mirrored entries: `invalid` also counts reasons of the agent's own making (GroupIdRangeExhausted). */
  learned: { ecmp: number; singlePath: number; invalid: Record<string, number> };
  conflicts: number[];
  exhaustion: Exhaustion;
  /** summaryChanged: the per-VNI reports, learned counts or exhaustion changed. */
  tracked: { full: boolean; changedGroups: Set<string>; summaryChanged: boolean };
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
    groups: new Map(),
    flood: [],
    local: [],
    learned: { ecmp: 0, singlePath: 0, invalid: {} },
    conflicts: [],
    exhaustion: { nexthopGroups: [], selectGroups: [], floodVnis: [] },
    tracked: { full: false, changedGroups: new Set(), summaryChanged: false },
  };
  // A group object is replaced whenever it changes, so its slot counts are
  // worked out once per object.
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
  // Where a change lands: the group holding a kernel nexthop group id or an
  // OpenFlow group id, as the reports last said.
  const nameOfNhid = new Map<number, string>();
  const nameOfOfGroup = new Map<number, string>();
  /** Groups whose placement found no kernel nexthop id. */
  const nexthopExhausted = new Set<string>();

  const rangeText = (): string => {
    const range = nodeState.data.spec?.fabric.ovs.groupIdRange;
    return range ? `ovs.groupIdRange (${range.start}-${range.start + range.size - 1}, ${range.size} ids) has no free id` : '';
  };

  const report = (specGroup: SpecGroup): GroupReport => {
    const spec = nodeState.data.spec;
    const placement = kernelDesired.data.placements.get(specGroup.name);
    const nhid = placement?.nexthopGroupId;
    // What is written: the spec's version, or the last good one kept.
    const g = placement?.placed ?? specGroup;
    const withheld = new Set(placement?.withheldMacs ?? []);
    const r: GroupReport = {
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
    if (placement?.keptGeneration !== undefined) r.keptGeneration = placement.keptGeneration;
    if (placement?.problem === 'LocalOnly') {
      // Nothing to program is programmed: the node serves the MACs itself.
      r.kernelApplied = true;
      r.ovsPlanned = true;
      r.note = `LocalOnly: ${placement.message}`;
      return r;
    }
    if (placement?.problem && placement.problem !== 'NotManaged') r.invalid = placement.problem;
    if (nhid === undefined || placement?.ifindex === undefined) return r;
    r.nexthopGroupId = nhid;
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
    r.kernelApplied = groupOk && macsOk;
    if (conflict !== undefined) {
      r.message = `MAC ${conflict} is held in the kernel by an FDB entry this agent did not write`;
      r.invalid = 'MacConflict';
    }
    const resolution = evpnFdb.data.groups.get(nhid);
    if (resolution && !resolution.ok) {
      r.invalid = resolution.reason;
      r.message = resolution.detail;
    }
    const ofGroupId = groupIds.data.ofGroupOf.get(nhid);
    if (ofGroupId !== undefined) r.ofGroupId = ofGroupId;
    else if (groupIds.data.exhausted.has(nhid)) {
      r.invalid = 'GroupIdRangeExhausted';
      r.message = `${rangeText()} for the group's OpenFlow select group: its MACs have no flow`;
    }
    // Without MACs there is nothing to mirror: no OpenFlow group is needed.
    const ofGroup = ofGroupId === undefined ? undefined : ofDesired.data.groups.get(ofGroupId);
    r.ovsPlanned = g.macs.length === 0 || ofGroup !== undefined;
    const slots = ofGroup && slotsPerVtep(ofGroup);
    if (slots) r.paths = r.paths.map((p) => ({ ...p, slots: slots.get(p.vtep) ?? 0 }));
    return r;
  };

  /** Rebuilds one group's report (or drops it), keeping the id indexes in step. */
  const refresh = (name: string): void => {
    const old = data.groups.get(name);
    if (old?.nexthopGroupId !== undefined && nameOfNhid.get(old.nexthopGroupId) === name) nameOfNhid.delete(old.nexthopGroupId);
    if (old?.ofGroupId !== undefined && nameOfOfGroup.get(old.ofGroupId) === name) nameOfOfGroup.delete(old.ofGroupId);
    const wasExhausted = nexthopExhausted.delete(name);
    const g = nodeState.data.groups.get(name);
    if (g === undefined) {
      if (old) data.groups.delete(name);
    } else {
      const r = report(g);
      data.groups.set(name, r);
      if (r.nexthopGroupId !== undefined) nameOfNhid.set(r.nexthopGroupId, name);
      if (r.ofGroupId !== undefined) nameOfOfGroup.set(r.ofGroupId, name);
      if (kernelDesired.data.placements.get(name)?.problem === 'IdRangeExhausted') nexthopExhausted.add(name);
    }
    if (nexthopExhausted.has(name) !== wasExhausted) {
      data.exhaustion.nexthopGroups = [...nexthopExhausted].sort();
      data.tracked.summaryChanged = true;
    }
    data.tracked.changedGroups.add(name);
  };

  /**
   * Learned counts, less the mirrored entries whose group found no
   * OpenFlow group id: those have no flow and count as refused. The
   * exhausted set is empty unless the range ran out, so this stays cheap.
   */
  const refreshLearned = (): void => {
    const counts = evpnFdb.data.learned;
    const invalid: Record<string, number> = { ...counts.invalid };
    let ecmp = counts.ecmp;
    const selectGroups = [...groupIds.data.exhausted].filter((nhid) => evpnFdb.data.ecmpUsers.has(nhid)).sort((a, b) => a - b);
    for (const nhid of selectGroups) {
      let learnedUsers = 0;
      for (const key of evpnFdb.data.ecmpUsers.keysOf(nhid)) {
        const e = evpnFdb.data.entries.get(key);
        if (e?.kind === 'ecmp' && !e.owned) learnedUsers++;
      }
      if (learnedUsers === 0) continue;
      ecmp -= learnedUsers;
      invalid['GroupIdRangeExhausted'] = (invalid['GroupIdRangeExhausted'] ?? 0) + learnedUsers;
    }
    const learned = { ecmp, singlePath: counts.singlePath, invalid };
    if (deepEqual(learned, data.learned) && deepEqual(selectGroups, data.exhaustion.selectGroups)) return;
    data.learned = learned;
    data.exhaustion.selectGroups = selectGroups;
    data.tracked.summaryChanged = true;
  };

  const refreshVnis = (): void => {
    const spec = nodeState.data.spec;
    const range = spec?.fabric.ovs.groupIdRange;
    data.conflicts = [...kernelDesired.data.conflicts];
    const vnis = new Set([...(spec ? nodeState.data.vnis.keys() : []), ...floodList.data.vteps.keys(), ...groupIds.data.floodGroupOf.keys(), ...ovs.data.portsByVni.keys()]);
    const floodVnis: number[] = [];
    data.flood = [...vnis].sort((a, b) => a - b).map((vni) => {
      const ofGroupId = groupIds.data.floodGroupOf.get(vni);
      const planned = ofGroupId !== undefined && ofDesired.data.groups.has(ofGroupId);
      const f: FloodReport = { vni, vteps: floodList.data.vteps.get(vni)?.length ?? 0, ...(planned ? { ofGroupId } : {}) };
      // A VNI with local ports gets a flood group (groupIds): without an id its BUM traffic has nowhere to go.
      if (range && ofGroupId === undefined && ovs.data.portsByVni.has(vni)) {
        floodVnis.push(vni);
        f.message = `GroupIdRangeExhausted: ${rangeText()} for the VNI's flood group: broadcast, unknown unicast and multicast are not forwarded`;
      }
      return f;
    });
    data.exhaustion.floodVnis = floodVnis;
    const exported = new Map<number, number>();
    for (const [key, e] of localExport.data.entries) if (fdb.data.byKey.has(key)) exported.set(e.vni, (exported.get(e.vni) ?? 0) + 1);
    data.local = [...ovs.data.portsByVni].sort(([a], [b]) => a - b).map(([vni, ports]) => ({
      vni,
      ports: ports.length,
      macs: localMacsOf(ovs.data, vni).size,
      ...(localExport.data.counts.has(vni) ? { exported: exported.get(vni) ?? 0 } : {}),
    }));
    data.tracked.summaryChanged = true;
  };

  const recompute = (): 'updated' => {
    data.groups.clear();
    nameOfNhid.clear();
    nameOfOfGroup.clear();
    nexthopExhausted.clear();
    data.exhaustion.nexthopGroups = [];
    for (const name of nodeState.data.groups.keys()) refresh(name);
    refreshLearned();
    refreshVnis();
    data.tracked.full = true;
    data.tracked.changedGroups.clear();
    return 'updated';
  };

  const touch = (names: Iterable<string | undefined>): void => {
    for (const name of names) if (name !== undefined && !data.tracked.changedGroups.has(name)) refresh(name);
  };
  const result = (): HandlerResult => (data.tracked.changedGroups.size > 0 || data.tracked.summaryChanged ? 'updated' : 'unchanged');

  const onNodeState = (): HandlerResult => {
    if (nodeState.data.tracked.fabricChanged) return 'unhandled';
    touch(nodeState.data.tracked.changedGroups);
    refreshVnis();
    return result();
  };
  const onKernelDesired = (): HandlerResult => {
    if (kernelDesired.data.tracked.full) return 'unhandled';
    touch(kernelDesired.data.tracked.changedGroups);
    if (kernelDesired.data.tracked.floodChanged) refreshVnis();
    return result();
  };
  const onNexthops = (): HandlerResult => {
    // Changed ids include every group containing a changed member (nexthops.ts).
    for (const id of nexthops.data.tracked.changed) touch([nameOfNhid.get(id)]);
    if (nexthops.data.tracked.changed.size > 0 && kernelDesired.data.conflicts.length !== data.conflicts.length) refreshVnis();
    return result();
  };
  const onFdb = (): HandlerResult => {
    const owners = kernelDesired.data.fdbOwner;
    for (const key of fdb.data.tracked.changed) touch([owners.get(key)]);
    // Exported MACs are counted as the kernel holds them.
    if (localExport.data.entries.size > 0 && [...fdb.data.tracked.changed].some((key) => localExport.data.entries.has(key))) refreshVnis();
    return result();
  };
  const onEvpnFdb = (): HandlerResult => {
    const t = evpnFdb.data.tracked;
    if (t.full) return 'unhandled';
    const owners = kernelDesired.data.fdbOwner;
    for (const nhid of t.changedGroups) touch([nameOfNhid.get(nhid)]);
    for (const key of t.changedEntries) touch([owners.get(key)]);
    refreshLearned();
    return result();
  };
  const onGroupIds = (): HandlerResult => {
    const t = groupIds.data.tracked;
    if (t.full) return 'unhandled';
    for (const nhid of t.changed) touch([nameOfNhid.get(nhid)]);
    refreshLearned();
    if (t.changedFlood.size > 0) refreshVnis();
    return result();
  };
  const onOfDesired = (): HandlerResult => {
    const t = ofDesired.data.tracked;
    if (t.full) return 'unhandled';
    for (const id of t.changedGroups) {
      const name = nameOfOfGroup.get(id);
      if (name !== undefined) touch([name]);
      // A group id that no report holds yet (just given out): its group is the nhid's.
      else for (const [nhid, of] of groupIds.data.ofGroupOf) if (of === id) touch([nameOfNhid.get(nhid)]);
    }
    if ([...t.changedGroups].some((id) => ofDesired.data.groups.get(id)?.type === 'all' || [...groupIds.data.floodGroupOf.values()].includes(id))) refreshVnis();
    return result();
  };
  const onVnis = (): HandlerResult => {
    refreshVnis();
    return result();
  };

  return {
    name: 'status',
    inputs: [
      { node: nodeState, handler: onNodeState },
      { node: kernelDesired, handler: onKernelDesired },
      { node: nexthops, handler: onNexthops },
      { node: fdb, handler: onFdb },
      { node: evpnFdb, handler: onEvpnFdb },
      { node: groupIds, handler: onGroupIds },
      { node: ofDesired, handler: onOfDesired },
      { node: floodList, handler: onVnis },
      { node: ovs, handler: onVnis },
      { node: localExport, handler: onVnis },
    ],
    data,
    recompute,
    clearTracked() {
      data.tracked.full = false;
      data.tracked.changedGroups.clear();
      data.tracked.summaryChanged = false;
    },
  };
}
