/**
 * nodeState — input node: the desired state this agent applies.
 *
 * Consumes: a whole spec handed to `set()` (a state file, or a
 * VtepNodeState that lists its groups), or parts of one handed to
 * `update()` (the groups come from VtepGroups, one object each: new
 * settings, groups added or changed, groups gone).
 * Produces: the settings (fabric, generation), the groups by name, how many
 * groups use each VNI, and as tracked changes whether fabric-wide settings
 * changed (dependants recompute), which groups changed (names listed, so
 * dependants redo just those groups) and whether a VNI came or went.
 *
 * What it costs: a whole spec is compared with every group it replaces (the
 * new file is all there is to go by); an update costs what it names — one
 * VtepGroup changed among 10,000 is one comparison and one tracked name.
 * Either way the data is changed in place, never rebuilt.
 */
import type { EngineNode } from '../engine.js';
import { sameSpecGroup, type NodeSettings, type NodeSpec, type SpecGroup, type SpecUpdate } from '../../model.js';
import { deepEqual } from '../../../util/equal.js';

export interface NodeStateData {
  /** The settings of the spec applied; undefined until the first spec. */
  spec: NodeSettings | undefined;
  /** The spec's groups by name. */
  groups: Map<string, SpecGroup>;
  /**
   * Groups per VNI: a VNI is needed (a device, a flood list, a status entry)
   * while its count is above zero. A group whose VNI is unknown (vni 0: its
   * VtepGroup could not be read) is not counted.
   */
  vnis: Map<number, number>;
  tracked: { fabricChanged: boolean; changedGroups: Set<string>; vnisChanged: boolean };
}

export interface NodeStateNode extends EngineNode<NodeStateData> {
  /** Queues a whole spec for the next run: it replaces the settings and every group. */
  set(spec: NodeSpec): void;
  /** Queues part of a spec for the next run, on top of anything queued before. */
  update(update: SpecUpdate): void;
}

export function createNodeStateNode(): NodeStateNode {
  let pendingSpec: NodeSpec | undefined;
  let pendingSettings: NodeSettings | undefined;
  /** By name: the group's new version, or null when it is gone. */
  const pendingGroups = new Map<string, SpecGroup | null>();
  const data: NodeStateData = { spec: undefined, groups: new Map(), vnis: new Map(), tracked: { fabricChanged: false, changedGroups: new Set(), vnisChanged: false } };

  const countVni = (vni: number, by: 1 | -1): void => {
    if (vni <= 0) return;
    const n = (data.vnis.get(vni) ?? 0) + by;
    if (n > 0) data.vnis.set(vni, n);
    else data.vnis.delete(vni);
    if (n === 0 || (by === 1 && n === 1)) data.tracked.vnisChanged = true;
  };
  const putGroup = (g: SpecGroup): void => {
    const old = data.groups.get(g.name);
    if (old !== undefined && sameSpecGroup(old, g)) return;
    data.groups.set(g.name, g);
    data.tracked.changedGroups.add(g.name);
    if (old?.vni === g.vni) return;
    if (old !== undefined) countVni(old.vni, -1);
    countVni(g.vni, 1);
  };
  const dropGroup = (name: string): void => {
    const old = data.groups.get(name);
    if (old === undefined) return;
    data.groups.delete(name);
    data.tracked.changedGroups.add(name);
    countVni(old.vni, -1);
  };

  return {
    name: 'nodeState',
    inputs: [],
    data,
    set(spec) {
      pendingSpec = spec;
      pendingSettings = undefined;
      pendingGroups.clear();
    },
    update(update) {
      if (update.settings) pendingSettings = update.settings;
      for (const g of update.groups ?? []) pendingGroups.set(g.name, g);
      for (const name of update.removed ?? []) pendingGroups.set(name, null);
    },
    recompute() {
      if (pendingSpec === undefined && pendingSettings === undefined && pendingGroups.size === 0) return 'unchanged';
      const prev = data.spec;
      if (pendingSpec !== undefined) {
        const spec = pendingSpec;
        pendingSpec = undefined;
        data.spec = { generation: spec.generation, fabric: spec.fabric };
        const listed = new Set<string>();
        for (const g of spec.groups) {
          listed.add(g.name);
          putGroup(g);
        }
        for (const name of data.groups.keys()) if (!listed.has(name)) dropGroup(name);
      }
      if (pendingSettings !== undefined) {
        data.spec = pendingSettings;
        pendingSettings = undefined;
      }
      for (const [name, g] of pendingGroups) {
        if (g === null) dropGroup(name);
        else putGroup(g);
      }
      pendingGroups.clear();
      const next = data.spec;
      if (next !== undefined && (prev === undefined || !deepEqual(prev.fabric, next.fabric))) {
        data.tracked.fabricChanged = true;
        return 'updated';
      }
      const t = data.tracked;
      return t.changedGroups.size > 0 || t.vnisChanged || prev?.generation !== next?.generation ? 'updated' : 'unchanged';
    },
    clearTracked() {
      data.tracked.fabricChanged = false;
      data.tracked.changedGroups.clear();
      data.tracked.vnisChanged = false;
    },
  };
}
