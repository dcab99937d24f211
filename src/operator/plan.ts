/**
 * The operator's desired world, computed from its caches in pure steps.
 *
 * `computePlan` (fabrics and Nodes): which fabric serves each node, its
 * local VTEP address, and therefore the VtepNodeState spec it should have —
 * the fabric's settings resolved, `groupsFrom: VtepGroups` and no groups:
 * each agent reads its fabric's VtepGroups itself. No VtepGroup is an
 * input, so a group change never touches a node's spec.
 *
 * A node belongs to at most one fabric (a VtepNodeState names one); when
 * several fabrics select it the oldest wins and the others report the node
 * as `NodeClaimedByOtherFabric`. A node selected by a fabric but without a
 * usable VTEP address gets no spec, and the fabric reports it.
 *
 * `planGroup` (one VtepGroup against that plan): the nodes the group
 * applies to — the denominator of its READY — decided by the rule the
 * agents apply to themselves (src/api/membership.ts), and what the group's
 * fabric says about it (validate.ts).
 */
import { groupAppliesTo } from '../api/membership.js';
import { selects } from '../api/selector.js';
import { resolveFabric, type ResolvedFabric } from './fabric-settings.js';
import type { EvpnFabric, Node, VtepGroup, VtepNodeStateSpec } from './model.js';
import { byAge, groupProblems, type GroupProblem } from './validate.js';
import { localVtepAddress } from './vtep-address.js';

export interface NodeProblem {
  node: string;
  fabric: string;
  reason: 'VtepAddressMissing' | 'VtepAddressInvalid' | 'NodeClaimedByOtherFabric';
  message: string;
}

export interface FabricPlan {
  fabric: EvpnFabric;
  resolved: ResolvedFabric;
  /** Nodes assigned to this fabric (selected, not claimed by an older fabric, with a VTEP address), sorted. */
  nodes: string[];
  /** Selected nodes this fabric cannot serve, with why. */
  problems: NodeProblem[];
}

export interface Plan {
  fabrics: Map<string, FabricPlan>;
  /** Desired VtepNodeState spec per node; nodes absent here must have none. */
  specs: Map<string, VtepNodeStateSpec>;
  /** The Node objects the specs were rendered for (owner references need their uid, membership their labels). */
  nodes: Map<string, Node>;
  /** Per-node problems, keyed by node name. */
  nodeProblems: Map<string, NodeProblem>;
}

export interface GroupPlan {
  group: VtepGroup;
  /** What the group's fabric says about it (FabricNotFound, AddressFamilyMismatch); empty when fine. */
  problems: GroupProblem[];
  /** Nodes of the group's fabric the group applies to, sorted: the denominator of READY. */
  nodes: string[];
}

export function computePlan(fabricObjs: readonly EvpnFabric[], nodeObjs: readonly Node[]): Plan {
  const fabrics = new Map<string, FabricPlan>();
  for (const f of [...fabricObjs].sort(byAge)) {
    if (f.metadata.deletionTimestamp) continue;
    const r = resolveFabric(f);
    fabrics.set(r.name, { fabric: f, resolved: r, nodes: [], problems: [] });
  }

  const nodes = new Map<string, Node>();
  const specs = new Map<string, VtepNodeStateSpec>();
  const nodeProblems = new Map<string, NodeProblem>();
  for (const node of [...nodeObjs].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1))) {
    const name = node.metadata.name;
    nodes.set(name, node);
    if (node.metadata.deletionTimestamp) continue;
    let owner: FabricPlan | undefined;
    for (const fp of fabrics.values()) {
      if (!selects(fp.fabric.spec?.nodeSelector, node.metadata.labels)) continue;
      if (owner) {
        fp.problems.push({
          node: name,
          fabric: fp.resolved.name,
          reason: 'NodeClaimedByOtherFabric',
          message: `node ${name} is also selected by older fabric ${owner.resolved.name}, which serves it`,
        });
        continue;
      }
      owner = fp;
      const r = fp.resolved;
      const address = localVtepAddress(node, r);
      if (address.ok) {
        fp.nodes.push(name);
        specs.set(name, { fabric: r.name, localVtepIP: address.ip, vxlan: r.vxlan, ovs: r.ovs, kernel: r.kernel, groupsFrom: 'VtepGroups', groups: [] });
      } else {
        const problem: NodeProblem = { node: name, fabric: r.name, reason: address.reason, message: address.message };
        fp.problems.push(problem);
        nodeProblems.set(name, problem);
      }
    }
  }
  return { fabrics, specs, nodes, nodeProblems };
}

/** The group against `plan`: its problems and the nodes it applies to; undefined for a group being deleted. */
export function planGroup(group: VtepGroup, plan: Plan): GroupPlan | undefined {
  if (group.metadata.deletionTimestamp) return undefined;
  const fp = plan.fabrics.get(group.spec.fabric);
  const nodes = fp ? fp.nodes.filter((n) => groupAppliesTo(group, fp.resolved.name, plan.nodes.get(n)?.metadata.labels)) : [];
  return { group, problems: groupProblems(group, fp?.resolved), nodes };
}
