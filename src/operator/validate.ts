/**
 * What the CRD schema cannot check because it needs more than one object:
 *
 * - the group's fabric exists (`FabricNotFound`);
 * - every VTEP is an address of the fabric's family (`AddressFamilyMismatch`);
 * - the fabric's OpenFlow group-id range and kernel nexthop-id range can hold
 *   every group (`GroupIdRangeExhausted`, `NexthopIdRangeExhausted`): older
 *   groups keep their place, newer ones wait, so creating a group never
 *   takes traffic away from one that works;
 * - no MAC is claimed by two groups in one VNI of a fabric (`MacConflict`):
 *   the kernel holds one FDB entry per MAC and VNI, so the operator cannot
 *   pick a winner. Both groups are Degraded and the contested MACs are
 *   withheld from both; their other MACs stay programmed.
 *
 * A group with any problem but `MacConflict` is not rendered to any node.
 */
import { ipFamily } from '../api/net.js';
import { listForMessage } from './conditions.js';
import type { ResolvedFabric } from './fabric-settings.js';
import type { VtepGroup } from './model.js';

export type GroupProblemReason =
  | 'FabricNotFound'
  | 'AddressFamilyMismatch'
  | 'GroupIdRangeExhausted'
  | 'NexthopIdRangeExhausted'
  | 'MacConflict';

export interface GroupProblem {
  reason: GroupProblemReason;
  message: string;
}

export interface GroupVerdict {
  name: string;
  /** Rendered to the nodes it selects. */
  rendered: boolean;
  problems: GroupProblem[];
  /** The MACs rendered: the group's own, lowercased and deduplicated, minus contested ones. */
  macs: string[];
}

/** Older first, then by name: the order in which groups claim shared resources. */
export function byAge(a: VtepGroup, b: VtepGroup): number {
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
}

export function normalizeMacs(macs: readonly string[]): string[] {
  return [...new Set(macs.map((m) => m.toLowerCase()))];
}

export function validateGroups(groups: readonly VtepGroup[], fabrics: ReadonlyMap<string, ResolvedFabric>): Map<string, GroupVerdict> {
  const verdicts = new Map<string, GroupVerdict>();
  const ordered = [...groups].sort(byAge);
  for (const g of ordered) {
    verdicts.set(g.metadata.name, { name: g.metadata.name, rendered: true, problems: [], macs: normalizeMacs(g.spec.macs ?? []) });
  }
  const reject = (g: VtepGroup, problem: GroupProblem): void => {
    const v = verdicts.get(g.metadata.name)!;
    v.rendered = false;
    v.problems.push(problem);
  };

  for (const g of ordered) {
    const fabric = fabrics.get(g.spec.fabric);
    if (!fabric) {
      reject(g, { reason: 'FabricNotFound', message: `EvpnFabric "${g.spec.fabric}" does not exist` });
      continue;
    }
    const wrong = (g.spec.vteps ?? []).filter((v) => ipFamily(v.ip) !== fabric.addressFamily).map((v) => v.ip);
    if (wrong.length > 0) {
      reject(g, { reason: 'AddressFamilyMismatch', message: `VTEP ${listForMessage(wrong)} not ${fabric.addressFamily} as fabric ${fabric.name} requires` });
    }
  }

  checkIdRanges(ordered, fabrics, verdicts, reject);
  checkMacConflicts(ordered, verdicts);
  return verdicts;
}

/**
 * Per fabric, the agent needs one OpenFlow select group per VtepGroup plus one
 * flood (`all`) group per VNI (DESIGN 4), and one kernel nexthop group per
 * VtepGroup plus one fdb nexthop per distinct VTEP IP (shared between groups).
 * This counts fabric-wide, an upper bound of any node's needs, so a group
 * that fits is guaranteed ids on every node.
 */
function checkIdRanges(
  ordered: readonly VtepGroup[],
  fabrics: ReadonlyMap<string, ResolvedFabric>,
  verdicts: Map<string, GroupVerdict>,
  reject: (g: VtepGroup, p: GroupProblem) => void,
): void {
  const usage = new Map<string, { ofGroups: number; vnis: Set<number>; nexthopGroups: number; vtepIps: Set<string> }>();
  for (const g of ordered) {
    if (!verdicts.get(g.metadata.name)!.rendered) continue;
    const fabric = fabrics.get(g.spec.fabric)!;
    let u = usage.get(fabric.name);
    if (!u) usage.set(fabric.name, (u = { ofGroups: 0, vnis: new Set(), nexthopGroups: 0, vtepIps: new Set() }));
    const ofNeed = u.ofGroups + 1 + u.vnis.size + (u.vnis.has(g.spec.vni) ? 0 : 1);
    if (ofNeed > fabric.ovs.groupIdRange.size) {
      reject(g, {
        reason: 'GroupIdRangeExhausted',
        message: `fabric ${fabric.name} ovs.groupIdRange (size ${fabric.ovs.groupIdRange.size}) has no room for this group's OpenFlow groups; older groups keep theirs`,
      });
      continue;
    }
    const newIps = (g.spec.vteps ?? []).map((v) => v.ip).filter((ip) => !u.vtepIps.has(ip));
    const nhNeed = u.nexthopGroups + 1 + u.vtepIps.size + new Set(newIps).size;
    if (fabric.kernel.manage && nhNeed > fabric.kernel.nexthopIdRange.size) {
      reject(g, {
        reason: 'NexthopIdRangeExhausted',
        message: `fabric ${fabric.name} kernel.nexthopIdRange (size ${fabric.kernel.nexthopIdRange.size}) has no room for this group's nexthops; older groups keep theirs`,
      });
      continue;
    }
    u.ofGroups += 1;
    u.vnis.add(g.spec.vni);
    u.nexthopGroups += 1;
    for (const ip of newIps) u.vtepIps.add(ip);
  }
}

function checkMacConflicts(ordered: readonly VtepGroup[], verdicts: Map<string, GroupVerdict>): void {
  // fabric/vni/mac → groups claiming it (only groups that are rendered).
  const claims = new Map<string, string[]>();
  for (const g of ordered) {
    const v = verdicts.get(g.metadata.name)!;
    if (!v.rendered) continue;
    for (const mac of v.macs) {
      const key = `${g.spec.fabric}\u0000${g.spec.vni}\u0000${mac}`;
      const list = claims.get(key);
      if (list) list.push(g.metadata.name);
      else claims.set(key, [g.metadata.name]);
    }
  }
  const contested = new Map<string, Map<string, Set<string>>>(); // group → mac → other groups
  for (const [key, names] of claims) {
    if (names.length < 2) continue;
    const mac = key.split('\u0000')[2]!;
    for (const name of names) {
      let macs = contested.get(name);
      if (!macs) contested.set(name, (macs = new Map()));
      macs.set(mac, new Set(names.filter((n) => n !== name)));
    }
  }
  for (const g of ordered) {
    const macs = contested.get(g.metadata.name);
    if (!macs) continue;
    const v = verdicts.get(g.metadata.name)!;
    v.macs = v.macs.filter((m) => !macs.has(m));
    const details = [...macs].map(([mac, others]) => `${mac} (also in ${[...others].sort().join(', ')})`);
    v.problems.push({
      reason: 'MacConflict',
      message: `VNI ${g.spec.vni}: ${macs.size} MAC(s) claimed by more than one group, withheld from all of them: ${listForMessage(details)}`,
    });
  }
}
