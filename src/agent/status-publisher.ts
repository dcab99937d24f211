/**
 * Hands the agent's status out: assembles it (status-report.ts) from the
 * engine's status node and the controllers' facts after every iteration,
 * keeps the DataplaneDrift story (found, then repaired) and the time of the
 * last full sync, updates the status-derived gauges, logs each group's
 * transitions, and passes a status on only when it differs from the last
 * one (lastSyncTime moving on alone is not news).
 *
 * Incremental like the engine: a group's status is rebuilt only when its
 * report changed (the status node's tracked names, gathered over every
 * engine run since the last publish) or when a fact every group reads
 * changed (OVS connected, kernel in sync...). An iteration that changed
 * nothing a status shows costs no pass over 10,000 groups.
 *
 * Bounded: past a size budget Programmed groups are listed in short form
 * (status-size.ts), so a node with 10,000+ groups still has a status etcd
 * accepts.
 */
import type { VtepNodeStateStatus } from '../api/index.js';
import { deepEqual } from '../util/equal.js';
import type { Logger } from '../util/log.js';
import type { AgentGraph } from './engine/graph.js';
import type { AgentMetrics } from './metrics.js';
import { collectStartupGarbage } from './startup-heap.js';
import { assembleStatus, groupFactsOf, groupStatus, type GroupFacts, type SyncFacts } from './status-report.js';
import { GroupDetailBudget, jsonBytes } from './status-size.js';
import type { NodeGroupStatus } from '../api/index.js';
import type { StatusData } from './engine/nodes/status.js';

/** What the controllers know at the end of an iteration. */
export type IterationFacts = Omit<SyncFacts, 'drift' | 'lastSyncTime'>;

export class StatusPublisher {
  private drift = { found: false, message: '' };
  private driftRepairPending = false;
  private lastSyncTime: Date | undefined;
  private last: VtepNodeStateStatus | undefined;
  private lastWithoutTime: Omit<VtepNodeStateStatus, 'lastSyncTime' | 'groups'> | undefined;
  private firstSyncDone = false;
  /** Each group's status, the names in status order (by name), and the list in both forms. */
  private readonly groups = new Map<string, NodeGroupStatus>();
  private order: string[] = [];
  private groupList: NodeGroupStatus[] = [];
  /** How each group is listed in the status (its status, or in compact detail the short form of a Programmed one). */
  private readonly listedForm = new Map<string, NodeGroupStatus>();
  private listed: NodeGroupStatus[] = [];
  private readonly budget: GroupDetailBudget;
  private tooLargeLogged = false;
  /** What changed in the status node since the last publish. */
  private dirty = { full: true, names: new Set<string>(), summary: true };
  private lastGroupFacts: GroupFacts | undefined;

  constructor(
    private readonly graph: AgentGraph,
    private readonly metrics: AgentMetrics,
    private readonly log: Logger,
    private readonly onStatus: (status: VtepNodeStateStatus) => void,
    budgetBytes?: number,
  ) {
    this.budget = new GroupDetailBudget(budgetBytes);
  }

  /** Ready after the first full sync, and stays so: a later problem shows in status and metrics, not as a restart-worthy probe. */
  get ready(): boolean {
    return this.firstSyncDone;
  }

  get status(): VtepNodeStateStatus | undefined {
    return this.last;
  }

  /** What one engine run changed in the status node (called after every run). */
  noteReportChanges(tracked: StatusData['tracked']): void {
    if (tracked.full) this.dirty.full = true;
    if (!this.dirty.full) for (const name of tracked.changedGroups) this.dirty.names.add(name);
    if (tracked.summaryChanged) this.dirty.summary = true;
  }

  /** An audit found a difference; the next full sync repairs it. */
  noteDrift(what: string): void {
    this.log.warn('dataplane drift found; repairing', { drift: what });
    this.drift = { found: true, message: `${new Date().toISOString()} ${what}` };
    this.driftRepairPending = true;
  }

  publish(facts: IterationFacts): void {
    const inSync = facts.generation !== undefined && facts.kernelSynced && facts.ovsConnected && facts.ovsSynced;
    if (inSync) {
      this.lastSyncTime = new Date();
      if (this.driftRepairPending) {
        // Repaired: the condition goes back to False and says what was found.
        this.driftRepairPending = false;
        this.drift = { found: false, message: `repaired: ${this.drift.message}` };
      }
    }
    const report = this.graph.status.data;
    const groupFacts = groupFactsOf(facts);
    const allGroups = this.dirty.full || !this.lastGroupFacts || !deepEqual(groupFacts, this.lastGroupFacts);
    this.lastGroupFacts = groupFacts;
    const groupsChanged = this.refreshGroups(report, groupFacts, allGroups);
    if (this.dirty.summary) this.setGauges();
    this.dirty = { full: false, names: new Set(), summary: false };
    const status = assembleStatus(this.groupList, report, { ...facts, drift: this.drift, lastSyncTime: this.lastSyncTime }, this.last, new Date(), { listed: this.listed, detail: this.budget.detail });
    if (!this.firstSyncDone && status.conditions?.find((c) => c.type === 'Ready')?.status === 'True') {
      this.firstSyncDone = true;
      // Before the status goes out: Ready is when the start-up burst is over (see startup-heap.ts).
      const ms = collectStartupGarbage();
      this.log.info('first sync done: start-up garbage collected', { gcMs: ms === undefined ? null : Math.round(ms), heapUsedMiB: Math.round(process.memoryUsage().heapUsed / 1048576) });
    }
    const { lastSyncTime: _time, groups: _groups, ...rest } = status;
    // The groups were compared one by one as they were rebuilt.
    if (!groupsChanged && this.lastWithoutTime && deepEqual(rest, this.lastWithoutTime)) return;
    if (!this.lastWithoutTime || !deepEqual(rest, this.lastWithoutTime)) this.budget.setRest(jsonBytes(rest));
    this.lastWithoutTime = rest;
    this.noteSize(status);
    this.logDegraded(this.last, status);
    this.last = status;
    this.onStatus(status);
  }

