/**
 * ofDesired — the OpenFlow groups and flows the bridge should hold
 * (DESIGN §4), with T = ovs.tableBase:
 *  - table T, in_port=<port with external_ids:evpn-vni=V>:
 *      write_metadata:V, goto_table:T+1
 *  - table T, in_port=<tunnel>,tun_id=V: output to each local port of V
 *  - table T+1, metadata=V,dl_dst=MAC:
 *      set tun_id=V, group:G                          (ECMP)
 *      set tun_id=V, set tun_dst=VTEP, output:<tunnel> (single path)
 *  - one select group per kernel nexthop group in use, each bucket setting
 *    tun_dst and output:<tunnel>: with dp_hash and bucketLayout=slots, one
 *    equal bucket per hash slot, slots dealt to the paths by weight and
 *    re-dealt minimally on change (hash-slots.ts; the last table of each
 *    group is kept, seeded from what OVS holds after a restart); otherwise
 *    one bucket per path with its weight. Buckets end in their own
 *    output: OVS restores the packet's registers after a bucket, so a
 *    bucket that only loads a register for a later table loses it
 *    (reference/ovn-ecmp-fdb.md §1.6).
 * Every flow carries the fabric cookie; ECMP flows also carry the kernel
 * nhid in the cookie bits outside cookieMask (see groupIds).
 *  - table T+1, metadata=V at FLOOD_PRIORITY, the lowest of the VNI:
 *      set tun_id=V, group:F — broadcast, multicast and unknown unicast
 *  - one `all` group F per VNI with local ports (head-end replication): a
 *    bucket per VTEP of the VNI's flood list (set tun_dst, output:<tunnel>)
 *    and one per local port (output). Open vSwitch skips an output to the
 *    packet's in_port, so a frame never returns to the port it came from;
 *    tunnel traffic never reaches table T+1 (the classifier delivers it to
 *    the local ports), so it is never flooded back into the fabric (split
 *    horizon).
 * Every flow carries the fabric cookie; ECMP flows also carry the kernel
 * nhid in the cookie bits outside cookieMask (see groupIds); flood flows
 * leave them zero.
 *
 * Consumes: nodeState (ovs settings), evpnFdb, groupIds, ovs, floodList.
 * Produces: groups by id, flood groups by id, and flows by key (table,
 * priority, match); tracked: changed group ids, flood group ids, flow keys
 * — or `full` after a recompute, with the lists left empty.
 * Handled incrementally: entry changes (their MAC flow only), group path
 * changes (that group only: a weight change on a group used by 10,000 MACs
 * is one group change and no flow change), group id changes, local port
 * changes per VNI, flood list changes per VNI (the flood group is modified
 * in place). Tunnel port or fabric changes recompute.
 */
import type { EngineNode, HandlerResult } from '../engine.js';
import type { EvpnEntry, EvpnFdbData } from './evpn-fdb.js';
import type { GroupIdsNode } from './group-ids.js';
import type { NodeStateNode } from './node-state.js';
import type { OvsNode } from './ovs.js';
import type { FloodListData } from './flood-list.js';
import { flatKey, type FabricSettings, type FloodGroup, type OfAction, type OfBucket, type OfFlow, type OfGroup } from '../../model.js';
import { flowBody, flowKey, sameGroup } from '../../openflow-text.js';
import { FLOOD_PRIORITY, floodGroupText } from '../../flood-openflow.js';
import { layoutSlots, slotTableOf } from '../../hash-slots.js';

export const PRIORITY = 100;

/** A MAC as the canonical match text prints it (see macFlowKey). */
const CANONICAL_MAC = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/;
const PROBE_MAC = '02:00:00:00:00:01';
/** Bound of the shared slot buckets (VTEPs × slots): far above any fabric's VTEPs per node. */
const MAX_SHARED_VTEPS = 4096;

export interface OfDesiredData {
  groups: Map<number, OfGroup>;
  floodGroups: Map<number, FloodGroup>;
  flows: Map<string, OfFlow>;
  tracked: { full: boolean; changedGroups: Set<number>; changedFloodGroups: Set<number>; changedFlows: Set<string> };
}

