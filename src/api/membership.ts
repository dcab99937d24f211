/**
 * Which VtepGroups apply to a node, and how a node carries one. The operator
 * (the denominator of a group's READY) and the agent (what it programs) both
 * decide it here, from the same objects, so the two never disagree about a
 * group's nodes. The fabric that serves a node is the operator's choice
 * (VtepNodeState spec.fabric); within it, a group applies to the nodes its
 * own nodeSelector picks.
 */
import type { LabelSelector } from './common.js';
import { selects } from './selector.js';
import type { NodeGroup } from './vtep-node-state.js';

/** The fields of a VtepGroup membership and rendering read (loosely typed: the operator's cache and the agent's both fit). */
export interface GroupObject {
  metadata: { name: string; generation?: number; deletionTimestamp?: string };
  spec: { fabric: string; vni: number; vteps?: { ip: string; weight?: number }[]; macs?: string[]; nodeSelector?: LabelSelector };
}

/** The group applies to a node of `fabric` carrying `nodeLabels`; a group being deleted applies nowhere. */
export function groupAppliesTo(group: GroupObject, fabric: string, nodeLabels: Record<string, string> | undefined): boolean {
  return group.metadata.deletionTimestamp === undefined && group.spec.fabric === fabric && selects(group.spec.nodeSelector, nodeLabels);
}

/** A group as a node carries it: weights defaulted, MACs lower-cased once each, stamped with its generation. */
export function nodeGroupOf(group: GroupObject): NodeGroup {
  return {
    name: group.metadata.name,
    generation: group.metadata.generation ?? 0,
    vni: group.spec.vni,
    vteps: (group.spec.vteps ?? []).map((v) => ({ ip: v.ip, weight: v.weight ?? 1 })),
    macs: [...new Set((group.spec.macs ?? []).map((m) => m.toLowerCase()))],
  };
}
