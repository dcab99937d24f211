/**
 * Node status rolled up into VtepGroup and EvpnFabric status.
 *
 * A node counts as ready for a group only when its VtepNodeState status
 * reports that group `Programmed` at the group's current generation
 * (`appliedGeneration`), so READY `3/3` means "this exact version is live on
 * three nodes", and bumping the group drops it to `0/3` until the agents
 * report again. A node counts as ready for its fabric when its agent has
 * observed the latest spec (`status.observedGeneration` = the object's
 * generation), says `Ready=True`, and the spec it observed is the one the
 * operator wants now. A node whose agent stopped reporting (its heartbeat,
 * see liveness.ts) counts as ready for nothing, whatever its status says.
 */
import { findCondition, listForMessage, mergeConditions, type ConditionInput } from './conditions.js';
import type { EvpnFabricStatus, VtepGroupStatus, VtepNodeState, VtepNodeStateSpec } from './model.js';
import type { FabricPlan, GroupPlan } from './plan.js';
import { containsDesired } from './compare.js';
import { describeSpecTooLarge } from './spec-size.js';

export type StateLookup = (node: string) => VtepNodeState | undefined;
/** Whether a node's agent is alive (renews its heartbeat); everyone, when not given. */
export type ReportingLookup = (node: string) => boolean;
const everyoneReports: ReportingLookup = () => true;

export type NodeGroupReadiness = 'Programmed' | 'Pending' | 'Invalid';

/** How `node` reports `group` at generation `generation`. */
export function nodeGroupReadiness(state: VtepNodeState | undefined, group: string, generation: number): { state: NodeGroupReadiness; message?: string } {
  const entry = state?.status?.groups?.find((g) => g.name === group);
  if (!entry || entry.appliedGeneration !== generation) return { state: 'Pending' };
  if (entry.state === 'Programmed') return { state: 'Programmed' };
  if (entry.state === 'Invalid') return { state: 'Invalid', message: entry.message };
  return { state: 'Pending' };
}

export function groupStatus(
  plan: GroupPlan,
  lookup: StateLookup,
  previous: VtepGroupStatus | undefined,
  now: Date,
  reporting: ReportingLookup = everyoneReports,
): VtepGroupStatus {
  const generation = plan.group.metadata.generation ?? 0;
  const total = plan.nodes.length;
  let ready = 0;
  const invalid: string[] = [];
  const silent: string[] = [];
  let invalidMessage: string | undefined;
  if (plan.verdict.rendered) {
    for (const node of plan.nodes) {
      if (!reporting(node)) {
        silent.push(node);
        continue;
      }
      const r = nodeGroupReadiness(lookup(node), plan.group.metadata.name, generation);
      if (r.state === 'Programmed') ready++;
      else if (r.state === 'Invalid') {
        invalid.push(node);
        invalidMessage ??= r.message;
      }
    }
  }

  // Nodes whose spec is too large to store keep the one they have: the group
  // is held up where that one lacks its current generation.
  const blocked = plan.tooLarge.filter((p) => !lookup(p.node)?.spec?.groups.some((g) => g.name === plan.group.metadata.name && g.generation === generation));
  const conditions: ConditionInput[] = [];
  const problems = plan.verdict.problems;
  if (!plan.verdict.rendered) {
    const p = problems.find((x) => x.reason !== 'MacConflict') ?? problems[0]!;
    conditions.push({ type: 'Ready', status: 'False', reason: p.reason, message: `not rendered to any node: ${p.message}`, observedGeneration: generation });
  } else if (total === 0) {
    conditions.push({ type: 'Ready', status: 'True', reason: 'NoNodesSelected', message: 'no node of the fabric matches the group', observedGeneration: generation });
  } else if (ready === total) {
    conditions.push({ type: 'Ready', status: 'True', reason: 'Programmed', message: `programmed on all ${total} node(s) at generation ${generation}`, observedGeneration: generation });
  } else if (silent.length > 0) {
    conditions.push({
      type: 'Ready',
      status: 'False',
      reason: 'AgentNotReporting',
      message: `programmed on ${ready} of ${total} node(s) at generation ${generation}; the agent of ${silent.length} node(s) is not reporting (${listForMessage(silent)})`,
      observedGeneration: generation,
    });
  } else {
    conditions.push({ type: 'Ready', status: 'False', reason: 'Progressing', message: `programmed on ${ready} of ${total} node(s) at generation ${generation}`, observedGeneration: generation });
  }
  if (problems.length > 0) {
    conditions.push({
      type: 'Degraded',
      status: 'True',
      reason: problems[0]!.reason,
      message: problems.map((p) => p.message).join('; '),
      observedGeneration: generation,
    });
  } else if (blocked.length > 0) {
    conditions.push({
      type: 'Degraded',
      status: 'True',
      reason: 'SpecTooLarge',
      message: `generation ${generation} cannot reach ${blocked.length} node(s) (${listForMessage(blocked.map((p) => p.node))}): ${describeSpecTooLarge(blocked[0]!)}`,
      observedGeneration: generation,
    });
  } else if (invalid.length > 0) {
    conditions.push({
      type: 'Degraded',
      status: 'True',
      reason: 'NodesRejected',
      message: `${invalid.length} node(s) report the group Invalid (${listForMessage(invalid)})${invalidMessage ? `: ${invalidMessage}` : ''}`,
      observedGeneration: generation,
    });
  } else {
    conditions.push({ type: 'Degraded', status: 'False', reason: 'AsExpected', message: '', observedGeneration: generation });
  }
  return {
    observedGeneration: generation,
    nodesReady: ready,
    nodesTotal: total,
    ready: `${ready}/${total}`,
    vtepCount: plan.group.spec.vteps?.length ?? 0,
    macCount: plan.verdict.macs.length,
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
  const unusable = plan.problems.filter((p) => p.reason !== 'NodeClaimedByOtherFabric' && p.reason !== 'SpecTooLarge');
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
