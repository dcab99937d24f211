/**
 * The agent's control loop, level-triggered: whatever woke it (a kernel
 * event, a new spec, an OVS interface change, a reconnect, the audit
 * timer), one iteration
 *   1. folds the news into the engine's input nodes (a lost-events signal
 *      becomes a re-dump that the input nodes diff — never a restart),
 *   2. runs the engine,
 *   3. writes the kernel's difference (kernel sync) and feeds what the
 *      kernel acknowledged back in, running the engine again,
 *   4. sends the OVS difference as one ordered atomic bundle (OVS sync),
 *   5. rebuilds the status and hands it out when it changed.
 * Only one iteration runs at a time; news arriving meanwhile wakes the next.
 */
import type { VtepNodeStateStatus } from '../api/index.js';
import type { Logger } from '../util/log.js';
import { createAgentGraph, type AgentGraph } from './engine/graph.js';
import { bigintJson } from './engine/nodes/node-state.js';
import { applyKernelEvent, applyKernelSnapshot } from './kernel-input.js';
import { AgentMetrics } from './metrics.js';
import type { Registry } from 'prom-client';
import { fdbKey, type KernelSnapshot, type NodeSpec } from './model.js';
import { isOwnedNexthop } from './ownership.js';
import type { KernelPort, OvsInstalled, OvsPort, OvsSettingsForPort } from './ports.js';
import { buildStatus, type SyncFacts } from './status-report.js';
import { describeKernelOp, observedAfter, planKernelSync } from './sync/kernel-plan.js';
import { applyFloodChanges, planFloodSync, type FloodChange } from './sync/flood-plan.js';
import { floodGroupText } from './flood-openflow.js';
import type { FloodGroup, OfGroup } from './model.js';
import { applyOfChanges, planOfSync, type OfChange, type OfState } from './sync/of-plan.js';
import { flowText, groupText } from './openflow-text.js';
import { installedSlotTables, redealtShare, slotTableOf } from './hash-slots.js';
import { collectStartupGarbage } from './startup-heap.js';

export interface AgentOptions {
  kernel: KernelPort;
  ovs: OvsPort;
  logger: Logger;
  /** Where the agent registers its metrics (evpn_agent_*). */
  registry: Registry;
  /** Receives every status that differs from the previous one. */
  onStatus: (status: VtepNodeStateStatus) => void;
  /** Period of the drift audit (0 disables it). */
  auditIntervalMs?: number;
  /** First and longest delay between OVS reconnect attempts / failed-write retries. */
  retryMinMs?: number;
  retryMaxMs?: number;
}

export class Agent {
  readonly graph: AgentGraph = createAgentGraph();
  private readonly log: Logger;
  private stopped = false;
  private started = false;
  private wake: (() => void) | undefined;
  private workPending = true;
  private loopDone: Promise<void> | undefined;
  private iterationWaiters: Array<() => void> = [];

  private spec: NodeSpec | undefined;
  private specError: string | undefined;
  private kernelRedumpWanted: string | undefined;
  private kernelMessage = 'not synced yet';
  private kernelSynced = false;
  private kernelRetryAt = 0;
  private kernelFailures = 0;

  private ovsSettings: OvsSettingsForPort | undefined;
  private ovsConnected = false;
  private ovsConnecting = false;
  private ovsMessage = 'not connected yet';
  private ovsSynced = false;
  private ovsSyncMessage = '';
  private ovsFailures = 0;
  private ovsConnections = 0;
  private installed: OfState | undefined;
  private installedFlood = new Map<number, FloodGroup>();
  /** Paths and buckets of the select groups in `installed`, kept up to date change by change. */
  private selectTally = { paths: 0, buckets: 0 };
  private ofScope = { full: true, groups: new Set<number>(), flows: new Set<string>(), floodGroups: new Set<number>() };
  private ofRetryAt = 0;

  private pendingSince: number | undefined;
  private drift = { found: false, message: '' };
  private driftRepairPending = false;
  private auditDue = false;
  private lastSyncTime: Date | undefined;
  private lastStatus: VtepNodeStateStatus | undefined;
  private lastStatusKey = '';
  private timers = new Set<NodeJS.Timeout>();
  private firstSyncDone = false;

