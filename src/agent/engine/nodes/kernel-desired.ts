/**
 * kernelDesired — what the kernel should hold for the spec's groups (when
 * kernel.manage): one fdb nexthop per VTEP IP (shared between groups), one
 * fdb nexthop group per spec group with its weights, one FDB entry per MAC
 * on the VNI's VXLAN device (`static self nhid G`).
 *
 * Consumes: nodeState, links (device per VNI from vxlan.deviceTemplate),
 * nexthops and fdb (id adoption after a restart, conflicts).
 * Produces: desired nexthops, groups and FDB entries, and per spec group
 * its kernel group id or the reason it cannot be written.
 *
 * Id allocation, stable across restarts without any state file:
 *  - a VTEP's nexthop id is the id of an fdb nexthop we own (our protocol,
 *    in our range) with that gateway, if the kernel has one;
 *  - a group's id is the nhid its MACs' FDB entries already point at, if
 *    that is a group we own — the FDB entries are what the traffic uses,
 *    so adopting their group changes nothing;
 *  - otherwise the lowest id in kernel.nexthopIdRange not used by any
 *    nexthop (ours or not) and not assigned in this process.
 * Assignments are remembered for the life of the process, so a weight or
 * membership change replaces the same group in place (NLM_F_REPLACE):
 * the FDB entries, and OVS, keep pointing at the same id.
 *
 * Last known good (issue 18). A group whose new spec cannot be applied —
 * its VTEPs fail the per-node checks (`InvalidSpec`, e.g. `192.0.2.03`),
 * are of the wrong family, are none, or need an id the range no longer has
 * (`IdRangeExhausted`) — keeps what it last had: the last version of it
 * that was placed in this process, or, after a restart, what the kernel
 * holds for it (the owned nexthop group its MACs' FDB entries point at).
 * The placement carries the problem and the generation kept, so status
 * says Invalid with the reason while traffic goes on; nothing is
 * withdrawn because someone mistyped an address.
 *
 * MAC conflicts. Two groups claiming one MAC on one device (the operator
 * withholds such MACs from both and reports MacConflict; a hand-written
 * state file may still do it): the MAC is withheld from both, each keeps
 * its other MACs — the operator's rule, so no group loses traffic to a
 * newcomer whatever the names.
 *
 * Flood list (DESIGN §4): per VNI, one all-zeros-MAC entry per remote VTEP
 * of the VNI's groups (`bridge fdb append 00:00:00:00:00:00 dev D dst IP`),
 * as an EVPN control plane installs for its type-3 routes.
 *
 * Ownership of flood entries. The VXLAN FDB stores no rtnetlink protocol
 * (NDA_PROTOCOL is accepted and dropped, Linux 6.18) and a flood entry
 * names no nexthop, so nothing in the kernel marks it as ours. The rule:
 * an all-zeros entry whose (device, dst) is desired now is ours (writing
 * it again would change nothing); one that was desired earlier in this
 * process's life and no longer is, is "retired" and deleted (it is
 * forgotten once the fdb input shows it gone); any other is left alone, because another EVPN speaker may have installed it. The
 * price: an entry we wrote whose VTEP left the spec while the agent was
 * not running stays in the kernel, which is the safe side (an extra flood
 * copy, never a lost one).
 *
 * Handled incrementally: group-level spec changes (only those groups are
 * rebuilt); nexthop changes that do not touch our range; FDB changes
 * (they matter for adoption at the first computation, and for retired
 * flood entries, forgotten once gone).
 */
import type { EngineNode, HandlerResult } from '../engine.js';
import type { FdbNode } from './fdb.js';
import type { LinksNode } from './links.js';
import type { NexthopsNode } from './nexthops.js';
import type { NodeStateNode } from './node-state.js';
import { fdbKey, ipFamily, ZERO_MAC, type FabricSettings, type KernelLink, type NexthopMember, type SpecGroup } from '../../model.js';
import { inRange, isConflictingNexthop, isOwnedNexthop } from '../../ownership.js';

export interface DesiredNexthop {
  id: number;
  gateway: string;
}
export interface DesiredGroup {
  id: number;
  members: NexthopMember[];
}
export interface DesiredFdbEntry {
  ifindex: number;
  mac: string;
  nhid: number;
  /** Single mode: the VNI the entry is keyed by on the external device (NDA_SRC_VNI). */
  srcVni?: number;
}