/** The key of a VNI's flood flow (table T+1, FLOOD_PRIORITY, metadata=VNI). */
export function floodFlowKey(tableBase: number, vni: number): string {
  return flowKey({ table: tableBase + 1, priority: FLOOD_PRIORITY, match: { metadata: BigInt(vni) } });
}

/** The cookie of an ECMP flow: the fabric's, plus the nhid in the free bits. */
export function ecmpCookie(fabric: FabricSettings, nhid: number): bigint {
  return fabric.ovs.cookie | (BigInt(nhid) & ~fabric.ovs.cookieMask & 0xffffffffffffffffn);
}

export function createOfDesiredNode(deps: {
  nodeState: NodeStateNode;
  evpnFdb: EngineNode<EvpnFdbData>;
  groupIds: GroupIdsNode;
  ovs: OvsNode;
  floodList: EngineNode<FloodListData>;
}): EngineNode<OfDesiredData> {
  const { nodeState, evpnFdb, groupIds, ovs, floodList } = deps;
  const data: OfDesiredData = {
    groups: new Map(),
    floodGroups: new Map(),
    flows: new Map(),
    tracked: { full: false, changedGroups: new Set(), changedFloodGroups: new Set(), changedFlows: new Set() },
  };
  const floodGroupOfVni = new Map<number, number>();
  // A MAC flow has one owning entry but for the rare VNI+MAC on two devices:
  // a bare key, a Set only when shared (100,000 one-element Sets cost ~20 MiB).
  const macFlowOwners = new Map<string, string | Set<string>>();
  // Per table+VNI, the MAC flow key up to the MAC (see macFlowKey).
  const macKeyPrefixes = new Map<string, string | null>();
  const flowOfEntry = new Map<string, string>();
  const groupOfNhid = new Map<number, number>();
  const vniFlows = new Map<number, string[]>();
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
      if (old !== undefined && flowBody(old) === flowBody(flow)) return;
      data.flows.set(key, flow);
    }
    data.tracked.changedFlows.add(key);
  };

  // Parts of MAC flows shared between flows (100,000 MACs over 10,000
  // groups at scale): one metadata value and set_field per VNI, one cookie
  // and actions list per nhid and VNI. Desired objects are never mutated
  // (the sync layer and the edge only read them), so sharing is safe; the
  // caches are rebuilt by recompute (fabric or tunnel change) and an nhid's
  // entry goes with its group.
  const vniParts = new Map<number, { metadata: bigint; setTunId: OfAction }>();
  const partsOfVni = (vni: number): { metadata: bigint; setTunId: OfAction } => {
    let parts = vniParts.get(vni);
    if (parts === undefined) {
      const metadata = BigInt(vni);
      vniParts.set(vni, (parts = { metadata, setTunId: { type: 'setTunId', value: metadata } }));
    }
    return parts;
  };
  /** nhid → its flows' cookie and, per VNI, their actions (set tun_id, group). */
  const ecmpParts = new Map<number, { groupId: number; cookie: bigint; actions: Map<number, readonly OfAction[]> }>();
  const ecmpActions = (f: FabricSettings, nhid: number, groupId: number, vni: number): { cookie: bigint; actions: OfAction[] } => {
    let parts = ecmpParts.get(nhid);
    if (parts === undefined || parts.groupId !== groupId) ecmpParts.set(nhid, (parts = { groupId, cookie: ecmpCookie(f, nhid), actions: new Map() }));
    let actions = parts.actions.get(vni);
    if (actions === undefined) parts.actions.set(vni, (actions = [partsOfVni(vni).setTunId, { type: 'group', groupId }]));
    // OfFlow.actions is typed mutable for the edge's decoder; nothing mutates a desired flow's list.
    return { cookie: parts.cookie, actions: actions as OfAction[] };
  };

  const macFlow = (f: FabricSettings, e: EvpnEntry): OfFlow | undefined => {
    if (e.kind !== 'ecmp' && e.kind !== 'single') return undefined;
    const tunnel = ovs.data.tunnelOfport;
    if (tunnel === undefined) return undefined;
    // Literals rather than `{ ...base, ... }`: one of these per MAC (100,000
    // at scale), and a spread copy is both an extra object and a larger one.
    const { metadata, setTunId } = partsOfVni(e.vni);
    const table = f.ovs.tableBase + 1;
    if (e.kind === 'single') {
      return {
        table, priority: PRIORITY, match: { metadata, ethDst: e.mac },
        cookie: f.ovs.cookie, actions: [setTunId, { type: 'setTunDst', ip: e.vtep }, { type: 'output', port: tunnel }],
      };
    }
    const groupId = groupOfNhid.get(e.nhid);
    if (groupId === undefined) return undefined;
    const { cookie, actions } = ecmpActions(f, e.nhid, groupId, e.vni);
    return { table, priority: PRIORITY, match: { metadata, ethDst: e.mac }, cookie, actions };
  };

  /**
   * flowKey of a MAC flow, without building and formatting a match per
   * entry: the canonical text of `metadata=V,dl_dst=MAC` ends in the MAC as
   * written when it is already canonical (lower-case, colon-separated), so
   * the text before it is computed once per table and VNI. Any other
   * spelling takes the full path.
   */
  const macFlowKey = (table: number, vni: number, mac: string): string => {
    const full = (): string => flowKey({ table, priority: PRIORITY, match: { metadata: BigInt(vni), ethDst: mac } });
    if (!CANONICAL_MAC.test(mac)) return full();
    const id = `${table}/${vni}`;
    let prefix = macKeyPrefixes.get(id);
    if (prefix === undefined) {
      const probe = flowKey({ table, priority: PRIORITY, match: { metadata: BigInt(vni), ethDst: PROBE_MAC } });
      prefix = probe.endsWith(PROBE_MAC) ? probe.slice(0, -PROBE_MAC.length) : null;
      macKeyPrefixes.set(id, prefix);
    }
    return prefix === null ? full() : flatKey(prefix + mac);
  };

  const keyOfEntry = (f: FabricSettings, e: EvpnEntry): string | undefined =>
    e.kind === 'ecmp' || e.kind === 'single' ? macFlowKey(f.ovs.tableBase + 1, e.vni, e.mac) : undefined;

  /** Two devices may carry the same VNI and MAC: the lowest entry key wins, deterministically. */
  const refreshMacFlow = (f: FabricSettings, key: string): void => {
    const owners = macFlowOwners.get(key);
    const winner = typeof owners === 'string' ? owners : owners && owners.size > 0 ? [...owners].sort()[0] : undefined;
    const entry = winner === undefined ? undefined : evpnFdb.data.entries.get(winner);
    setFlow(key, entry ? macFlow(f, entry) : undefined);
  };

  const refreshEntry = (f: FabricSettings, entryKey: string): void => {
    const before = flowOfEntry.get(entryKey);
    const entry = evpnFdb.data.entries.get(entryKey);
    const after = entry ? keyOfEntry(f, entry) : undefined;
    if (before !== undefined && before !== after) {
      const owners = macFlowOwners.get(before);
      if (owners === entryKey) macFlowOwners.delete(before);
      else if (typeof owners === 'object') {
        owners.delete(entryKey);
        if (owners.size === 1) macFlowOwners.set(before, owners.values().next().value!);
      }
      flowOfEntry.delete(entryKey);
      refreshMacFlow(f, before);
    }
    if (after !== undefined) {
      const owners = macFlowOwners.get(after);
      if (owners === undefined) macFlowOwners.set(after, entryKey);
      else if (typeof owners === 'string') {
        if (owners !== entryKey) macFlowOwners.set(after, new Set([owners, entryKey]));
      } else owners.add(entryKey);
      flowOfEntry.set(entryKey, after);
      refreshMacFlow(f, after);
    }
  };

  // A slot bucket (weight 1) is the same object wherever a VTEP holds slot
  // i: 10,000 groups of 32 slots share a few thousand buckets instead of
  // holding 320,000. Kept for the current tunnel port; dropped when it or
  // the set of VTEPs seen grows past its bound.
  let slotBuckets = { tunnel: -1, byVtep: new Map<string, OfBucket[]>() };
  const slotBucket = (vtep: string, bucketId: number, tunnel: number): OfBucket => {
    if (slotBuckets.tunnel !== tunnel || slotBuckets.byVtep.size > MAX_SHARED_VTEPS) slotBuckets = { tunnel, byVtep: new Map() };
    let buckets = slotBuckets.byVtep.get(vtep);
    if (buckets === undefined) slotBuckets.byVtep.set(vtep, (buckets = []));
    return (buckets[bucketId] ??= { bucketId, weight: 1, tunDst: vtep, outPort: tunnel });
  };

  const refreshGroup = (f: FabricSettings, nhid: number): void => {
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
      group = {
        groupId: id,
        selectionMethod: f.ovs.selectionMethod,
        buckets: slots
          ? slots.map((vtep, i) => slotBucket(vtep, i, tunnel))
          : resolution.paths.map((p, i) => ({ bucketId: i, weight: p.weight, tunDst: p.vtep, outPort: tunnel })),
      };
      // Weighted dp_hash buckets keep the table OVS deals from them, so a
      // switch to bucketLayout=slots starts from where the flows are.
      const table = slots ?? slotTableOf(group);
      if (table) slotTables.set(id, table);
      else slotTables.delete(id);
    }
    if (before !== undefined && before !== group?.groupId) {
      data.groups.delete(before);
      groupOfNhid.delete(nhid);
      ecmpParts.delete(nhid);
      slotTables.delete(before);
      data.tracked.changedGroups.add(before);
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

  const refreshVni = (f: FabricSettings, vni: number): void => {
    const keys: string[] = [];
    const tunnel = ovs.data.tunnelOfport;
    const ports = ovs.data.portsByVni.get(vni) ?? [];
    const wanted: OfFlow[] = ports.map((port) => ({
      table: f.ovs.tableBase,
      priority: PRIORITY,
      cookie: f.ovs.cookie,
      match: { inPort: port },
      actions: [],
      writeMetadata: BigInt(vni),
      gotoTable: f.ovs.tableBase + 1,
    }));
    if (tunnel !== undefined && ports.length > 0) {
      wanted.push({
        table: f.ovs.tableBase,
        priority: PRIORITY,
        cookie: f.ovs.cookie,
        match: { inPort: tunnel, tunId: BigInt(vni) },
        actions: ports.map((port) => ({ type: 'output' as const, port })),
      });
    }
    for (const flow of wanted) {
      const key = flowKey(flow);
      keys.push(key);
      setFlow(key, flow);
    }
    for (const key of vniFlows.get(vni) ?? []) if (!keys.includes(key)) setFlow(key, undefined);
    if (keys.length > 0) vniFlows.set(vni, keys);
    else vniFlows.delete(vni);
  };

  const refreshFlood = (f: FabricSettings, vni: number): void => {
    const before = floodGroupOfVni.get(vni);
    const id = groupIds.data.floodGroupOf.get(vni);
    const ports = ovs.data.portsByVni.get(vni) ?? [];
    const tunnel = ovs.data.tunnelOfport;
    let group: FloodGroup | undefined;
    if (id !== undefined && ports.length > 0) {
      // Without a usable tunnel port the VNI still floods among its local ports.
      const vteps = tunnel === undefined ? [] : (floodList.data.vteps.get(vni) ?? []);
      group = { groupId: id, vni, vteps, tunnelPort: tunnel ?? 0, ports };
    }
    if (before !== undefined && before !== group?.groupId) {
      data.floodGroups.delete(before);
      floodGroupOfVni.delete(vni);
      data.tracked.changedFloodGroups.add(before);
    }
    const key = floodFlowKey(f.ovs.tableBase, vni);
    if (!group) {
      setFlow(key, undefined);
      return;
    }
    floodGroupOfVni.set(vni, group.groupId);
    const old = data.floodGroups.get(group.groupId);
    if (!old || floodGroupText(old) !== floodGroupText(group)) {
      data.floodGroups.set(group.groupId, group);
      data.tracked.changedFloodGroups.add(group.groupId);
    }
    setFlow(key, {
      table: f.ovs.tableBase + 1,
      priority: FLOOD_PRIORITY,
      cookie: f.ovs.cookie,
      match: { metadata: BigInt(vni) },
      actions: [{ type: 'setTunId', value: BigInt(vni) }, { type: 'group', groupId: group.groupId }],
    });
  };

  const recompute = (): 'updated' => {
    data.floodGroups.clear();
    floodGroupOfVni.clear();
    data.groups.clear();
    data.flows.clear();
    macFlowOwners.clear();
    macKeyPrefixes.clear();
    flowOfEntry.clear();
    groupOfNhid.clear();
    ecmpParts.clear();
    vniParts.clear();
    slotBuckets = { tunnel: -1, byVtep: new Map() };
    vniFlows.clear();
    if (ovs.data.adoptedSlots !== seededFrom) {
      seededFrom = ovs.data.adoptedSlots;
      for (const [id, table] of seededFrom) slotTables.set(id, table);
    }
    const f = fabric();
    if (f) {
      for (const nhid of groupIds.data.ofGroupOf.keys()) refreshGroup(f, nhid);
      for (const key of evpnFdb.data.entries.keys()) refreshEntry(f, key);
      for (const vni of ovs.data.portsByVni.keys()) refreshVni(f, vni);
      for (const vni of groupIds.data.floodGroupOf.keys()) refreshFlood(f, vni);
    }
    for (const id of slotTables.keys()) if (!data.groups.has(id)) slotTables.delete(id);
    // `full` says that everything may have changed (the agent then plans a
    // full diff); listing every key as well would keep a 100,000-key Set
    // alive until the next run, 2.5 MiB at bench scale.
    data.tracked.full = true;
    data.tracked.changedFloodGroups.clear();
    data.tracked.changedGroups.clear();
    data.tracked.changedFlows.clear();
    return 'updated';
  };

  const onEvpnFdb = (): HandlerResult => {
    const f = fabric();
    if (!f || evpnFdb.data.tracked.full) return 'unhandled';
    for (const nhid of evpnFdb.data.tracked.changedGroups) refreshGroup(f, nhid);
    for (const key of evpnFdb.data.tracked.changedEntries) refreshEntry(f, key);
    return changedResult();
  };

  const onGroupIds = (): HandlerResult => {
    const f = fabric();
    if (!f || groupIds.data.tracked.full) return 'unhandled';
    for (const nhid of groupIds.data.tracked.changed) {
      refreshGroup(f, nhid);
      for (const key of evpnFdb.data.ecmpUsers.keysOf(nhid)) refreshEntry(f, key);
    }
    for (const vni of groupIds.data.tracked.changedFlood) refreshFlood(f, vni);
    return changedResult();
  };

  const onOvs = (): HandlerResult => {
    const f = fabric();
    // New adoption (an OVS (re)connect) re-seeds the slot tables: recompute.
    if (!f || ovs.data.tracked.tunnelChanged || ovs.data.tracked.adoptedChanged) return 'unhandled';
    for (const vni of ovs.data.tracked.changedVnis) {
      refreshVni(f, vni);
      refreshFlood(f, vni);
    }
    return changedResult();
  };

  const onFloodList = (): HandlerResult => {
    const f = fabric();
    if (!f) return 'unhandled';
    for (const vni of floodList.data.tracked.changedVnis) refreshFlood(f, vni);
    return changedResult();
  };

  const changedResult = (): HandlerResult =>
    data.tracked.changedFlows.size > 0 || data.tracked.changedGroups.size > 0 || data.tracked.changedFloodGroups.size > 0 ? 'updated' : 'unchanged';

  return {
    name: 'ofDesired',
    inputs: [
      { node: nodeState, handler: () => (nodeState.data.tracked.fabricChanged ? 'unhandled' : 'unchanged') },
      { node: evpnFdb, handler: onEvpnFdb },
      { node: groupIds, handler: onGroupIds },
      { node: ovs, handler: onOvs },
      { node: floodList, handler: onFloodList },
    ],
    data,
    recompute,
    clearTracked() {
      data.tracked.full = false;
      data.tracked.changedGroups.clear();
      data.tracked.changedFloodGroups.clear();
      data.tracked.changedFlows.clear();
    },
  };
}
