/**
 * Node status rolled up into VtepGroup and EvpnFabric status.
 *
 * A node counts as ready for a group only when its VtepNodeState status
 * reports that group `Programmed` at the group's current generation
 * (`appliedGeneration`), so READY `3/3` means "this exact version is live on
 * three nodes", and bumping the group drops it to `0/3` until the agents
 * report again. The nodes a group applies to (the denominator) come from the
 * plan (planGroup: the membership rule the agents apply to themselves).
 *
 * What a node refuses — a MAC another group on that node claims too, ids its
 * ranges no longer have, VTEPs it cannot use — its agent reports as the
 * group's state `Invalid` with a message that starts with the reason
 * (`MacConflict: ...`); the group is Degraded while any node says so, with
 * how many nodes, which, and the first reasons. A node counts as ready for
 * its fabric when its agent has observed the latest spec
 * (`status.observedGeneration` = the object's generation), says
 * `Ready=True`, and the spec it observed is the one the operator wants now.
 * A node whose agent stopped reporting (its heartbeat, see liveness.ts)
 * counts as ready for nothing, whatever its status says.
 */
import { findCondition, listForMessage, mergeConditions, type ConditionInput } from './conditions.js';
import { nodeGroupOf } from '../api/membership.js';
import type { EvpnFabricStatus, VtepGroupStatus, VtepNodeState, VtepNodeStateSpec } from './model.js';
import type { GroupReport } from './node-reports.js';
import type { FabricPlan, GroupPlan } from './plan.js';
import { containsDesired } from './compare.js';

export type StateLookup = (node: string) => VtepNodeState | undefined;
/** What `node` last reported about `group` (NodeReports.report). */
export type ReportLookup = (node: string, group: string) => GroupReport | undefined;
/** Whether a node's agent is alive (renews its heartbeat); everyone, when not given. */
export type ReportingLookup = (node: string) => boolean;
const everyoneReports: ReportingLookup = () => true;

/** A node's refusal of a group: the reason its agent put first in the message, and the rest. */
interface Refusal {
  node: string;
  reason: string;
  detail: string;
}

/** `MacConflict: MAC ... withheld` → reason MacConflict; a message without one is `Invalid`. */
function refusalOf(node: string, message: string | undefined): Refusal {
  const m = /^([A-Z][A-Za-z0-9]*): ?([\s\S]*)$/.exec(message ?? '');
  return m ? { node, reason: m[1]!, detail: m[2]! } : { node, reason: 'Invalid', detail: message ?? '' };
}

/**
 * "3 of 100 node(s) report the group Invalid: MacConflict on 2 (node-a, node-b): MAC ...; IdRangeExhausted on 1 (node-c): ..."
 * and the reason most nodes give (the condition's reason).
 */
function describeRefusals(refusals: readonly Refusal[], total: number): { reason: string; message: string } {
  const byReason = new Map<string, Refusal[]>();
  for (const r of refusals) {
    const list = byReason.get(r.reason);
    if (list) list.push(r);
    else byReason.set(r.reason, [r]);
  }
  const ranked = [...byReason.values()].sort((a, b) => b.length - a.length);
  const parts = ranked.slice(0, 3).map((rs) => `${rs[0]!.reason} on ${rs.length} (${listForMessage(rs.map((r) => r.node), 3)})${rs[0]!.detail ? `: ${rs[0]!.detail}` : ''}`);
  const more = ranked.length > 3 ? `; and ${ranked.length - 3} other reason(s)` : '';
  return { reason: ranked[0]![0]!.reason, message: `${refusals.length} of ${total} node(s) report the group Invalid: ${parts.join('; ')}${more}` };
}

