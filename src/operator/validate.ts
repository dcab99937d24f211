/**
 * What the CRD schema cannot check because it needs a second object, the
 * group's fabric:
 *
 * - the fabric exists (`FabricNotFound`): agents take the VtepGroups of
 *   their own fabric only, so such a group applies to no node;
 * - every VTEP is an address of the fabric's family
 *   (`AddressFamilyMismatch`): every node of the fabric refuses the group
 *   (its agent checks the VTEPs against its own VTEP address) and keeps the
 *   version it last had, so the fault is told once here, for the group.
 *
 * Nothing here compares groups with each other. What depends on the set of
 * groups on one node — a MAC claimed by two groups in one VNI, ids running
 * out in the fabric's ranges — is decided by that node's agent, which
 * withholds the contested MACs from both groups and refuses a group that
 * gets no ids (a group that has ids keeps them); the operator rolls those
 * verdicts up from the nodes' status (status.ts). Groups that never share a
 * node never conflict.
 */
import { ipFamily } from '../api/net.js';
import { listForMessage } from './conditions.js';
import type { ResolvedFabric } from './fabric-settings.js';
import type { VtepGroup } from './model.js';

export type GroupProblemReason = 'FabricNotFound' | 'AddressFamilyMismatch';

export interface GroupProblem {
  reason: GroupProblemReason;
  message: string;
}

/** The group's problems as far as one object and its fabric show them; empty when there are none. */
export function groupProblems(group: VtepGroup, fabric: ResolvedFabric | undefined): GroupProblem[] {
  if (!fabric) return [{ reason: 'FabricNotFound', message: `EvpnFabric "${group.spec.fabric}" does not exist` }];
  const wrong = (group.spec.vteps ?? []).filter((v) => ipFamily(v.ip) !== fabric.addressFamily).map((v) => v.ip);
  if (wrong.length === 0) return [];
  return [{ reason: 'AddressFamilyMismatch', message: `VTEP ${listForMessage(wrong)} not ${fabric.addressFamily} as fabric ${fabric.name} requires` }];
}

/** Older first, then by name: which of two fabrics selecting one node serves it. */
export function byAge(a: { metadata: { name: string; creationTimestamp?: string } }, b: { metadata: { name: string; creationTimestamp?: string } }): number {
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
}
