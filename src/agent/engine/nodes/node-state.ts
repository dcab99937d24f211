/**
 * nodeState — input node: the VtepNodeState spec this agent applies.
 *
 * Consumes: the spec handed to `set()` (state file or Kubernetes watch).
 * Produces: the spec, and as tracked changes whether fabric-wide settings
 * changed (dependants recompute) or only some groups did (names listed, so
 * dependants redo just those groups).
 */
import type { EngineNode } from '../engine.js';
import type { NodeSpec, SpecGroup } from '../../model.js';
import { deepEqual } from '../../../util/equal.js';

export interface NodeStateData {
  spec: NodeSpec | undefined;
  tracked: { fabricChanged: boolean; changedGroups: Set<string> };
}

export interface NodeStateNode extends EngineNode<NodeStateData> {
  /** Queues a new spec for the next run. */
  set(spec: NodeSpec): void;
}

export function createNodeStateNode(): NodeStateNode {
  let pending: NodeSpec | undefined;
  const data: NodeStateData = { spec: undefined, tracked: { fabricChanged: false, changedGroups: new Set() } };
  return {
    name: 'nodeState',
    inputs: [],
    data,
    set(spec) {
      pending = spec;
    },
    recompute() {
      if (pending === undefined) return 'unchanged';
      const next = pending;
      pending = undefined;
      const prev = data.spec;
      data.spec = next;
      if (prev === undefined || !deepEqual(prev.fabric, next.fabric)) {
        data.tracked.fabricChanged = true;
        return 'updated';
      }
      const before = new Map(prev.groups.map((g) => [g.name, g]));
      const after = new Map(next.groups.map((g) => [g.name, g]));
      for (const name of new Set([...before.keys(), ...after.keys()])) {
        if (!sameGroup(before.get(name), after.get(name))) data.tracked.changedGroups.add(name);
      }
      return data.tracked.changedGroups.size > 0 || prev.generation !== next.generation ? 'updated' : 'unchanged';
    },
    clearTracked() {
      data.tracked.fabricChanged = false;
      data.tracked.changedGroups.clear();
    },
  };
}

function sameGroup(a: SpecGroup | undefined, b: SpecGroup | undefined): boolean {
  return deepEqual(a, b);
}