export function groupStatus(
  plan: GroupPlan,
  lookup: ReportLookup,
  previous: VtepGroupStatus | undefined,
  now: Date,
  reporting: ReportingLookup = everyoneReports,
): VtepGroupStatus {
  const name = plan.group.metadata.name;
  const generation = plan.group.metadata.generation ?? 0;
  const total = plan.nodes.length;
  let ready = 0;
  const refusals: Refusal[] = [];
  const silent: string[] = [];
  for (const node of plan.nodes) {
    if (!reporting(node)) {
      silent.push(node);
      continue;
    }
    const r = lookup(node, name);
    if (r?.state === 'Programmed' && r.appliedGeneration === generation) ready++;
    // Whatever generation it names: Invalid is the node's latest word on the
    // group (a refused version keeps the last good one's appliedGeneration).
    else if (r?.state === 'Invalid') refusals.push(refusalOf(node, r.message));
  }

  const conditions: ConditionInput[] = [];
  const problem = plan.problems[0];
  const progress = `programmed on ${ready} of ${total} node(s) at generation ${generation}`;
  if (problem?.reason === 'FabricNotFound') {
    conditions.push({ type: 'Ready', status: 'False', reason: problem.reason, message: `applies to no node: ${problem.message}`, observedGeneration: generation });
  } else if (problem) {
    conditions.push({ type: 'Ready', status: 'False', reason: problem.reason, message: `${problem.message}; ${progress}`, observedGeneration: generation });
  } else if (total === 0) {
    conditions.push({ type: 'Ready', status: 'True', reason: 'NoNodesSelected', message: 'no node of the fabric matches the group', observedGeneration: generation });
  } else if (ready === total) {
    conditions.push({ type: 'Ready', status: 'True', reason: 'Programmed', message: `programmed on all ${total} node(s) at generation ${generation}`, observedGeneration: generation });
  } else if (silent.length > 0) {
    conditions.push({
      type: 'Ready',
      status: 'False',
      reason: 'AgentNotReporting',
      message: `${progress}; the agent of ${silent.length} node(s) is not reporting (${listForMessage(silent)})`,
      observedGeneration: generation,
    });
  } else if (ready + refusals.length === total) {
    conditions.push({ type: 'Ready', status: 'False', reason: 'NodesRejected', message: `${progress}; ${refusals.length} refuse it (see Degraded)`, observedGeneration: generation });
  } else {
    conditions.push({ type: 'Ready', status: 'False', reason: 'Progressing', message: progress, observedGeneration: generation });
  }
  if (problem) {
    conditions.push({ type: 'Degraded', status: 'True', reason: problem.reason, message: plan.problems.map((p) => p.message).join('; '), observedGeneration: generation });
  } else if (refusals.length > 0) {
    const { reason, message } = describeRefusals(refusals, total);
    conditions.push({ type: 'Degraded', status: 'True', reason, message, observedGeneration: generation });
  } else {
    conditions.push({ type: 'Degraded', status: 'False', reason: 'AsExpected', message: '', observedGeneration: generation });
  }
  return {
    observedGeneration: generation,
    nodesReady: ready,
    nodesTotal: total,
    ready: `${ready}/${total}`,
    vtepCount: plan.group.spec.vteps?.length ?? 0,
    macCount: nodeGroupOf(plan.group).macs.length,
    conditions: mergeConditions(previous?.conditions, conditions, now),
  };
}

/** Whether `node`'s agent has caught up with the spec the operator wants for it and calls itself Ready. */
export function nodeReady(state: VtepNodeState | undefined, desired: VtepNodeStateSpec | undefined): boolean {
  if (!state?.status || !desired || !state.spec) return false;
  if (state.status.observedGeneration === undefined || state.status.observedGeneration !== state.metadata.generation) return false;
  if (!containsDesired(state.spec, desired)) return false;
  return findCondition(state.status.conditions, 'Ready')?.status === 'True';
}

export function fabricStatus(
  plan: FabricPlan,
  lookup: StateLookup,
  desired: (node: string) => VtepNodeStateSpec | undefined,
  previous: EvpnFabricStatus | undefined,
  now: Date,
  reporting: ReportingLookup = everyoneReports,
): EvpnFabricStatus {
  const generation = plan.fabric.metadata.generation ?? 0;
  // Nodes without a usable address are selected too: they count against READY.
  const unusable = plan.problems.filter((p) => p.reason !== 'NodeClaimedByOtherFabric');
  const selected = plan.nodes.length + unusable.length;
  const silent = plan.nodes.filter((n) => !reporting(n));
  const ready = plan.nodes.filter((n) => reporting(n) && nodeReady(lookup(n), desired(n))).length;

  const conditions: ConditionInput[] = [];
  if (selected === 0) {
    conditions.push({ type: 'Ready', status: 'True', reason: 'NoNodesSelected', message: 'the fabric selects no node', observedGeneration: generation });
  } else if (ready === selected) {
    conditions.push({ type: 'Ready', status: 'True', reason: 'AllNodesReady', message: `all ${selected} node(s) ready`, observedGeneration: generation });
  } else {
    const why = silent.length > 0 ? `; the agent of ${silent.length} node(s) is not reporting (${listForMessage(silent)})` : '';
    conditions.push({ type: 'Ready', status: 'False', reason: 'NodesNotReady', message: `${ready} of ${selected} node(s) ready${why}`, observedGeneration: generation });
  }
  if (plan.problems.length > 0) {
    const reasons = [...new Set(plan.problems.map((p) => p.reason))];
    conditions.push({
      type: 'Degraded',
      status: 'True',
      reason: reasons[0]!,
      message: listForMessage(plan.problems.map((p) => p.message), 10),
      observedGeneration: generation,
    });
  } else {
    conditions.push({ type: 'Degraded', status: 'False', reason: 'AsExpected', message: '', observedGeneration: generation });
  }
  return {
    observedGeneration: generation,
    nodesTotal: selected,
    nodesReady: ready,
    ready: `${ready}/${selected}`,
    conditions: mergeConditions(previous?.conditions, conditions, now),
  };
}
