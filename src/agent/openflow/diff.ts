/**
 * The one OpenFlow diff: desired against installed (or installed against
 * what an audit read back), as an ordered list of changes for a single
 * atomic, ordered bundle:
 *
 *   group adds, group modifies (in place: a weight, member or flood-list
 *   change keeps the id, so the flows naming it are untouched), flow adds
 *   and modifies, flow deletes, group deletes.
 *
 * Groups land before the flows that name them; flows go before the groups
 * they named (OVS deletes the flows of a deleted group itself, but the
 * order keeps each step valid on its own). Select and `all` groups are one
 * kind of object here.
 *
 * Equality is structural, field by field: both sides hold addresses as the
 * kernel and Open vSwitch report them (one spelling), so no text is built.
 */
import type { OfAction, OfBucket, OfFlow, OfGroup, OfMatch } from '../model.js';
import type { OfChange } from './pipeline.js';
import { deepEqual } from '../../util/equal.js';

export interface OfState {
  groups: Map<number, OfGroup>;
  /** By flowKey (pipeline.ts). */
  flows: Map<string, OfFlow>;
}

export interface OfScope {
  groups: Iterable<number>;
  flows: Iterable<string>;
}

/**
 * The changes that turn `installed` into `desired`. With a scope (the
 * tracked changes of ofDesired) only those keys are compared; without one,
 * everything is (after a (re)connect, a full recompute, or an audit).
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
    else if (want && have && !sameFlow(want, have)) {
      // MODIFY_STRICT keeps the flow's counters and duration but cannot change
      // its cookie; a new cookie (another nhid) needs an ADD, which replaces
      // the flow with the same match and priority.
      flowSets.push({ kind: 'flow', command: want.cookie === have.cookie ? 'modifyStrict' : 'add', key, flow: want });
    } else if (!want && have) flowDels.push({ kind: 'flow', command: 'deleteStrict', key, flow: have });
  }
  return [...groupAdds, ...groupMods, ...flowSets, ...flowDels, ...groupDels];
}

export function sameGroup(a: OfGroup, b: OfGroup): boolean {
  if (a === b) return true;
  if (a.groupId !== b.groupId || a.type !== b.type || a.selectionMethod !== b.selectionMethod || a.foreign !== b.foreign || a.buckets.length !== b.buckets.length) return false;
  return a.buckets.every((x, i) => sameBucket(x, b.buckets[i]!));
}

function sameBucket(a: OfBucket, b: OfBucket): boolean {
  return a === b || (a.bucketId === b.bucketId && a.weight === b.weight && a.tunDst === b.tunDst && a.outPort === b.outPort);
}

/** Same cookie, match and instructions (the `native` copy of an installed flow is not compared). */
export function sameFlow(a: OfFlow, b: OfFlow): boolean {
  if (a === b) return true;
  return a.table === b.table && a.priority === b.priority && a.cookie === b.cookie && a.writeMetadata === b.writeMetadata && a.gotoTable === b.gotoTable
    && a.foreignMatch === b.foreignMatch && sameMatch(a.match, b.match) && sameActions(a.actions, b.actions);
}

function sameMatch(a: OfMatch, b: OfMatch): boolean {
  return a.inPort === b.inPort && a.tunId === b.tunId && a.metadata === b.metadata && a.ethDst === b.ethDst;
}

function sameActions(a: readonly OfAction[], b: readonly OfAction[]): boolean {
  if (a === b) return true;
  return a.length === b.length && a.every((x, i) => sameAction(x, b[i]!));
}

function sameAction(a: OfAction, b: OfAction): boolean {
  switch (a.type) {
    case 'setTunId':
      return b.type === 'setTunId' && a.value === b.value;
    case 'setTunDst':
      return b.type === 'setTunDst' && a.ip === b.ip;
    case 'group':
      return b.type === 'group' && a.groupId === b.groupId;
    case 'output':
      return b.type === 'output' && a.port === b.port;
    case 'learn':
      return b.type === 'learn' && deepEqual(a.learn, b.learn);
    case 'other':
      return b.type === 'other' && a.text === b.text;
  }
}