/** `00:00:00:00:00:00 dst <dst>` on the VNI's device. */
export interface DesiredFloodEntry {
  ifindex: number;
  dst: string;
  vni: number;
  /** Single mode, as for DesiredFdbEntry. */
  srcVni?: number;
}

export type SpecGroupProblem = 'InvalidSpec' | 'MacConflict' | 'NoVxlanDevice' | 'FamilyMismatch' | 'NoVteps' | 'IdRangeExhausted' | 'NotManaged' | 'LocalOnly';

export interface SpecGroupPlacement {
  name: string;
  vni: number;
  device: string;
  ifindex?: number;
  /** Single mode: the VNI its entries are keyed by on the device. */
  srcVni?: number;
  nexthopGroupId?: number;
  /** VTEPs of the group not written: this node's own (a node never tunnels to itself). */
  droppedPaths: string[];
  /** MACs not written because another group claims them too (MacConflict). */
  withheldMacs: string[];
  /**
   * The version of the group written: the spec's, or — when the spec's
   * cannot be (problem set) — the last good one, kept (see header).
   */
  placed: SpecGroup;
  /** Set when `placed` is a kept last good version: its generation (0: adopted from the kernel after a restart). */
  keptGeneration?: number;
  problem?: SpecGroupProblem;
  message: string;
}

/** Problems of the spec's version of a group for which its last good version is kept. */
const KEEPS_LAST_GOOD: ReadonlySet<SpecGroupProblem> = new Set(['InvalidSpec', 'FamilyMismatch', 'NoVteps', 'IdRangeExhausted']);

export interface KernelDesiredData {
  nexthops: Map<number, DesiredNexthop>;
  groups: Map<number, DesiredGroup>;
  fdb: Map<string, DesiredFdbEntry>;
  placements: Map<string, SpecGroupPlacement>;
  /** fdbKey of each desired MAC entry → the spec group it serves. */
  fdbOwner: Map<string, string>;
  /** Ids in our range held by objects of another protocol. */
  conflicts: number[];
  /** Flood entries by fdbKey. */
  flood: Map<string, DesiredFloodEntry>;
  /** Flood entries this process desired earlier and no longer does, still in the kernel: delete them. */
  floodRetired: Map<string, DesiredFloodEntry>;
  /** changedKeys: the nexthop ids and FDB keys (MAC and flood entries) whose desired state changed. */
  tracked: { full: boolean; changedGroups: Set<string>; floodChanged: boolean; changedKeys: { nexthops: Set<number>; fdb: Set<string> } };
}

export function deviceName(template: string, vni: number): string {
  return template.replaceAll('{vni}', String(vni));
}

/**
 * Where a VNI's FDB entries live: PerVni, the VNI's own VXLAN device;
 * Single, the one external device, every entry keyed by MAC and VNI
 * (NDA_SRC_VNI) — so one MAC in two VNIs is two entries.
 */
export interface FdbHome {
  device: string;
  ifindex?: number;
  srcVni?: number;
  /** Why the VNI has no usable device. */
  missing?: string;
}

export function fdbHome(fabric: FabricSettings, byName: ReadonlyMap<string, KernelLink>, vni: number): FdbHome {
  if (fabric.vxlan.mode === 'Single') {
    const device = fabric.vxlan.device;
    const link = byName.get(device);
    if (!link?.vxlan?.external) return { device, srcVni: vni, missing: link ? `${device} is not an external VXLAN device` : `single VXLAN device ${device} does not exist` };
    return { device, ifindex: link.ifindex, srcVni: vni };
  }
  const device = deviceName(fabric.vxlan.deviceTemplate, vni);
  const link = byName.get(device);
  if (!link?.vxlan || link.vxlan.external) return { device, missing: link ? `${device} is not a VXLAN device of VNI ${vni}` : `VXLAN device ${device} for VNI ${vni} does not exist` };
  return { device, ifindex: link.ifindex };
}

