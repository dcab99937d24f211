/**
 * Assembles the VtepNodeState status (DESIGN §3, §3.1) from the engine's
 * status node and the sync layers' facts: conditions Ready, KernelSynced,
 * OvsConnected, OvsSynced, DataplaneDrift, Degraded; per-group state;
 * learned counts. Condition transition times are kept while a condition's
 * status holds.
 *
 * Degraded says what Ready alone would hide: groups refused or held at
 * their last good version (Invalid), and ids that ran out (a group or a VNI
 * without its kernel or OpenFlow group). Ready keeps saying whether the
 * node applied what it can — traffic of the other groups flows — and its
 * message points at Degraded.
 */
import type { Condition, GroupDetail, NodeGroupStatus, VtepNodeStateStatus } from '../api/index.js';
import type { GroupReport, StatusData } from './engine/nodes/status.js';

export interface SyncFacts {
  generation: number | undefined;
  specError: string | undefined;
  kernelManaged: boolean;
  kernelSynced: boolean;
  kernelMessage: string;
  ovsConnected: boolean;
  ovsMessage: string;
  ovsSynced: boolean;
  ovsSyncMessage: string;
  /** Why the tunnel port is unusable, if it is. */
  tunnelProblem?: string | undefined;
  drift: { found: boolean; message: string };
  lastSyncTime: Date | undefined;
}

export const CONDITION_TYPES = ['Ready', 'KernelSynced', 'OvsConnected', 'OvsSynced', 'DataplaneDrift', 'Degraded'] as const;

/** One group's status, from its report and the controllers' facts; a group not Programmed keeps the generation it had live. */
export function groupStatus(g: GroupReport, facts: GroupFacts, previousApplied: number | undefined): NodeGroupStatus {
  const base = {
    name: g.name,
    // 0: not known (a VtepGroup that could not be read, with nothing kept).
    ...(g.vni > 0 ? { vni: g.vni } : {}),
    ...(g.nexthopGroupId !== undefined ? { nexthopGroupId: g.nexthopGroupId } : {}),
    ...(g.ofGroupId !== undefined ? { ofGroupId: g.ofGroupId } : {}),
    paths: g.paths,
    ...(g.droppedPaths.length > 0 ? { droppedPaths: g.droppedPaths } : {}),
    macs: g.macs,
  };
  if (g.invalid !== undefined) {
    // A kept last good version is live: its generation is what is applied.
    const applied = g.keptGeneration !== undefined && g.keptGeneration > 0 ? g.keptGeneration : previousApplied;
    return withApplied({ ...base, state: 'Invalid' as const, message: `${g.invalid}: ${g.message}`.slice(0, 1024) }, applied);
  }
  const kernelOk = g.kernelApplied || !facts.kernelManaged;
  if (kernelOk && g.ovsPlanned && facts.ovsConnected && facts.ovsSynced) {
    return { ...base, appliedGeneration: g.generation, state: 'Programmed' as const, message: g.note ?? '' };
  }
  const why = !facts.kernelManaged && g.nexthopGroupId === undefined
    ? 'kernel.manage is off: the group is not written to the kernel'
    : !kernelOk
      ? `kernel not in sync yet${facts.kernelMessage ? `: ${facts.kernelMessage}` : ''}`
      : !facts.ovsConnected
        ? `Open vSwitch not connected: ${facts.ovsMessage}`
        : !g.ovsPlanned
          ? facts.tunnelProblem
            ? `OVS tunnel port unusable: ${facts.tunnelProblem}`
            : 'waiting for the OVS tunnel port and group id'
          : `OVS not in sync yet${facts.ovsSyncMessage ? `: ${facts.ovsSyncMessage}` : ''}`;
  return withApplied({ ...base, state: 'Pending' as const, message: why.slice(0, 1024) }, previousApplied);
}

/** The facts a group's status reads: when one of them changes, every group's status is rebuilt. */
export type GroupFacts = Pick<SyncFacts, 'kernelManaged' | 'kernelMessage' | 'ovsConnected' | 'ovsMessage' | 'ovsSynced' | 'ovsSyncMessage' | 'tunnelProblem'>;