  readonly metrics: AgentMetrics;

  constructor(private readonly opts: AgentOptions) {
    this.log = opts.logger;
    this.metrics = new AgentMetrics(opts.registry, this.graph.engine);
  }

  /** True once the kernel and OVS were both found in sync with a spec. */
  get ready(): boolean {
    return this.firstSyncDone;
  }

  get status(): VtepNodeStateStatus | undefined {
    return this.lastStatus;
  }

  /** A new desired state (validated): applied by the next iteration. */
  setSpec(spec: NodeSpec): void {
    const previousOvs = this.ovsSettings;
    this.spec = spec;
    this.specError = undefined;
    this.graph.nodeState.set(spec);
    this.ovsSettings = ovsSettingsOf(spec);
    this.markPending();
    if (previousOvs && JSON.stringify(previousOvs, bigintJson) !== JSON.stringify(this.ovsSettings, bigintJson)) {
      this.log.info('OVS settings changed: reconnecting', { bridge: this.ovsSettings.bridge });
      this.dropOvs('OVS settings changed');
    }
    this.kick();
  }

  /** A desired state was refused: the previous one keeps running, status says why. */
  rejectSpec(message: string): void {
    this.specError = message;
    this.metrics.stateFileErrors.inc();
    this.kick();
  }

  /** POST /debug/recompute: recompute every node and diff everything. */
  forceRecompute(): void {
    this.graph.engine.forceRecompute();
    this.ofScope.full = true;
    this.kick();
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const snapshot = await this.opts.kernel.start();
    applyKernelSnapshot(this.graph, snapshot);
    this.opts.ovs.onInterfaces((ifaces) => {
      if (!this.ovsSettings) return;
      this.graph.ovs.setInterfaces(this.ovsSettings.tunnelPort, ifaces);
      this.markPending();
      this.kick();
    });
    this.opts.ovs.onDisconnect((reason) => {
      if (!this.ovsConnected) return;
      this.log.warn('Open vSwitch connection lost', { reason });
      this.dropOvs(reason);
      this.kick();
    });
    this.loopDone = this.loop();
    void this.pumpKernel();
    const audit = this.opts.auditIntervalMs ?? 30_000;
    if (audit > 0) {
      const t = setInterval(() => {
        this.auditDue = true;
        this.kick();
      }, audit);
      t.unref();
      this.timers.add(t);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.kick();
    await this.loopDone;
    this.opts.kernel.close();
    this.opts.ovs.close();
  }

  /** Resolves after the next complete iteration (tests, debug endpoints). */
  nextIteration(): Promise<void> {
    return new Promise((resolve) => {
      this.iterationWaiters.push(resolve);
      this.kick();
    });
  }

  /** GET /debug/engine */
  debugEngine() {
    return {
      graph: this.graph.engine.describe(),
      stats: this.graph.engine.nodeStats(),
      desired: { ofGroups: this.graph.ofDesired.data.groups.size, ofFloodGroups: this.graph.ofDesired.data.floodGroups.size, ofFlows: this.graph.ofDesired.data.flows.size, kernelGroups: this.graph.kernelDesired.data.groups.size, kernelFdb: this.graph.kernelDesired.data.fdb.size },
    };
  }

  // ------------------------------------------------------------------ loop

  private kick(): void {
    this.workPending = true;
    this.wake?.();
  }

  private markPending(): void {
    this.pendingSince ??= performance.now();
  }

  private schedule(delayMs: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.kick();
    }, delayMs);
    t.unref();
    this.timers.add(t);
  }

  private async pumpKernel(): Promise<void> {
    while (!this.stopped) {
      await this.opts.kernel.waitForNews();
      if (this.stopped) return;
      this.markPending();
      await this.nextIteration();
    }
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      if (!this.workPending) await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
      if (this.stopped) break;
      this.workPending = false;
      try {
        await this.iteration();
      } catch (err) {
        // A bug or an unexpected failure must not stop the agent: log, retry later.
        this.log.error('agent iteration failed', { error: errorText(err) });
        this.schedule(1000);
      }
      for (const resolve of this.iterationWaiters.splice(0)) resolve();
    }
    for (const resolve of this.iterationWaiters.splice(0)) resolve();
  }

  private async iteration(): Promise<void> {
    await this.intakeKernel();
    if (this.auditDue) await this.auditKernel();
    this.runEngine();
    if (this.spec) {
      await this.syncKernel();
      this.ensureOvsConnection();
      if (this.auditDue) await this.auditOvs();
      await this.syncOvs();
    }
    this.auditDue = false;
    this.publishStatus();
  }

  private runEngine(): void {
    const report = this.graph.engine.run();
    const t = this.graph.ofDesired.data.tracked;
    if (t.full) this.ofScope = { full: true, groups: new Set(), flows: new Set(), floodGroups: new Set() };
    // A full diff is pending anyway (first sync, reconnect): no need to remember keys.
    if (!this.ofScope.full) {
      for (const id of t.changedGroups) this.ofScope.groups.add(id);
      for (const id of t.changedFloodGroups) this.ofScope.floodGroups.add(id);
      for (const key of t.changedFlows) this.ofScope.flows.add(key);
    }
    if (report.durationMs > 500) this.log.info('slow engine run', { ms: Math.round(report.durationMs), recomputed: report.recomputed });
  }

  // ---------------------------------------------------------------- kernel

  private async intakeKernel(): Promise<void> {
    const news = this.opts.kernel.drain();
    const lost = news.findLastIndex((n) => n.kind === 'resync');
    if (lost >= 0) {
      const reason = (news[lost] as { reason: string }).reason;
      this.kernelRedumpWanted = reason;
    }
    if (this.kernelRedumpWanted !== undefined) {
      const reason = this.kernelRedumpWanted;
      this.kernelRedumpWanted = undefined;
      // Everything drained precedes the dump, which supersedes it.
      this.metrics.kernelResyncs.inc({ reason });
      this.log.info('kernel notifications lost or unreadable: dumping again and diffing', { reason });
      try {
        applyKernelSnapshot(this.graph, await this.opts.kernel.dump());
      } catch (err) {
        this.kernelRedumpWanted = reason;
        this.kernelMessage = `kernel dump failed: ${errorText(err)}`;
        this.schedule(1000);
      }
      return;
    }
    for (const n of news) if (n.kind !== 'resync') applyKernelEvent(this.graph, n);
  }

  private async syncKernel(): Promise<void> {
    const spec = this.spec!;
    if (!spec.fabric.kernel.manage) {
      this.kernelSynced = true;
      this.kernelMessage = '';
      return;
    }
    if (Date.now() < this.kernelRetryAt) return;
    // A few rounds: each write is fed back, which may make a later one unnecessary.
    for (let round = 0; round < 3; round++) {
      const plan = planKernelSync(this.graph.kernelDesired.data, { nexthops: this.graph.nexthops.data.byId, fdb: this.graph.fdb.data.byKey }, spec.fabric);
      this.graph.kernelDesired.floodGone(plan.floodGone);
      const conflicts = [...plan.conflicts.map((c) => `${c.object} ${c.reason}`), ...this.graph.kernelDesired.data.conflicts.map((id) => `nexthop ${id} in our range has another protocol`)];
      if (plan.ops.length === 0) {
        this.kernelSynced = conflicts.length === 0;
        this.kernelMessage = conflicts.length ? `conflicts (left untouched): ${conflicts.slice(0, 5).join('; ')}${conflicts.length > 5 ? ` and ${conflicts.length - 5} more` : ''}` : '';
        this.kernelFailures = 0;
        return;
      }
      for (const op of plan.ops) {
        try {
          await this.opts.kernel.apply(op, spec.fabric.kernel.protocol);
        } catch (err) {
          this.metrics.kernelErrors.inc();
          this.kernelSynced = false;
          this.kernelMessage = `${describeKernelOp(op)}: ${errorText(err)}`;
          this.kernelFailures += 1;
          const delay = backoff(this.kernelFailures, this.opts.retryMinMs ?? 500, this.opts.retryMaxMs ?? 10_000);
          this.log.warn('kernel write refused; re-dumping and retrying', { op: describeKernelOp(op), error: errorText(err), retryInMs: delay });
          this.kernelRetryAt = Date.now() + delay;
          this.kernelRedumpWanted = 'write-failed';
          this.schedule(delay);
          this.runEngine();
          return;
        }
        this.metrics.kernelWrites.inc({ op: op.op });
        applyKernelEvent(this.graph, observedAfter(op, spec.fabric));
      }
      this.log.debug('kernel writes applied', { count: plan.ops.length });
      this.runEngine();
    }
    // Still not converged after a few rounds (the kernel keeps changing): go on next iteration.
    this.kick();
  }

  /** Read-back of the kernel: differences in objects we own are drift. */
  private async auditKernel(): Promise<void> {
    let snapshot: KernelSnapshot;
    try {
      snapshot = await this.opts.kernel.dump();
    } catch (err) {
      this.log.warn('kernel audit dump failed', { error: errorText(err) });
      return;
    }
    const spec = this.spec;
    if (spec) {
      const differences = kernelDifferences(this.graph, snapshot, spec);
      if (differences.length > 0) {
        this.metrics.drift.inc({ dataplane: 'kernel' }, differences.length);
        this.noteDrift(`kernel: ${differences.slice(0, 3).join('; ')}${differences.length > 3 ? ` and ${differences.length - 3} more` : ''}`);
      }
    }
    applyKernelSnapshot(this.graph, snapshot);
  }

  // ------------------------------------------------------------------- OVS

  private dropOvs(reason: string): void {
    this.ovsConnected = false;
    this.ovsSynced = false;
    this.ovsMessage = reason;
    this.installed = undefined;
    this.opts.ovs.close();
  }

  private ensureOvsConnection(): void {
    if (this.ovsConnected || this.ovsConnecting || !this.ovsSettings || this.stopped) return;
    this.ovsConnecting = true;
    const settings = this.ovsSettings;
    void (async () => {
      try {
        await this.opts.ovs.connect(settings);
        await this.opts.ovs.ensureTunnelPort(settings);
        const interfaces = await this.opts.ovs.interfaces();
        // Hand the list over before anything else can yield: a monitor update
        // that arrives later (say, ovs-vswitchd giving the new tunnel port its
        // ofport) is newer and must not be overwritten by this read.
        this.graph.ovs.setInterfaces(settings.tunnelPort, interfaces);
        const installed = await this.opts.ovs.readInstalled(settings);
        if (settings !== this.ovsSettings) throw new Error('OVS settings changed while connecting');
        this.graph.ovs.setAdopted(installed.adopted, installed.adoptedFlood, installedSlotTables(installed.groups.values()));
        this.setInstalled(installed);
        this.ofScope.full = true;
        this.ovsConnected = true;
        this.ovsMessage = '';
        this.ovsFailures = 0;
        this.ovsConnections += 1;
        if (this.ovsConnections > 1) this.metrics.ovsReconnects.inc();
        this.log.info('connected to Open vSwitch', { bridge: settings.bridge, groups: installed.groups.size, flows: installed.flows.size });
        this.markPending();
      } catch (err) {
        this.ovsFailures += 1;
        const message = errorText(err);
        if (message !== this.ovsMessage) this.log.warn('cannot reach Open vSwitch; retrying', { error: message });
        this.ovsMessage = message;
        this.opts.ovs.close();
        this.schedule(backoff(this.ovsFailures, this.opts.retryMinMs ?? 500, this.opts.retryMaxMs ?? 10_000));
      } finally {
        this.ovsConnecting = false;
        this.kick();
      }
    })();
  }

  private async syncOvs(): Promise<void> {
    const settings = this.ovsSettings;
    if (!this.ovsConnected || !this.installed || !settings) return;
    if (Date.now() < this.ofRetryAt) return;
    const desired = this.graph.ofDesired.data;
    const scope = this.ofScope.full ? undefined : { groups: this.ofScope.groups, flows: this.ofScope.flows };
    const changes = planOfSync(desired, this.installed, scope);
    const flood = planFloodSync(desired.floodGroups, this.installedFlood, this.ofScope.full ? undefined : this.ofScope.floodGroups);
    const floodChanges = [...flood.before, ...flood.after];
    const total = changes.length + floodChanges.length;
    if (total > 0) {
      try {
        // One atomic bundle: flood groups the flows will name, the plan's
        // select groups and flows, then flood groups no flow names any more.
        await this.opts.ovs.commit(changes, settings, flood);
        this.noteGroupChanges(changes);
        applyOfChanges(this.installed, changes);
        this.applyFloodChanges(floodChanges);
      } catch (err) {
        this.metrics.ofErrors.inc();
        this.ovsSynced = false;
        this.ovsSyncMessage = `bundle of ${total} changes refused: ${errorText(err)}`;
        const first = flood.before[0] ? describeFloodChange(flood.before[0]) : changes[0] ? describeChange(changes[0]) : floodChanges[0] ? describeFloodChange(floodChanges[0]) : '';
        this.log.warn('OpenFlow bundle failed; re-reading the bridge and retrying', { error: errorText(err), changes: total, first });
        this.ovsFailures += 1;
        const delay = backoff(this.ovsFailures, this.opts.retryMinMs ?? 500, this.opts.retryMaxMs ?? 10_000);
        this.ofRetryAt = Date.now() + delay;
        this.schedule(delay);
        // Our picture of the bridge may be wrong: read it again before retrying.
        try {
          this.setInstalled(await this.opts.ovs.readInstalled(settings));
          this.ofScope.full = true;
        } catch {
          this.dropOvs(`lost while recovering from a failed bundle: ${errorText(err)}`);
        }
        return;
      }
      this.countChanges(changes);
      for (const c of floodChanges) this.metrics.ofGroupMods.inc({ command: c.command });
      if (this.pendingSince !== undefined) this.metrics.convergence.observe((performance.now() - this.pendingSince) / 1000);
      this.log.debug('OpenFlow bundle committed', { changes: changes.length });
    }
    this.ovsFailures = 0;
    this.ofScope = { full: false, groups: new Set(), flows: new Set(), floodGroups: new Set() };
    this.ovsSynced = true;
    this.ovsSyncMessage = '';
    this.pendingSince = undefined;
    const installed = this.installed;
    const floodNow = this.installedFlood;
    this.graph.groupIds.confirmDeleted([...this.graph.groupIds.data.quarantine].filter((id) => !installed.groups.has(id) && !floodNow.has(id)));
    this.metrics.programmed.set({ kind: 'floodGroups' }, floodNow.size);
    this.metrics.programmed.set({ kind: 'groups' }, installed.groups.size);
    this.metrics.programmed.set({ kind: 'flows' }, installed.flows.size);
    this.metrics.programmed.set({ kind: 'paths' }, this.selectTally.paths);
    this.metrics.programmed.set({ kind: 'buckets' }, this.selectTally.buckets);
  }

  /** What was read from the bridge becomes our picture of it; the select-group tallies are recounted. */
  private setInstalled(state: OvsInstalled): void {
    this.installed = { groups: state.groups, flows: state.flows };
    this.installedFlood = state.flood;
    this.selectTally = { paths: 0, buckets: 0 };
    for (const g of state.groups.values()) this.tallyGroup(g, 1);
  }

  /** Paths (distinct VTEPs) and buckets of one select group, added or taken away. */
  private tallyGroup(g: OfGroup, sign: 1 | -1): void {
    this.selectTally.paths += sign * new Set(g.buckets.map((b) => b.tunDst)).size;
    this.selectTally.buckets += sign * g.buckets.length;
  }

  /** Read-back of the bridge: what differs from what we believe we installed is drift. */
  private async auditOvs(): Promise<void> {
    const settings = this.ovsSettings;
    if (!this.ovsConnected || !this.installed || !settings) return;
    let actual;
    try {
      actual = await this.opts.ovs.readInstalled(settings);
    } catch (err) {
      this.log.warn('OVS audit read failed', { error: errorText(err) });
      return;
    }
    const floodPlan = planFloodSync(this.installedFlood, actual.flood);
    const differences = [...planOfSync(this.installed, actual).map(describeChange), ...[...floodPlan.before, ...floodPlan.after].map(describeFloodChange)];
    if (differences.length > 0) {
      this.metrics.drift.inc({ dataplane: 'ovs' }, differences.length);
      this.noteDrift(`ovs: ${differences.slice(0, 3).join('; ')}${differences.length > 3 ? ` and ${differences.length - 3} more` : ''}`);
      this.setInstalled(actual);
      this.ofScope.full = true;
    }
  }

  private applyFloodChanges(changes: readonly FloodChange[]): void {
    applyFloodChanges(this.installedFlood, changes);
    // OVS removes the flows that named a deleted group.
    for (const c of changes) {
      if (c.command !== 'delete' || !this.installed) continue;
      for (const [key, flow] of this.installed.flows) if (flow.actions.some((a) => a.type === 'group' && a.groupId === c.group.groupId)) this.installed.flows.delete(key);
    }
  }

  private noteDrift(what: string): void {
    this.log.warn('dataplane drift found; repairing', { drift: what });
    this.drift = { found: true, message: `${new Date().toISOString()} ${what}` };
    this.driftRepairPending = true;
  }

  /**
   * Committed group changes, before `installed` takes them: the tallies
   * follow, and each modified dp_hash group reports how much of its
   * traffic changed VTEP.
   */
  private noteGroupChanges(changes: readonly OfChange[]): void {
    for (const c of changes) {
      if (c.kind !== 'group') continue;
      const old = this.installed?.groups.get(c.group.groupId);
      if (old) this.tallyGroup(old, -1);
      if (c.command !== 'delete') this.tallyGroup(c.group, 1);
      if (c.command !== 'modify' || !old) continue;
      const before = slotTableOf(old);
      const after = slotTableOf(c.group);
      if (before && after) this.metrics.groupRemap.observe(redealtShare(before, after));
    }
  }

  private countChanges(changes: readonly OfChange[]): void {
    this.metrics.ofBundles.inc();
    for (const c of changes) {
      if (c.kind === 'group') this.metrics.ofGroupMods.inc({ command: c.command });
      else this.metrics.ofFlowMods.inc({ command: c.command });
    }
  }

  // ---------------------------------------------------------------- status

  /** One log line per group whose state or message changed: what an operator greps for. */
  private logGroupTransitions(before: VtepNodeStateStatus | undefined, after: VtepNodeStateStatus): void {
    const old = new Map((before?.groups ?? []).map((g) => [g.name, g]));
    for (const g of after.groups ?? []) {
      const prev = old.get(g.name);
      if (prev && groupKey(prev) === groupKey(g)) continue;
      const fields = { group: g.name, vni: g.vni, state: g.state, message: g.message, nexthopGroupId: g.nexthopGroupId, ofGroupId: g.ofGroupId };
      if (g.state === 'Invalid') this.log.error('group refused', fields);
      else if (g.state === 'Programmed') this.log.info('group programmed', fields);
      else this.log.info('group pending', fields);
    }
  }

  private publishStatus(): void {
    const spec = this.spec;
    const inSync = spec !== undefined && this.kernelSynced && this.ovsConnected && this.ovsSynced;
    if (inSync) {
      this.lastSyncTime = new Date();
      if (this.driftRepairPending) {
        // Repaired: the condition goes back to False and says what was found.
        this.driftRepairPending = false;
        this.drift = { found: false, message: `repaired: ${this.drift.message}` };
      }
    }
    const l = this.graph.status.data.learned;
    this.metrics.learned.set({ kind: 'ecmp' }, l.ecmp);
    this.metrics.learned.set({ kind: 'singlePath' }, l.singlePath);
    this.metrics.invalid.reset();
    for (const [reason, n] of Object.entries(l.invalid)) this.metrics.invalid.set({ reason }, n ?? 0);
    this.metrics.floodVteps.reset();
    for (const f of this.graph.status.data.flood) this.metrics.floodVteps.set({ vni: String(f.vni) }, f.vteps);

    const facts: SyncFacts = {
      generation: spec?.generation,
      specError: this.specError,
      kernelManaged: spec?.fabric.kernel.manage ?? true,
      kernelSynced: this.kernelSynced,
      kernelMessage: this.kernelMessage,
      ovsConnected: this.ovsConnected,
      ovsMessage: this.ovsMessage,
      ovsSynced: this.ovsSynced,
      ovsSyncMessage: this.ovsSyncMessage,
      tunnelProblem: this.graph.ovs.data.tunnelProblem,
      drift: this.drift,
      lastSyncTime: this.lastSyncTime,
    };
    const status = buildStatus(this.graph.status.data, facts, this.lastStatus, new Date());
    // /readyz: ready after the first full sync, and stays so (a later
    // problem shows in status and metrics, not as a restart-worthy probe).
    if (status.conditions?.find((c) => c.type === 'Ready')?.status === 'True' && !this.firstSyncDone) {
      this.firstSyncDone = true;
      // Before the status goes out: Ready is when the start-up burst is over (see startup-heap.ts).
      const ms = collectStartupGarbage();
      this.log.info('first sync done: start-up garbage collected', { gcMs: ms === undefined ? null : Math.round(ms), heapUsedMiB: Math.round(process.memoryUsage().heapUsed / 1048576) });
    }
    // lastSyncTime alone moving on is not news worth a write.
    const { lastSyncTime: _ignored, ...rest } = status;
    const key = JSON.stringify(rest);
    if (key === this.lastStatusKey) return;
    this.lastStatusKey = key;
    this.logGroupTransitions(this.lastStatus, status);
    this.lastStatus = status;
    this.opts.onStatus(status);
  }
}

