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
  /** The spec's groups by name. */
  groups: Map<string, SpecGroup>;
  tracked: { fabricChanged: boolean; changedGroups: Set<string> };
}

export interface NodeStateNode extends EngineNode<NodeStateData> {
  /** Queues a new spec for the next run. */
  set(spec: NodeSpec): void;
}

export function createNodeStateNode(): NodeStateNode {
  let pending: NodeSpec | undefined;
  const data: NodeStateData = { spec: undefined, groups: new Map(), tracked: { fabricChanged: false, changedGroups: new Set() } };
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
      const before = data.groups;
      data.spec = next;
      data.groups = new Map(next.groups.map((g) => [g.name, g]));
      if (prev === undefined || !deepEqual(prev.fabric, next.fabric)) {
        data.tracked.fabricChanged = true;
        return 'updated';
      }
      for (const [name, g] of data.groups) if (!sameGroup(before.get(name), g)) data.tracked.changedGroups.add(name);
      for (const name of before.keys()) if (!data.groups.has(name)) data.tracked.changedGroups.add(name);
      return data.tracked.changedGroups.size > 0 || prev.generation !== next.generation ? 'updated' : 'unchanged';
    },
    clearTracked() {
      data.tracked.fabricChanged = false;
      data.tracked.changedGroups.clear();
    },
  };
}

/** Field by field (a state file re-read brings 10,000 new objects: this runs for each). */
function sameGroup(a: SpecGroup | undefined, b: SpecGroup): boolean {
  if (a === undefined) return false;
  if (a.name !== b.name || a.generation !== b.generation || a.vni !== b.vni || a.invalid !== b.invalid) return false;
  if (a.vteps.length !== b.vteps.length || a.macs.length !== b.macs.length) return false;
  for (let i = 0; i < a.vteps.length; i++) if (a.vteps[i]!.vtep !== b.vteps[i]!.vtep || a.vteps[i]!.weight !== b.vteps[i]!.weight) return false;
  for (let i = 0; i < a.macs.length; i++) if (a.macs[i] !== b.macs[i]) return false;
  return true;
}