export function createKernelDesiredNode(deps: {
  nodeState: NodeStateNode;
  links: LinksNode;
  nexthops: NexthopsNode;
  fdb: FdbNode;
}): EngineNode<KernelDesiredData> {
  const { nodeState, links, nexthops, fdb } = deps;
  const data: KernelDesiredData = {
    nexthops: new Map(),
    groups: new Map(),
    fdb: new Map(),
    placements: new Map(),
    fdbOwner: new Map(),
    conflicts: [],
    flood: new Map(),
    floodRetired: new Map(),
    tracked: { full: false, changedGroups: new Set(), floodChanged: false, changedKeys: { nexthops: new Set(), fdb: new Set() } },
  };
  // Process-lifetime memory of assignments (see header).
  const vtepIds = new Map<string, number>();
  const groupIds = new Map<string, number>();
  // Every id in the two maps, and where the next free one is searched from:
  // every id below the cursor was found taken (ours, or in the kernel), so
  // 10,000 fresh groups cost 10,000 steps, not 50 million.
  const assigned = new Set<number>();
  let cursor = 0;
  const setId = (map: Map<string, number>, key: string, id: number): void => {
    const old = map.get(key);
    if (old !== undefined) release(old);
    map.set(key, id);
    assigned.add(id);
  };
  const forgetId = (map: Map<string, number>, key: string): void => {
    const old = map.get(key);
    if (old === undefined) return;
    map.delete(key);
    release(old);
  };
  const release = (id: number): void => {
    assigned.delete(id);
    if (id < cursor) cursor = id;
  };
  // Per spec group, what it contributes (to undo it on change).
  const contributions = new Map<string, { vteps: string[]; groupId?: number; fdbKeys: string[]; floodKeys: string[] }>();
  // The flood list: how many placed groups want each entry, and the entries
  // whose last user left in this run (settled once the run's groups are in).
  const floodUsers = new Map<string, number>();
  const floodMaybeGone = new Set<string>();

  const vtepUsers = new Map<string, Set<string>>();
  const fdbOwner = data.fdbOwner;

  /** The lowest id of the range that is neither assigned nor held by a kernel object (from the cursor on, then wrapping). */
  const allocate = (fabric: FabricSettings): number | undefined => {
    const { start, size } = fabric.kernel.nexthopIdRange;
    if (cursor < start || cursor >= start + size) cursor = start;
    for (let i = 0; i < size; i++) {
      const id = start + ((cursor - start + i) % size);
      if (assigned.has(id) || nexthops.data.byId.has(id)) continue;
      cursor = id;
      return id;
    }
    return undefined;
  };

  const vtepId = (fabric: FabricSettings, ip: string): number | undefined => {
    const known = vtepIds.get(ip);
    if (known !== undefined && !isForeign(known, fabric)) return known;
    for (const nh of nexthops.data.byId.values()) {
      if (nh.fdb && nh.gateway === ip && !nh.members && isOwnedNexthop(nh, fabric) && !assigned.has(nh.id)) {
        setId(vtepIds, ip, nh.id);
        return nh.id;
      }
    }
    const id = allocate(fabric);
    if (id !== undefined) setId(vtepIds, ip, id);
    return id;
  };

  const isForeign = (id: number, fabric: FabricSettings): boolean => {
    const nh = nexthops.data.byId.get(id);
    return nh !== undefined && !isOwnedNexthop(nh, fabric);
  };

  const groupId = (fabric: FabricSettings, g: SpecGroup, home: FdbHome & { ifindex: number }): number | undefined => {
    const known = groupIds.get(g.name);
    if (known !== undefined && !isForeign(known, fabric)) return known;
    const votes = new Map<number, number>();
    for (const mac of g.macs) {
      const nhid = fdb.data.byKey.get(fdbKey({ ifindex: home.ifindex, mac: mac.toLowerCase(), vlan: 0, vni: home.srcVni }))?.nhid;
      if (nhid === undefined || assigned.has(nhid)) continue;
      const nh = nexthops.data.byId.get(nhid);
      if (nh?.members && isOwnedNexthop(nh, fabric)) votes.set(nhid, (votes.get(nhid) ?? 0) + 1);
    }
    const adopted = [...votes].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]?.[0];
    const id = adopted ?? allocate(fabric);
    if (id !== undefined) setId(groupIds, g.name, id);
    return id;
  };

  const removeGroup = (name: string): void => {
    const c = contributions.get(name);
    if (!c) return;
    contributions.delete(name);
    data.placements.delete(name);
    const keys = data.tracked.changedKeys;
    if (c.groupId !== undefined) {
      data.groups.delete(c.groupId);
      keys.nexthops.add(c.groupId);
    }
    for (const key of c.fdbKeys) {
      data.fdb.delete(key);
      fdbOwner.delete(key);
      keys.fdb.add(key);
    }
    for (const key of c.floodKeys) {
      const n = (floodUsers.get(key) ?? 0) - 1;
      if (n > 0) floodUsers.set(key, n);
      else {
        floodUsers.delete(key);
        floodMaybeGone.add(key);
      }
    }
    for (const ip of c.vteps) {
      const users = vtepUsers.get(ip);
      users?.delete(name);
      if (users?.size === 0) {
        vtepUsers.delete(ip);
        const id = vtepIds.get(ip);
        if (id !== undefined) {
          data.nexthops.delete(id);
          keys.nexthops.add(id);
        }
      }
    }
    data.tracked.changedGroups.add(name);
  };

  /** The last version of each group placed without a problem of its own (see header). */
  const lastGood = new Map<string, SpecGroup>();
  /** Device/MAC keys claimed by more than one group (names, sorted): withheld from every one of them. */
  let contested = new Map<string, string[]>();
  /** The version of a group whose MACs count as claimed: the spec's, or for an invalid spec the one kept. */
  const claimView = (g: SpecGroup): SpecGroup | undefined => (g.invalid === undefined ? g : lastGood.get(g.name));
  const computeContested = (fabric: FabricSettings, groups: Iterable<SpecGroup>): void => {
    const claims = new Map<string, string[]>();
    for (const g of groups) {
      const v = claimView(g);
      if (!v) continue;
      const home = fdbHome(fabric, links.data.byName, v.vni);
      if (home.ifindex === undefined) continue;
      for (const mac of new Set(v.macs.map((m) => m.toLowerCase()))) {
        const key = fdbKey({ ifindex: home.ifindex, mac, vlan: 0, vni: home.srcVni });
        const names = claims.get(key);
        if (names) names.push(g.name);
        else claims.set(key, [g.name]);
      }
    }
    contested = new Map([...claims].filter(([, names]) => names.length > 1).map(([key, names]) => [key, names.sort()]));
  };

  const exhaustedMessage = (fabric: FabricSettings): string => {
    const { start, size } = fabric.kernel.nexthopIdRange;
    return `kernel.nexthopIdRange (${start}-${start + size - 1}, ${size} ids) has no free id`;
  };

  /** Writes version `g` of a group; the placement says what could not be written, and why. */
  const place = (fabric: FabricSettings, g: SpecGroup): SpecGroupPlacement => {
    const home = fdbHome(fabric, links.data.byName, g.vni);
    const placement: SpecGroupPlacement = { name: g.name, vni: g.vni, device: home.device, droppedPaths: [], withheldMacs: [], placed: g, message: '' };
    const contribution = { vteps: [] as string[], groupId: undefined as number | undefined, fdbKeys: [] as string[], floodKeys: [] as string[] };
    contributions.set(g.name, contribution);
    data.placements.set(g.name, placement);
    data.tracked.changedGroups.add(g.name);
    const problem = (p: SpecGroupProblem, message: string): SpecGroupPlacement => {
      placement.problem = p;
      placement.message = message;
      return placement;
    };
    if (g.invalid !== undefined) return problem('InvalidSpec', g.invalid);
    if (!fabric.kernel.manage) return problem('NotManaged', 'kernel.manage is off: the kernel is not written');
    if (home.ifindex === undefined) return problem('NoVxlanDevice', home.missing ?? `no VXLAN device for VNI ${g.vni}`);
    const at = { ...home, ifindex: home.ifindex };
    placement.ifindex = at.ifindex;
    if (at.srcVni !== undefined) placement.srcVni = at.srcVni;
    if (g.vteps.length === 0) return problem('NoVteps', 'the group has no VTEPs');
    const wrong = g.vteps.find((v) => ipFamily(v.vtep) !== fabric.family);
    // A path to this node's own VTEP is never programmed (an anycast service hosted here too).
    const vteps = g.vteps.filter((v) => v.vtep !== fabric.localVtepIP);
    if (vteps.length < g.vteps.length) placement.droppedPaths = [fabric.localVtepIP];
    if (wrong) return problem('FamilyMismatch', `VTEP ${wrong.vtep} is not IPv${fabric.family}`);
    if (vteps.length === 0) return problem('LocalOnly', `the group's only VTEP is this node's own (${fabric.localVtepIP}): nothing to program`);
    const members: NexthopMember[] = [];
    for (const v of vteps) {
      const id = vtepId(fabric, v.vtep);
      if (id === undefined) return problem('IdRangeExhausted', `${exhaustedMessage(fabric)} for the nexthop of VTEP ${v.vtep}`);
      members.push({ id, weight: v.weight });
    }
    const gid = groupId(fabric, g, at);
    if (gid === undefined) return problem('IdRangeExhausted', `${exhaustedMessage(fabric)} for the group's nexthop group`);
    for (const [i, v] of vteps.entries()) {
      contribution.vteps.push(v.vtep);
      let users = vtepUsers.get(v.vtep);
      if (!users) vtepUsers.set(v.vtep, (users = new Set()));
      users.add(g.name);
      data.nexthops.set(members[i]!.id, { id: members[i]!.id, gateway: v.vtep });
      data.tracked.changedKeys.nexthops.add(members[i]!.id);
    }
    contribution.groupId = gid;
    placement.nexthopGroupId = gid;
    data.groups.set(gid, { id: gid, members: [...members].sort((a, b) => a.id - b.id) });
    data.tracked.changedKeys.nexthops.add(gid);
    const conflicts: string[] = [];
    for (const rawMac of g.macs) {
      const mac = rawMac.toLowerCase();
      const key = fdbKey({ ifindex: at.ifindex, mac, vlan: 0, vni: at.srcVni });
      const claimants = contested.get(key);
      if (claimants?.includes(g.name)) {
        placement.withheldMacs.push(mac);
        const others = claimants.filter((n) => n !== g.name);
        if (conflicts.length < 3) conflicts.push(`${mac} (also group ${others.join(', ')})`);
        continue;
      }
      contribution.fdbKeys.push(key);
      fdbOwner.set(key, g.name);
      data.tracked.changedKeys.fdb.add(key);
      data.fdb.set(key, at.srcVni === undefined ? { ifindex: at.ifindex, mac, nhid: gid } : { ifindex: at.ifindex, mac, nhid: gid, srcVni: at.srcVni });
    }
    // The flood list follows the placed groups: every VTEP of every group
    // written to the kernel (on the single device keyed by VNI too).
    for (const v of vteps) {
      const key = fdbKey({ ifindex: at.ifindex, mac: ZERO_MAC, vlan: 0, vni: at.srcVni, dst: v.vtep });
      contribution.floodKeys.push(key);
      const n = floodUsers.get(key) ?? 0;
      floodUsers.set(key, n + 1);
      if (n > 0 || data.flood.has(key)) continue;
      data.tracked.changedKeys.fdb.add(key);
      data.flood.set(key, at.srcVni === undefined ? { ifindex: at.ifindex, dst: v.vtep, vni: g.vni } : { ifindex: at.ifindex, dst: v.vtep, vni: g.vni, srcVni: at.srcVni });
      data.floodRetired.delete(key);
      data.tracked.floodChanged = true;
    }
    if (placement.withheldMacs.length > 0) {
      const n = placement.withheldMacs.length;
      const more = n > conflicts.length ? ` and ${n - conflicts.length} more` : '';
      problem('MacConflict', `MAC ${conflicts.join(', ')}${more} on VNI ${g.vni} claimed by two groups: withheld from both; the other ${g.macs.length - n} MAC(s) are programmed`);
    }
    return placement;
  };

  /**
   * The version the kernel holds of a group, after a restart: the owned
   * nexthop group most of its MACs' FDB entries point at, its members'
   * gateways and weights, and the MACs pointing at it.
   */
  const adoptFromKernel = (fabric: FabricSettings, g: SpecGroup): SpecGroup | undefined => {
    if (!fabric.kernel.manage) return undefined;
    const home = fdbHome(fabric, links.data.byName, g.vni);
    if (home.ifindex === undefined) return undefined;
    const votes = new Map<number, string[]>();
    for (const rawMac of g.macs) {
      const mac = rawMac.toLowerCase();
      const nhid = fdb.data.byKey.get(fdbKey({ ifindex: home.ifindex, mac, vlan: 0, vni: home.srcVni }))?.nhid;
      if (nhid === undefined || assigned.has(nhid)) continue;
      const nh = nexthops.data.byId.get(nhid);
      if (!nh?.members || !isOwnedNexthop(nh, fabric)) continue;
      const macs = votes.get(nhid);
      if (macs) macs.push(mac);
      else votes.set(nhid, [mac]);
    }
    const best = [...votes].sort((a, b) => b[1].length - a[1].length || a[0] - b[0])[0];
    if (!best) return undefined;
    const vteps: SpecGroup['vteps'] = [];
    for (const m of nexthops.data.byId.get(best[0])!.members!) {
      const member = nexthops.data.byId.get(m.id);
      if (!member?.gateway || !isOwnedNexthop(member, fabric)) return undefined;
      vteps.push({ vtep: member.gateway, weight: m.weight });
    }
    return { name: g.name, generation: 0, vni: g.vni, vteps, macs: best[1] };
  };

  /** Places the spec's version of a group, or, when it cannot be written, its last good one (see header). */
  const addGroup = (fabric: FabricSettings, g: SpecGroup): void => {
    const placement = place(fabric, g);
    const { problem, message } = placement;
    if (problem === undefined || problem === 'LocalOnly' || problem === 'MacConflict') {
      lastGood.set(g.name, g);
      return;
    }
    if (!KEEPS_LAST_GOOD.has(problem)) return;
    const good = lastGood.get(g.name) ?? adoptFromKernel(fabric, g);
    if (good === undefined || good === g) return;
    removeGroup(g.name);
    const kept = place(fabric, good);
    const what = good.generation > 0 ? `generation ${good.generation}` : 'what the kernel holds for it';
    if (kept.problem === undefined || kept.problem === 'LocalOnly' || kept.problem === 'MacConflict') {
      kept.message = `${message}; keeping ${what}, its last good version${kept.problem === 'MacConflict' ? ` (${kept.message})` : ''}`;
      kept.keptGeneration = good.generation;
    } else {
      kept.message = `${message}; its last good version (${what}) cannot be written either: ${kept.message}`;
    }
    kept.problem = problem;
  };

  /** Flood entries no placed group wants any more leave the list; one the kernel holds is retired (deleted by kernelctrl). */
  const settleFlood = (): void => {
    for (const key of floodMaybeGone) {
      if (floodUsers.has(key)) continue;
      const e = data.flood.get(key);
      if (!e) continue;
      data.flood.delete(key);
      if (fdb.data.byKey.has(key)) data.floodRetired.set(key, e);
      data.tracked.floodChanged = true;
      data.tracked.changedKeys.fdb.add(key);
    }
    floodMaybeGone.clear();
  };

  const computeConflicts = (fabric: FabricSettings): void => {
    data.conflicts = [...nexthops.data.byId.values()].filter((nh) => isConflictingNexthop(nh, fabric)).map((nh) => nh.id).sort((a, b) => a - b);
  };

  const recompute = (): 'updated' => {
    for (const name of [...contributions.keys()]) removeGroup(name);
    data.nexthops.clear();
    data.groups.clear();
    data.fdb.clear();
    // Ids adopted and versions kept after a restart rest on what the kernel holds: nothing is placed before it is read.
    const spec = nexthops.data.kernelRead ? nodeState.data.spec : undefined;
    if (spec) {
      // Forget assignments of groups that left the spec, so their ids can be reused.
      const groups = nodeState.data.groups;
      for (const name of [...groupIds.keys()]) if (!groups.has(name)) forgetId(groupIds, name);
      for (const name of [...lastGood.keys()]) if (!groups.has(name)) lastGood.delete(name);
      // VTEPs whose nexthop ids stay assigned: those of the spec, and of the versions kept (last good).
      const ips = new Set<string>();
      for (const g of groups.values()) for (const v of g.vteps) ips.add(v.vtep);
      for (const g of lastGood.values()) for (const v of g.vteps) ips.add(v.vtep);
      for (const ip of [...vtepIds.keys()]) if (!ips.has(ip)) forgetId(vtepIds, ip);
      computeConflicts(spec.fabric);
      computeContested(spec.fabric, groups.values());
      for (const g of sortedGroups(groups.values())) addGroup(spec.fabric, g);
    }
    settleFlood();
    data.tracked.full = true;
    return 'updated';
  };

  const onNodeState = (): HandlerResult => {
    const spec = nodeState.data.spec;
    if (!nexthops.data.kernelRead) return 'unchanged';
    if (!spec || nodeState.data.tracked.fabricChanged) return 'unhandled';
    const byName = nodeState.data.groups;
    const changed = [...nodeState.data.tracked.changedGroups];
    // MAC conflicts involve several groups: any change near one recomputes.
    if (contested.size > 0) return 'unhandled';
    // A MAC a changed group claims that another group holds, or that two changed groups claim: a new conflict.
    const claimedNow = new Map<string, string>();
    for (const name of changed) {
      const g = byName.get(name) && claimView(byName.get(name)!);
      if (!g) continue;
      const home = fdbHome(spec.fabric, links.data.byName, g.vni);
      if (home.ifindex === undefined) continue;
      for (const mac of g.macs) {
        const key = fdbKey({ ifindex: home.ifindex, mac: mac.toLowerCase(), vlan: 0, vni: home.srcVni });
        const owner = fdbOwner.get(key);
        if (owner !== undefined && owner !== name) return 'unhandled';
        const other = claimedNow.get(key);
        if (other !== undefined && other !== name) return 'unhandled';
        claimedNow.set(key, name);
      }
    }
    // VTEPs the changed groups used: their nexthop ids are forgotten if no group uses them afterwards.
    const ips = new Set(changed.flatMap((name) => contributions.get(name)?.vteps ?? []));
    for (const name of changed) {
      removeGroup(name);
      if (!byName.has(name)) {
        forgetId(groupIds, name);
        lastGood.delete(name);
      }
    }
    // Re-add in name order so id allocation does not depend on event order.
    for (const name of changed.sort()) {
      const g = byName.get(name);
      if (g) addGroup(spec.fabric, g);
    }
    for (const ip of ips) if (!vtepUsers.has(ip)) forgetId(vtepIds, ip);
    settleFlood();
    return data.tracked.changedGroups.size > 0 || data.tracked.floodChanged ? 'updated' : 'unchanged';
  };

  const onLinks = (): HandlerResult => {
    const spec = nodeState.data.spec;
    if (!spec || !nexthops.data.kernelRead) return 'unchanged';
    const names = new Set([...nodeState.data.vnis.keys()].map((vni) => fdbHome(spec.fabric, links.data.byName, vni).device));
    for (const ifindex of links.data.tracked.changed) {
      const link = links.data.byIndex.get(ifindex);
      if (link && names.has(link.name)) return 'unhandled';
    }
    for (const p of data.placements.values()) {
      const link = p.ifindex === undefined ? undefined : links.data.byIndex.get(p.ifindex);
      if (p.ifindex !== undefined && link?.name !== p.device) return 'unhandled';
    }
    return 'unchanged';
  };

  const onNexthops = (): HandlerResult => {
    if (nexthops.data.tracked.kernelReadNow) return 'unhandled';
    const spec = nodeState.data.spec;
    if (!spec || !nexthops.data.kernelRead) return 'unchanged';
    const range = spec.fabric.kernel.nexthopIdRange;
    for (const id of nexthops.data.tracked.changed) {
      const nh = nexthops.data.byId.get(id);
      // Someone else took (or released) an id in our range: re-plan.
      const foreign = nh !== undefined && isConflictingNexthop(nh, spec.fabric);
      const wasConflict = data.conflicts.includes(id);
      if (inRange(id, range) && foreign !== wasConflict) return 'unhandled';
    }
    return 'unchanged';
  };

  /** Retired flood entries the kernel no longer holds are forgotten (kernelctrl deleted them, or someone else did). */
  const onFdb = (): HandlerResult => {
    if (data.floodRetired.size === 0) return 'unchanged';
    let forgot = false;
    for (const key of fdb.data.tracked.changed) {
      if (data.floodRetired.has(key) && !fdb.data.byKey.has(key)) forgot = data.floodRetired.delete(key);
    }
    return forgot ? 'updated' : 'unchanged';
  };

  return {
    name: 'kernelDesired',
    inputs: [
      { node: nodeState, handler: onNodeState },
      { node: links, handler: onLinks },
      { node: nexthops, handler: onNexthops },
      { node: fdb, handler: onFdb },
    ],
    data,
    recompute,
    clearTracked() {
      data.tracked.full = false;
      data.tracked.changedGroups.clear();
      data.tracked.floodChanged = false;
      data.tracked.changedKeys.nexthops.clear();
      data.tracked.changedKeys.fdb.clear();
    },
  };
}

function sortedGroups(groups: Iterable<SpecGroup>): SpecGroup[] {
  return [...groups].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