  /** Rebuilds the statuses of the changed groups (or all); true when any differs from before, or the detail changed. */
  private refreshGroups(report: StatusData, facts: GroupFacts, all: boolean): boolean {
    const names = all ? new Set([...report.groups.keys(), ...this.groups.keys()]) : this.dirty.names;
    let changed = false;
    let membership = false;
    for (const name of names) {
      const r = report.groups.get(name);
      const old = this.groups.get(name);
      if (!r) {
        if (old) {
          this.groups.delete(name);
          this.listedForm.delete(name);
          this.budget.set(name, undefined);
          changed = membership = true;
        }
        continue;
      }
      const next = groupStatus(r, facts, old?.appliedGeneration);
      if (old && deepEqual(old, next)) continue;
      this.groups.set(name, next);
      this.listedForm.set(name, this.budget.listed(next));
      this.budget.set(name, next);
      this.logTransition(old, next);
      changed = true;
      if (!old) membership = true;
    }
    if (this.budget.decide()) {
      this.log.info(`status group detail: ${this.budget.detail}`, { groups: this.groups.size, statusBytes: this.budget.estimate });
      for (const [name, g] of this.groups) this.listedForm.set(name, this.budget.listed(g));
      changed = true;
    }
    if (membership) this.order = [...this.groups.keys()].sort();
    if (changed) {
      this.groupList = this.order.map((name) => this.groups.get(name)!);
      this.listed = this.order.map((name) => this.listedForm.get(name)!);
    }
    return changed;
  }

  /** The size of the status handed out (the writer's request body is about as large). */
  private noteSize(status: VtepNodeStateStatus): void {
    const bytes = this.budget.estimate;
    this.metrics.statusBytes.set(bytes);
    // etcd refuses requests over 1.5 MiB by default; spec and metadata need some of it.
    if (bytes > 1.4 * 1024 * 1024 && !this.tooLargeLogged) {
      this.tooLargeLogged = true;
      this.log.error('status too large for its object even with compact group detail: the apiserver will refuse it', { statusBytes: bytes, groups: status.groups?.length ?? 0 });
    } else if (bytes <= 1.4 * 1024 * 1024) this.tooLargeLogged = false;
  }

  private setGauges(): void {
    const { learned, flood, exhaustion } = this.graph.status.data;
    const m = this.metrics;
    m.idRangeExhausted.set({ range: 'nexthopIdRange' }, exhaustion.nexthopGroups.length);
    m.idRangeExhausted.set({ range: 'groupIdRange' }, exhaustion.selectGroups.length + exhaustion.floodVnis.length);
    m.learned.set({ kind: 'ecmp' }, learned.ecmp);
    m.learned.set({ kind: 'singlePath' }, learned.singlePath);
    m.invalid.reset();
    for (const [reason, n] of Object.entries(learned.invalid)) m.invalid.set({ reason }, n ?? 0);
    m.floodVteps.reset();
    for (const f of flood) m.floodVteps.set({ vni: String(f.vni) }, f.vteps);
  }

  /** Degraded turning True (or its message changing), and back: an id range running out is worth an error line. */
  private logDegraded(before: VtepNodeStateStatus | undefined, after: VtepNodeStateStatus): void {
    const was = before?.conditions?.find((c) => c.type === 'Degraded');
    const now = after.conditions?.find((c) => c.type === 'Degraded');
    if (!now || (was?.status === now.status && was.message === now.message)) return;
    if (now.status === 'True') this.log.error('degraded', { reason: now.reason, message: now.message });
    else if (was?.status === 'True') this.log.info('no longer degraded', { was: was.reason });
  }

  /** One log line per group whose state or message changed: what an operator greps for. */
  private logTransition(prev: NodeGroupStatus | undefined, g: NodeGroupStatus): void {
    if (prev && prev.state === g.state && (prev.message ?? '') === (g.message ?? '')) return;
    const fields = { group: g.name, vni: g.vni, state: g.state, message: g.message, nexthopGroupId: g.nexthopGroupId, ofGroupId: g.ofGroupId };
    if (g.state === 'Invalid') this.log.error('group refused', fields);
    else if (g.state === 'Programmed') this.log.info('group programmed', fields);
    else this.log.info('group pending', fields);
  }
}
