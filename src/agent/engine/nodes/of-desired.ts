/**
 * ofDesired — the OpenFlow groups and flows the bridge should hold, laid
 * out by the pipeline (src/agent/openflow/pipeline.ts, which says what each
 * table, priority, cookie and bucket means):
 *  - per VNI with local ports: a classifier flow per port, the way in from
 *    the fabric, a flow per local MAC in each direction (attached-mac), the
 *    delivery of the fabric's other traffic to the local ports, the flood
 *    flow and its `all` group (the VNI's flood list and local ports);
 *  - per mirrored FDB entry (evpnFdb 'ecmp' or 'single'): its MAC flow;
 *  - per kernel nexthop group in use: a select group. With dp_hash and
 *    bucketLayout=slots, its buckets are hash slots dealt to the paths by
 *    weight and re-dealt minimally on change (hash-slots.ts): the last table
 *    of each group is kept (history, so a recompute keeps it too), seeded
 *    from what OVS holds after a (re)connect (ofInstalled).
 *
 * Consumes: nodeState (ovs settings), evpnFdb, groupIds, ovs, floodList,
 * ofInstalled (installed slot tables).
 * Produces: groups by id and flows by flowKey; tracked: changed group ids
 * and flow keys — or `full` after a recompute, with the lists left empty.
 * Handled incrementally: entry changes (their MAC flow only), group path
 * changes (that group only: a weight change on a group used by 10,000 MACs
 * is one group change and no flow change), group id changes, local port
 * changes per VNI, flood list changes per VNI (the flood group is modified
 * in place). Tunnel port, fabric or adoption changes recompute.
 */
import type { EngineNode, HandlerResult } from '../engine.js';
import type { EvpnEntry, EvpnFdbData } from './evpn-fdb.js';
import type { GroupIdsData } from './group-ids.js';
import type { NodeStateNode } from './node-state.js';
import type { OvsNode } from './ovs.js';
import type { FloodListData } from './flood-list.js';
import type { OfInstalledNode } from './of-installed.js';
import type { FabricSettings, OfFlow, OfGroup } from '../../model.js';
import { flowKey, Pipeline } from '../../openflow/pipeline.js';
import { sameFlow, sameGroup } from '../../openflow/diff.js';
import { layoutSlots, slotTableOf } from '../../hash-slots.js';

export interface OfDesiredData {
  /** Select and `all` groups by id. */
  groups: Map<number, OfGroup>;
  flows: Map<string, OfFlow>;
  tracked: { full: boolean; changedGroups: Set<number>; changedFlows: Set<string> };
}

