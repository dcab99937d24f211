/**
 * The operator's desired world, computed from its caches in one pure step:
 * which fabric each node belongs to, its local VTEP address, which groups
 * apply to it, and therefore the VtepNodeState spec it should have.
 *
 * A node belongs to at most one fabric (a VtepNodeState names one); when
 * several fabrics select it the oldest wins and the others report the node
 * as `NodeClaimedByOtherFabric`. A node selected by a fabric but without a
 * usable VTEP address gets no spec, and the fabric reports it. A node whose
 * spec would be too large to store keeps the spec it has, and the node, its
 * fabric and the groups it carries report `SpecTooLarge`.
 */
import { resolveFabric, type ResolvedFabric } from './fabric-settings.js';
import type { EvpnFabric, Node, NodeGroupSpec, VtepGroup, VtepNodeStateSpec } from './model.js';
import { selects } from '../api/selector.js';
import { checkSpecSize, describeSpecTooLarge, STORED_SIZE_BUDGET, type SpecTooLarge } from './spec-size.js';
import { byAge, validateGroups, type GroupVerdict } from './validate.js';
import { localVtepAddress } from './vtep-address.js';

export interface NodeProblem {
  node: string;
  fabric: string;
  /** SpecTooLarge: the node has a spec, too large to store; it keeps the one it has. */
  reason: 'VtepAddressMissing' | 'VtepAddressInvalid' | 'NodeClaimedByOtherFabric' | 'SpecTooLarge';
  message: string;
}

export interface FabricPlan {
  fabric: EvpnFabric;
  resolved: ResolvedFabric;
  /** Nodes assigned to this fabric (selected, not claimed by an older fabric), sorted. */
  nodes: string[];
  /** Selected nodes this fabric cannot serve, with why. */
  problems: NodeProblem[];
}

export interface GroupPlan {
  group: VtepGroup;
  verdict: GroupVerdict;
  /** Nodes of the group's fabric its selector picks, sorted: the denominator of READY. */
  nodes: string[];
  /** Nodes among them whose spec, with this group in it, is too large to store. */
  tooLarge: SpecTooLarge[];
}

export interface Plan {
  fabrics: Map<string, FabricPlan>;
  groups: Map<string, GroupPlan>;
  /** Desired VtepNodeState spec per node; nodes absent here must have none. */
  specs: Map<string, VtepNodeStateSpec>;
  /** The Node objects the specs were rendered for (owner references need their uid). */
  nodes: Map<string, Node>;
  /** Per-node problems, keyed by node name. */
  nodeProblems: Map<string, NodeProblem>;
  /** Nodes whose desired spec is too large to store: the operator does not write it (see spec-size.ts). */
  tooLarge: Map<string, SpecTooLarge>;
}

function fabricByAge(a: EvpnFabric, b: EvpnFabric): number {
  return byAge(a as unknown as VtepGroup, b as unknown as VtepGroup);
}

/** `specBudget`: bytes a node's stored VtepNodeState may reach (tests lower it). */
export function computePlan(fabricObjs: readonly EvpnFabric[], groupObjs: readonly VtepGroup[], nodeObjs: readonly Node[], specBudget = STORED_SIZE_BUDGET): Plan {
  const fabrics = new Map<string, FabricPlan>();
  const resolved = new Map<string, ResolvedFabric>();
  for (const f of [...fabricObjs].sort(fabricByAge)) {
    if (f.metadata.deletionTimestamp) continue;
    const r = resolveFabric(f);
    resolved.set(r.name, r);
    fabrics.set(r.name, { fabric: f, resolved: r, nodes: [], problems: [] });
  }

  const nodes = new Map<string, Node>();
  const nodeFabric = new Map<string, { fabric: FabricPlan; vtepIP: string }>();
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
      const address = localVtepAddress(node, fp.resolved);
      if (address.ok) {
        fp.nodes.push(name);
        nodeFabric.set(name, { fabric: fp, vtepIP: address.ip });
      } else {
        const problem: NodeProblem = { node: name, fabric: fp.resolved.name, reason: address.reason, message: address.message };
        fp.problems.push(problem);
        nodeProblems.set(name, problem);
      }
    }
  }

  const verdicts = validateGroups(
    groupObjs.filter((g) => !g.metadata.deletionTimestamp),
    resolved,
  );
  const groups = new Map<string, GroupPlan>();
  const specs = new Map<string, VtepNodeStateSpec>();
  for (const [name, { fabric, vtepIP }] of nodeFabric) {
    const r = fabric.resolved;
    specs.set(name, { fabric: r.name, localVtepIP: vtepIP, vxlan: r.vxlan, ovs: r.ovs, kernel: r.kernel, groupsFrom: 'Spec', groups: [] });
  }
  for (const g of [...groupObjs].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1))) {
    const verdict = verdicts.get(g.metadata.name);
    if (!verdict) continue; // being deleted
    const fp = fabrics.get(g.spec.fabric);
    const selected = fp ? fp.nodes.filter((n) => selects(g.spec.nodeSelector, nodes.get(n)?.metadata.labels)) : [];
    groups.set(g.metadata.name, { group: g, verdict, nodes: selected, tooLarge: [] });
    if (!verdict.rendered) continue;
    const rendered = renderGroup(g, verdict);
    for (const n of selected) specs.get(n)!.groups.push(rendered);
  }
  const tooLarge = new Map<string, SpecTooLarge>();
  for (const [name, spec] of specs) {
    const problem = checkSpecSize(name, spec, specBudget);
    if (!problem) continue;
    tooLarge.set(name, problem);
    const nodeProblem: NodeProblem = { node: name, fabric: spec.fabric, reason: 'SpecTooLarge', message: describeSpecTooLarge(problem) };
    fabrics.get(spec.fabric)!.problems.push(nodeProblem);
    nodeProblems.set(name, nodeProblem);
    for (const g of spec.groups) groups.get(g.name)!.tooLarge.push(problem);
  }
  return { fabrics, groups, specs, nodes, nodeProblems, tooLarge };
}

/** A group as a node's spec carries it: defaults resolved, MACs normalised, stamped with the generation. */
export function renderGroup(g: VtepGroup, verdict: GroupVerdict): NodeGroupSpec {
  return {
    name: g.metadata.name,
    generation: g.metadata.generation ?? 0,
    vni: g.spec.vni,
    vteps: (g.spec.vteps ?? []).map((v) => ({ ip: v.ip, weight: v.weight ?? 1 })),
    macs: verdict.macs,
  };
}
