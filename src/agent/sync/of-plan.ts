/**
 * The OVS sync plan: the difference between ofDesired and what the bridge
 * holds of ours (flows of the fabric cookie, groups inside groupIdRange),
 * as one ordered list of changes for a single atomic, ordered bundle:
 *
 *   group adds, group modifies (in place: a weight or member change keeps
 *   the id, so the flows using it are untouched), flow adds and modifies,
 *   flow deletes, group deletes.
 *
 * Groups land before the flows that use them; flows go before the groups
 * they used (OVS deletes the flows of a deleted group itself, but the
 * order keeps each step valid on its own).
 */
import type { OfFlow, OfGroup } from '../model.js';
import { flowBody, sameGroup } from '../openflow-text.js';

export type OfChange =
  | { kind: 'group'; command: 'add' | 'modify' | 'delete'; group: OfGroup }
  | { kind: 'flow'; command: 'add' | 'modifyStrict' | 'deleteStrict'; key: string; flow: OfFlow };

export interface OfState {
  groups: Map<number, OfGroup>;
  flows: Map<string, OfFlow>;
}

export interface OfScope {
  groups: Iterable<number>;
  flows: Iterable<string>;
}

/**
 * Plans the changes. With a scope (the tracked changes of ofDesired), only
 * those keys are compared; without one, everything is (after a (re)connect,
 * a full recompute, or an audit).
 */
export function planOfSync(desired: OfState, installed: OfState, scope?: OfScope): OfChange[] {
  const groupIds = scope ? new Set(scope.groups) : new Set([...desired.groups.keys(), ...installed.groups.keys()]);
  const flowKeys = scope ? new Set(scope.flows) : new Set([...desired.flows.keys(), ...installed.flows.keys()]);
  const groupAdds: OfChange[] = [];
  const groupMods: OfChange[] = [];
  const groupDels: OfChange[] = [];
  const flowSets: OfChange[] = [];
  const flowDels: OfChange[] = [];
  for (const id of [...groupIds].sort((a, b) => a - b)) {
    const want = desired.groups.get(id);
    const have = installed.groups.get(id);
    if (want && !have) groupAdds.push({ kind: 'group', command: 'add', group: want });
    else if (want && have && !sameGroup(want, have)) groupMods.push({ kind: 'group', command: 'modify', group: want });
    else if (!want && have) groupDels.push({ kind: 'group', command: 'delete', group: have });
  }
  for (const key of [...flowKeys].sort()) {
    const want = desired.flows.get(key);
    const have = installed.flows.get(key);
    if (want && !have) flowSets.push({ kind: 'flow', command: 'add', key, flow: want });
    else if (want && have && flowBody(want) !== flowBody(have)) {
      // MODIFY_STRICT keeps the flow's counters and duration but cannot change
      // its cookie; a new cookie (another nhid) needs an ADD, which replaces
      // the flow with the same match and priority.
      flowSets.push({ kind: 'flow', command: want.cookie === have.cookie ? 'modifyStrict' : 'add', key, flow: want });
    } else if (!want && have) flowDels.push({ kind: 'flow', command: 'deleteStrict', key, flow: have });
  }
  return [...groupAdds, ...groupMods, ...flowSets, ...flowDels, ...groupDels];
}

/** The bridge's state after the changes were committed. */
export function applyOfChanges(state: OfState, changes: readonly OfChange[]): void {
  for (const c of changes) {
    if (c.kind === 'group') {
      if (c.command === 'delete') {
        state.groups.delete(c.group.groupId);
        // OVS removes the flows that pointed at a deleted group.
        for (const [key, flow] of state.flows) if (flow.actions.some((a) => a.type === 'group' && a.groupId === c.group.groupId)) state.flows.delete(key);
      } else {
        state.groups.set(c.group.groupId, c.group);
      }
    } else if (c.command === 'deleteStrict') {
      state.flows.delete(c.key);
    } else {
      state.flows.set(c.key, c.flow);
    }
  }
}