export function createOfDesiredNode(deps: {
  nodeState: NodeStateNode;
  evpnFdb: EngineNode<EvpnFdbData>;
  groupIds: EngineNode<GroupIdsData>;
  ovs: OvsNode;
  floodList: EngineNode<FloodListData>;
  ofInstalled: OfInstalledNode;
}): EngineNode<OfDesiredData> {
  const { nodeState, evpnFdb, groupIds, ovs, floodList, ofInstalled } = deps;
  const data: OfDesiredData = { groups: new Map(), flows: new Map(), tracked: { full: false, changedGroups: new Set(), changedFlows: new Set() } };
  let pipeline: Pipeline | undefined;
  const floodGroupOfVni = new Map<number, number>();
  // A MAC flow has one owning entry but for the rare VNI+MAC on two devices:
  // a bare key, a Set only when shared (100,000 one-element Sets cost ~20 MiB).
  const macFlowOwners = new Map<string, string | Set<string>>();
  const flowOfEntry = new Map<string, string>();
  const groupOfNhid = new Map<number, number>();
  /** The local-side flows of each VNI (refreshVni), and the VNI each such flow key belongs to now. */
  const vniFlows = new Map<number, string[]>();
  const vniOfFlow = new Map<string, number>();
  // The slot table each laid-out group was last given: the next layout
  // moves as few slots of it as it can. History, not derived state, so a
  // recompute keeps it; after an OVS (re)connect, what OVS holds wins.
  const slotTables = new Map<number, readonly string[]>();
  let seededFrom: ReadonlyMap<number, readonly string[]> | undefined;

  const fabric = (): FabricSettings | undefined => nodeState.data.spec?.fabric;

  const setFlow = (key: string, flow: OfFlow | undefined): void => {
    const old = data.flows.get(key);
    if (flow === undefined) {
      if (old === undefined) return;
      data.flows.delete(key);
    } else {
      if (old !== undefined && sameFlow(old, flow)) return;
      data.flows.set(key, flow);
    }
    data.tracked.changedFlows.add(key);
  };

  /**
   * A group id given up. An id the bridge never held is free at once
   * (groupIds), so within one run it may already belong to a group of the
   * other kind: only a group of the kind that left is removed.
   */
  const dropGroup = (id: number, type: OfGroup['type']): void => {
    if (data.groups.get(id)?.type !== type) return;
    data.groups.delete(id);
    data.tracked.changedGroups.add(id);
  };

  const macFlow = (p: Pipeline, e: EvpnEntry): OfFlow | undefined => {
    const tunnel = ovs.data.tunnelOfport;
    if (tunnel === undefined) return undefined;
    if (e.kind === 'single') return p.singlePathFlow(e.vni, e.mac, e.vtep, tunnel);
    if (e.kind !== 'ecmp') return undefined;
    const groupId = groupOfNhid.get(e.nhid);
    return groupId === undefined ? undefined : p.ecmpFlow(e.vni, e.mac, e.nhid, groupId);
  };

  /** Two devices may carry the same VNI and MAC: the lowest entry key wins, deterministically. */
  const refreshMacFlow = (p: Pipeline, key: string): void => {
    const owners = macFlowOwners.get(key);
    const winner = typeof owners === 'string' ? owners : owners && owners.size > 0 ? [...owners].sort()[0] : undefined;
    const entry = winner === undefined ? undefined : evpnFdb.data.entries.get(winner);
    setFlow(key, entry ? macFlow(p, entry) : undefined);
  };

  // Entries and groups already refreshed in this run: every input's data is
  // final when a node's handlers run, and groupIds' handler runs before
  // evpnFdb's (an entry's flow needs its group's id), so a second refresh
  // (the entries of a group that just got its id, named by both) would give
  // the same result.
  const refreshedEntries = new Set<string>();
  const refreshedGroups = new Set<number>();

  const refreshEntry = (p: Pipeline, entryKey: string): void => {
    if (refreshedEntries.has(entryKey)) return;
    refreshedEntries.add(entryKey);
    const before = flowOfEntry.get(entryKey);
    const entry = evpnFdb.data.entries.get(entryKey);
    const after = entry && (entry.kind === 'ecmp' || entry.kind === 'single') ? p.macFlowKey(entry.vni, entry.mac) : undefined;
    if (before !== undefined && before !== after) {
      const owners = macFlowOwners.get(before);
      if (owners === entryKey) macFlowOwners.delete(before);
      else if (typeof owners === 'object') {
        owners.delete(entryKey);
        if (owners.size === 1) macFlowOwners.set(before, owners.values().next().value!);
      }
      flowOfEntry.delete(entryKey);
      refreshMacFlow(p, before);
    }
    if (after !== undefined) {
      const owners = macFlowOwners.get(after);
      if (owners === undefined) macFlowOwners.set(after, entryKey);
      else if (typeof owners === 'string') {
        if (owners !== entryKey) macFlowOwners.set(after, new Set([owners, entryKey]));
      } else owners.add(entryKey);
      flowOfEntry.set(entryKey, after);
      refreshMacFlow(p, after);
    }
  };

  const refreshGroup = (f: FabricSettings, p: Pipeline, nhid: number): void => {
    if (refreshedGroups.has(nhid)) return;
    refreshedGroups.add(nhid);
    const before = groupOfNhid.get(nhid);
    const id = groupIds.data.ofGroupOf.get(nhid);
    const resolution = evpnFdb.data.groups.get(nhid);
    const tunnel = ovs.data.tunnelOfport;
    let group: OfGroup | undefined;
    if (id !== undefined && resolution?.ok && tunnel !== undefined) {
      // A nexthop group moved to another OpenFlow group id takes its table
      // along: that is where its flows' hashes map now.
      const previous = slotTables.get(before !== undefined && before !== id ? before : id);
      const slots = f.ovs.selectionMethod === 'dp_hash' && f.ovs.bucketLayout === 'slots' ? layoutSlots(resolution.paths, previous) : undefined;
      group = slots ? p.slotGroup(id, slots, tunnel) : p.weightedGroup(id, f.ovs.selectionMethod, resolution.paths, tunnel);
      // Weighted dp_hash buckets keep the table OVS deals from them, so a
      // switch to bucketLayout=slots starts from where the flows are.
      const table = slots ?? slotTableOf(group);
      if (table) slotTables.set(id, table);
      else slotTables.delete(id);
    }
    if (before !== undefined && before !== group?.groupId) {
      dropGroup(before, 'select');
      groupOfNhid.delete(nhid);
      p.forgetNhid(nhid);
      slotTables.delete(before);
    }
    if (group) {
      const old = data.groups.get(group.groupId);
      groupOfNhid.set(nhid, group.groupId);
      if (!old || !sameGroup(old, group)) {
        data.groups.set(group.groupId, group);
        data.tracked.changedGroups.add(group.groupId);
      }
    }
  };

  /** A VNI's local side: classifier flows, the way in from the fabric, its local MACs, delivery to its ports. */
  const refreshVni = (p: Pipeline, vni: number): void => {
    const tunnel = ovs.data.tunnelOfport;
    const ports = ovs.data.portsByVni.get(vni) ?? [];
    const macs = ovs.data.macsByVni.get(vni);
    const attached = new Set(macs?.values());
    // A port whose MAC OVSDB does not name learns it from what it sends.
    const wanted = ports.map((port) => p.classifierFlow(vni, port, !attached.has(port)));
    if (ports.length > 0) {
      if (tunnel !== undefined) wanted.push(p.fromFabricFlow(vni, tunnel));
      wanted.push(p.fabricFloodFlow(vni, ports));
      for (const [mac, port] of macs ?? []) wanted.push(...p.localMacFlows(vni, mac, port));
    }
    const keys = wanted.map(flowKey);
    wanted.forEach((flow, i) => {
      setFlow(keys[i]!, flow);
      vniOfFlow.set(keys[i]!, vni);
    });
    const now = new Set(keys);
    // A port that moved to another VNI keeps its classifier key: the VNI refreshed first may own it now.
    for (const key of vniFlows.get(vni) ?? []) {
      if (now.has(key) || vniOfFlow.get(key) !== vni) continue;
      vniOfFlow.delete(key);
      setFlow(key, undefined);
    }
    if (keys.length > 0) vniFlows.set(vni, keys);
    else vniFlows.delete(vni);
  };

  /** A VNI's flood group and flood flow. */
  const refreshFlood = (p: Pipeline, vni: number): void => {
    const before = floodGroupOfVni.get(vni);
    const id = groupIds.data.floodGroupOf.get(vni);
    const ports = ovs.data.portsByVni.get(vni) ?? [];
    const tunnel = ovs.data.tunnelOfport;
    // Without a usable tunnel port the VNI still floods among its local ports.
    const group = id !== undefined && ports.length > 0 ? p.floodGroup(id, tunnel === undefined ? [] : (floodList.data.vteps.get(vni) ?? []), tunnel ?? 0, ports) : undefined;
    if (before !== undefined && before !== group?.groupId) {
      dropGroup(before, 'all');
      floodGroupOfVni.delete(vni);
    }
    if (!group) {
      setFlow(p.floodFlowKey(vni), undefined);
      return;
    }
    floodGroupOfVni.set(vni, group.groupId);
    const old = data.groups.get(group.groupId);
    if (!old || !sameGroup(old, group)) {
      data.groups.set(group.groupId, group);
      data.tracked.changedGroups.add(group.groupId);
    }
    setFlow(p.floodFlowKey(vni), p.floodFlow(vni, group.groupId));
  };

  const recompute = (): 'updated' => {
    // A handler may have declined halfway through this run.
    refreshedEntries.clear();
    refreshedGroups.clear();
    floodGroupOfVni.clear();
    data.groups.clear();
    data.flows.clear();
    macFlowOwners.clear();
    flowOfEntry.clear();
    groupOfNhid.clear();
    vniFlows.clear();
    vniOfFlow.clear();
    if (ofInstalled.data.adopted.slots !== seededFrom) {
      seededFrom = ofInstalled.data.adopted.slots;
      for (const [id, table] of seededFrom) slotTables.set(id, table);
    }
    const f = fabric();
    // A fresh pipeline: its shared parts belong to the old tunnel port and settings.
    pipeline = f ? new Pipeline(f.ovs) : undefined;
    if (f && pipeline) {
      for (const nhid of groupIds.data.ofGroupOf.keys()) refreshGroup(f, pipeline, nhid);
      for (const key of evpnFdb.data.entries.keys()) refreshEntry(pipeline, key);
      for (const vni of ovs.data.portsByVni.keys()) refreshVni(pipeline, vni);
      for (const vni of groupIds.data.floodGroupOf.keys()) refreshFlood(pipeline, vni);
    }
    for (const id of slotTables.keys()) if (!data.groups.has(id)) slotTables.delete(id);
    // `full` says that everything may have changed (the agent then plans a
    // full diff); listing every key as well would keep a 100,000-key Set
    // alive until the next run, 2.5 MiB at bench scale.
    data.tracked.full = true;
    data.tracked.changedGroups.clear();
    data.tracked.changedFlows.clear();
    return 'updated';
  };

  const onEvpnFdb = (): HandlerResult => {
    const f = fabric();
    if (!f || !pipeline || evpnFdb.data.tracked.full) return 'unhandled';
    for (const nhid of evpnFdb.data.tracked.changedGroups) refreshGroup(f, pipeline, nhid);
    for (const key of evpnFdb.data.tracked.changedEntries) refreshEntry(pipeline, key);
    return changedResult();
  };

  const onGroupIds = (): HandlerResult => {
    const f = fabric();
    if (!f || !pipeline || groupIds.data.tracked.full) return 'unhandled';
    for (const nhid of groupIds.data.tracked.changed) {
      refreshGroup(f, pipeline, nhid);
      for (const key of evpnFdb.data.ecmpUsers.keysOf(nhid)) refreshEntry(pipeline, key);
    }
    for (const vni of groupIds.data.tracked.changedFlood) refreshFlood(pipeline, vni);
    return changedResult();
  };

  // Learned MACs (tracked.learnedVnis) are flows Open vSwitch holds already: nothing to do.
  const onOvs = (): HandlerResult => {
    if (!pipeline || ovs.data.tracked.tunnelChanged) return 'unhandled';
    for (const vni of ovs.data.tracked.changedVnis) {
      refreshVni(pipeline, vni);
      refreshFlood(pipeline, vni);
    }
    return changedResult();
  };

  const onFloodList = (): HandlerResult => {
    if (!pipeline) return 'unhandled';
    for (const vni of floodList.data.tracked.changedVnis) refreshFlood(pipeline, vni);
    return changedResult();
  };

  const changedResult = (): HandlerResult => (data.tracked.changedFlows.size > 0 || data.tracked.changedGroups.size > 0 ? 'updated' : 'unchanged');

  return {
    name: 'ofDesired',
    inputs: [
      { node: nodeState, handler: () => (nodeState.data.tracked.fabricChanged ? 'unhandled' : 'unchanged') },
      // Group ids first: an entry refreshed after its group got its id needs no second refresh.
      { node: groupIds, handler: onGroupIds },
      { node: evpnFdb, handler: onEvpnFdb },
      { node: ovs, handler: onOvs },
      { node: floodList, handler: onFloodList },
      // New adoption (an OVS (re)connect) re-seeds the slot tables.
      { node: ofInstalled, handler: () => (ofInstalled.data.tracked.adoptedChanged ? 'unhandled' : 'unchanged') },
    ],
    data,
    recompute,
    clearTracked() {
      data.tracked.full = false;
      data.tracked.changedGroups.clear();
      data.tracked.changedFlows.clear();
      refreshedEntries.clear();
      refreshedGroups.clear();
    },
  };
}
