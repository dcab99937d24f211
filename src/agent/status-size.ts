/**
 * Keeps a node's status within what etcd stores. etcd refuses a write over
 * its request limit (`--max-request-bytes`, 1.5 MiB by default), and the
 * status shares the object with the spec and metadata: a status that does
 * not fit is never written, and the node looks frozen in `kubectl get vns`.
 *
 * A full group entry costs ~250–400 bytes of JSON (ids, paths with their
 * slots, MAC count), so past ~3,000 groups of four VTEPs a full status
 * outgrows the budget. Past the budget, Programmed groups are listed in short
 * form — `{name, state, appliedGeneration}`, what the operator's roll-up
 * reads (~60 bytes plus the name) — and Pending and Invalid groups keep their
 * detail, the part a human must read; `groupDetail` says `Compact`. That
 * holds ~15,000 groups named like `group-00001` in 1 MiB; past that the
 * status grows on, `evpn_agent_status_bytes` shows by how much, and an error
 * is logged once (see the limits in src/agent/README.md).
 *
 * Incremental: each group's sizes are measured when its status is rebuilt,
 * and the totals follow, so deciding costs nothing per publish. Going back
 * to Full waits until the full form fits in 90 % of the budget, so a node
 * near the limit does not flip its whole list back and forth.
 */
import type { GroupDetail, NodeGroupStatus } from '../api/index.js';

/** What the status may take of the object (the rest: spec, metadata, managedFields). */
export const STATUS_BUDGET_BYTES = 1024 * 1024;

/** A Programmed group as a compact status lists it: what the operator's roll-up reads. */
export function shortGroupStatus(g: NodeGroupStatus): NodeGroupStatus {
  return g.appliedGeneration === undefined ? { name: g.name, state: g.state } : { name: g.name, state: g.state, appliedGeneration: g.appliedGeneration };
}

/** Serialized size in bytes (UTF-8), plus one for the comma between list entries. */
export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value)) + 1;
}

export class GroupDetailBudget {
  private readonly sizes = new Map<string, { full: number; compact: number }>();
  private fullBytes = 0;
  private compactBytes = 0;
  private restBytes = 0;
  private mode: GroupDetail = 'Full';

  constructor(private readonly budget = STATUS_BUDGET_BYTES) {}

  get detail(): GroupDetail {
    return this.mode;
  }

  /** Bytes of the status as it would be listed now. */
  get estimate(): number {
    return this.restBytes + (this.mode === 'Full' ? this.fullBytes : this.compactBytes);
  }

  /** A group's status, rebuilt (or gone: undefined). */
  set(name: string, g: NodeGroupStatus | undefined): void {
    const old = this.sizes.get(name);
    if (old) {
      this.fullBytes -= old.full;
      this.compactBytes -= old.compact;
      this.sizes.delete(name);
    }
    if (!g) return;
    const full = jsonBytes(g);
    const compact = g.state === 'Programmed' ? jsonBytes(shortGroupStatus(g)) : full;
    this.sizes.set(name, { full, compact });
    this.fullBytes += full;
    this.compactBytes += compact;
  }

  /** Everything else the status holds (conditions, summary, flood, local, learned), as last serialized. */
  setRest(bytes: number): void {
    this.restBytes = bytes;
  }

  /** Re-decides the detail; true when it changed (every group's listing changes with it). */
  decide(): boolean {
    const before = this.mode;
    if (this.mode === 'Full' && this.restBytes + this.fullBytes > this.budget) this.mode = 'Compact';
    else if (this.mode === 'Compact' && this.restBytes + this.fullBytes <= 0.9 * this.budget) this.mode = 'Full';
    return this.mode !== before;
  }

  /** How a group is listed under the current detail. */
  listed(g: NodeGroupStatus): NodeGroupStatus {
    return this.mode === 'Compact' && g.state === 'Programmed' ? shortGroupStatus(g) : g;
  }
}
