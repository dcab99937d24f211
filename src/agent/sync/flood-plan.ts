/**
 * The flood-group sync plan: the difference between ofDesired.floodGroups
 * and the `all` groups the bridge holds in our range. A membership change
 * (a VTEP appended to or removed from the kernel's flood list, a local
 * port added) is one OFPGC_MODIFY of the same group id: the flood flow
 * that names it is untouched.
 */
import type { FloodGroup } from '../model.js';
import { floodGroupText } from '../flood-openflow.js';

export interface FloodChange {
  command: 'add' | 'modify' | 'delete';
  group: FloodGroup;
}

export interface FloodPlan {
  /** At the head of the bundle: the groups its flows will name exist before them. */
  before: FloodChange[];
  /** At the end of the bundle: no flow names these groups any more. */
  after: FloodChange[];
}

/** With a scope (changed group ids) only those are compared; without, everything. */
export function planFloodSync(desired: ReadonlyMap<number, FloodGroup>, installed: ReadonlyMap<number, FloodGroup>, scope?: Iterable<number>): FloodPlan {
  const ids = scope ? new Set(scope) : new Set([...desired.keys(), ...installed.keys()]);
  const plan: FloodPlan = { before: [], after: [] };
  for (const id of [...ids].sort((a, b) => a - b)) {
    const want = desired.get(id);
    const have = installed.get(id);
    if (want && !have) plan.before.push({ command: 'add', group: want });
    else if (want && have && floodGroupText(want) !== floodGroupText(have)) plan.before.push({ command: 'modify', group: want });
    else if (!want && have) plan.after.push({ command: 'delete', group: have });
  }
  return plan;
}

export function applyFloodChanges(state: Map<number, FloodGroup>, changes: readonly FloodChange[]): void {
  for (const c of changes) {
    if (c.command === 'delete') state.delete(c.group.groupId);
    else state.set(c.group.groupId, c.group);
  }
}