export function groupFactsOf(f: GroupFacts): GroupFacts {
  return { kernelManaged: f.kernelManaged, kernelMessage: f.kernelMessage, ovsConnected: f.ovsConnected, ovsMessage: f.ovsMessage, ovsSynced: f.ovsSynced, ovsSyncMessage: f.ovsSyncMessage, tunnelProblem: f.tunnelProblem };
}

/** The whole status from every report at once (tests, and the first status). */
export function buildStatus(report: Pick<StatusData, 'groups' | 'flood' | 'local' | 'learned' | 'exhaustion'>, facts: SyncFacts, previous: VtepNodeStateStatus | undefined, now: Date): VtepNodeStateStatus {
  const applied = new Map((previous?.groups ?? []).map((g) => [g.name, g.appliedGeneration]));
  const groups = [...report.groups.values()].map((g) => groupStatus(g, facts, applied.get(g.name)));
  return assembleStatus(groups, report, facts, previous, now);
}

/**
 * Conditions, summary and the per-VNI parts around the groups' statuses.
 * `listing`: how the groups are listed (compact detail: Programmed ones in
 * short form, status-size.ts); counts and conditions come from `groups`.
 */
export function assembleStatus(
  groups: NodeGroupStatus[],
  report: Pick<StatusData, 'flood' | 'local' | 'learned' | 'exhaustion'>,
  facts: SyncFacts,
  previous: VtepNodeStateStatus | undefined,
  now: Date,
  listing: { listed: NodeGroupStatus[]; detail: GroupDetail } = { listed: groups, detail: 'Full' },
): VtepNodeStateStatus {
  const programmed = groups.filter((g) => g.state === 'Programmed');
  const invalidLearned = Object.values(report.learned.invalid).reduce((a, b) => a + (b ?? 0), 0);
  const kernelCond = facts.kernelManaged
    ? cond('KernelSynced', facts.kernelSynced, facts.kernelSynced ? 'Synced' : 'NotSynced', facts.kernelMessage)
    : cond('KernelSynced', true, 'NotManaged', 'kernel.manage is off: the agent only mirrors kernel state');
  const ovsConnected = cond('OvsConnected', facts.ovsConnected, facts.ovsConnected ? 'Connected' : 'Unreachable', facts.ovsMessage);
  const ovsSynced = cond('OvsSynced', facts.ovsConnected && facts.ovsSynced, facts.ovsConnected && facts.ovsSynced ? 'Synced' : 'NotSynced', facts.ovsSyncMessage);
  const drift = cond('DataplaneDrift', facts.drift.found, facts.drift.found ? 'DriftFound' : 'NoDrift', facts.drift.message);
  const degraded = degradedCondition(groups, report);
  const notReady = [kernelCond, ovsConnected, ovsSynced].find((c) => c.status !== 'True');
  const pending = groups.filter((g) => g.state === 'Pending');
  const ready = facts.specError !== undefined
    ? cond('Ready', false, 'StateRejected', facts.specError)
    : facts.generation === undefined
      ? cond('Ready', false, 'NoState', 'no desired state yet')
      : notReady
        ? cond('Ready', false, notReady.type === 'KernelSynced' ? 'KernelNotSynced' : notReady.type === 'OvsConnected' ? 'OvsUnreachable' : 'OvsNotSynced', notReady.message)
        : pending.length > 0
          ? cond('Ready', false, 'GroupsPending', `${pending.length} group(s) pending, e.g. ${pending[0]!.name}: ${pending[0]!.message ?? ''}`)
          : cond('Ready', true, 'Synced', degraded.status === 'True' ? `synced, degraded (${degraded.reason}): see the Degraded condition` : '');

  const conditions: Condition[] = [ready, kernelCond, ovsConnected, ovsSynced, drift, degraded].map((c) => {
    const old = previous?.conditions?.find((p) => p.type === c.type);
    const lastTransitionTime = old && old.status === c.status ? old.lastTransitionTime : now.toISOString().replace(/\.\d{3}Z$/, 'Z');
    return { ...c, lastTransitionTime, ...(facts.generation !== undefined ? { observedGeneration: facts.generation } : {}) } as Condition;
  });

  return {
    ...(facts.generation !== undefined ? { observedGeneration: facts.generation } : {}),
    conditions,
    summary: {
      groups: groups.length,
      paths: programmed.reduce((n, g) => n + (g.paths?.length ?? 0), 0),
      macs: programmed.reduce((n, g) => n + (g.macs ?? 0), 0),
      invalid: groups.filter((g) => g.state === 'Invalid').length + invalidLearned,
    },
    groups: listing.listed,
    groupDetail: listing.detail,
    learned: { ecmp: report.learned.ecmp, singlePath: report.learned.singlePath, invalid: { ...report.learned.invalid } },
    ...(report.flood.length > 0 ? { flood: report.flood.map((f) => ({ ...f, ...(f.message !== undefined ? { message: f.message.slice(0, 1024) } : {}) })) } : {}),
    ...(report.local.length > 0 ? { local: report.local.map((l) => ({ ...l })) } : {}),
    ...(facts.lastSyncTime ? { lastSyncTime: facts.lastSyncTime.toISOString().replace(/\.\d{3}Z$/, 'Z') } : {}),
  };
}