function groupKey(g: { state: string; message?: string | undefined }): string {
  return `${g.state}:${g.message ?? ''}`;
}

function ovsSettingsOf(spec: NodeSpec): OvsSettingsForPort {
  const o = spec.fabric.ovs;
  return { bridge: o.bridge, tunnelPort: o.tunnelPort, vxlanPort: spec.fabric.vxlanPort, tableBase: o.tableBase, groupIdRange: { ...o.groupIdRange }, cookie: o.cookie, cookieMask: o.cookieMask };
}

function kernelDifferences(graph: AgentGraph, snapshot: KernelSnapshot, spec: NodeSpec): string[] {
  const out: string[] = [];
  const fabric = spec.fabric;
  const seen = new Map(snapshot.nexthops.map((n) => [n.id, n]));
  for (const [id, nh] of graph.nexthops.data.byId) {
    if (!isOwnedNexthop(nh, fabric)) continue;
    const now = seen.get(id);
    if (!now) out.push(`nexthop ${id} vanished`);
    else if (JSON.stringify(now) !== JSON.stringify(nh)) out.push(`nexthop ${id} changed`);
  }
  for (const nh of snapshot.nexthops) if (isOwnedNexthop(nh, fabric) && !graph.nexthops.data.byId.has(nh.id)) out.push(`nexthop ${nh.id} appeared`);
  const fdb = new Map(snapshot.fdb.map((e) => [fdbKey(e), e]));
  for (const [key, e] of graph.fdb.data.byKey) {
    if (!isOwnedNexthop(e.nhid === undefined ? undefined : graph.nexthops.data.byId.get(e.nhid), fabric)) continue;
    const now = fdb.get(key);
    if (!now) out.push(`fdb ${e.mac} vanished`);
    else if (now.nhid !== e.nhid) out.push(`fdb ${e.mac} changed`);
  }
  return out;
}

function describeFloodChange(c: FloodChange): string {
  return `flood group ${c.command} ${floodGroupText(c.group)}`;
}


function describeChange(c: OfChange): string {
  return c.kind === 'group' ? `group ${c.command} ${groupText(c.group)}` : `flow ${c.command} ${flowText(c.flow)}`;
}

function backoff(failures: number, minMs: number, maxMs: number): number {
  return Math.min(maxMs, minMs * 2 ** Math.max(0, failures - 1));
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
