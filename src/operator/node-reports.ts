/**
 * What each node's agent last said about each group (VtepNodeState
 * `status.groups`), indexed by node and group, and what changed.
 *
 * A group's roll-up reads one entry per node it applies to; a node's status
 * lists every group on it (a thousand and more). Looking entries up in those
 * lists for every group on every status event would cost groups × nodes ×
 * groups; the index makes a lookup constant, and `observe` names the groups
 * whose entry changed, so an agent's status write wakes only the roll-ups it
 * moves (the agent rewrites its status when any group changes, and most of
 * its entries stay as they were).
 *
 * Entries are the informer's own objects (never copied, never mutated).
 */
import type { NodeGroupStatus, VtepNodeState } from './model.js';

export type GroupReport = Pick<NodeGroupStatus, 'state' | 'appliedGeneration' | 'message'>;

function sameReport(a: GroupReport, b: GroupReport): boolean {
  return a.state === b.state && a.appliedGeneration === b.appliedGeneration && a.message === b.message;
}

export class NodeReports {
  private readonly byNode = new Map<string, Map<string, GroupReport>>();

  /** Takes `state`'s status as its node's word; returns the groups whose entry appeared, changed or went. */
  observe(state: VtepNodeState): string[] {
    const node = state.metadata.name;
    const before = this.byNode.get(node);
    const after = new Map<string, GroupReport>();
    for (const entry of state.status?.groups ?? []) after.set(entry.name, entry);
    this.byNode.set(node, after);
    const changed: string[] = [];
    for (const [group, report] of after) {
      const old = before?.get(group);
      if (!old || !sameReport(old, report)) changed.push(group);
    }
    if (before) for (const group of before.keys()) if (!after.has(group)) changed.push(group);
    return changed;
  }

  /** Drops `node`'s reports (its VtepNodeState is gone); returns the groups it reported. */
  forget(node: string): string[] {
    const before = this.byNode.get(node);
    this.byNode.delete(node);
    return before ? [...before.keys()] : [];
  }

  /** The groups `node` reports on. */
  groupsOf(node: string): string[] {
    return [...(this.byNode.get(node)?.keys() ?? [])];
  }

  /** What `node` last said about `group`, if anything. */
  report(node: string, group: string): GroupReport | undefined {
    return this.byNode.get(node)?.get(group);
  }
}