/**
 * Degraded: True while an id range is exhausted (IdRangeExhausted: a group
 * or a VNI lacks its kernel nexthop group, OpenFlow select group or flood
 * group) or groups are Invalid (GroupsInvalid, e.g. a spec kept at its last
 * good version, a MAC conflict).
 */
function degradedCondition(groups: readonly NodeGroupStatus[], report: Pick<StatusData, 'learned' | 'exhaustion'>) {
  const { nexthopGroups, selectGroups, floodVnis } = report.exhaustion;
  if (nexthopGroups.length > 0 || selectGroups.length > 0 || floodVnis.length > 0) {
    const learnedExhausted = report.learned.invalid['GroupIdRangeExhausted'] ?? 0;
    const ownSelect = groups.filter((g) => g.state === 'Invalid' && g.message?.startsWith('GroupIdRangeExhausted')).length;
    const parts: string[] = [];
    if (nexthopGroups.length > 0) parts.push(`kernel.nexthopIdRange: ${nexthopGroups.length} group(s) without a kernel nexthop id (${list(nexthopGroups)})`);
    if (selectGroups.length > 0) {
      const mirrored = learnedExhausted > 0 ? `, ${learnedExhausted} mirrored MAC(s) without a flow` : '';
      parts.push(`ovs.groupIdRange: ${selectGroups.length} kernel nexthop group(s) without an OpenFlow select group (${ownSelect} of this node's groups${mirrored})`);
    }
    if (floodVnis.length > 0) parts.push(`ovs.groupIdRange: VNI ${list(floodVnis.map(String))} without a flood group`);
    return cond('Degraded', true, 'IdRangeExhausted', `id range exhausted: ${parts.join('; ')}`);
  }
  const invalid = groups.filter((g) => g.state === 'Invalid');
  if (invalid.length > 0) {
    return cond('Degraded', true, 'GroupsInvalid', `${invalid.length} group(s) Invalid: ${list(invalid.map((g) => `${g.name} (${g.message ?? ''})`), 3)}`);
  }
  return cond('Degraded', false, 'AsExpected', '');
}

function list(items: readonly string[], max = 5): string {
  return items.length <= max ? items.join(', ') : `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}

function withApplied(g: NodeGroupStatus, applied: number | undefined): NodeGroupStatus {
  return applied === undefined ? g : { ...g, appliedGeneration: applied };
}

function cond(type: string, ok: boolean, reason: string, message: string) {
  return { type, status: ok ? 'True' : 'False', reason, message: message.slice(0, 32768) };
}
