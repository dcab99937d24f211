/**
 * The agent's main loop, level-triggered: whatever woke it (a kernel event,
 * a new spec, an OVS interface change, a reconnect, a retry, the audit
 * timer), one iteration
 *   1. folds the kernel's news into the engine's input nodes (kernelctrl),
 *   2. runs the engine,
 *   3. hands kernelDesired's difference to the kernel (kernelctrl), which
 *      feeds what the kernel acknowledged back in and runs the engine again,
 *   4. hands ofDesired's difference to Open vSwitch as one atomic bundle
 *      (ofctrl),
 *   5. publishes the status when it changed.
 * Only one iteration runs at a time; news arriving meanwhile wakes the next.
 */
import type { Registry } from 'prom-client';
import type { VtepNodeStateStatus } from '../api/index.js';
import type { Logger } from '../util/log.js';
import { createAgentGraph, type AgentGraph } from './engine/graph.js';
import { KernelCtrl } from './kernelctrl.js';
import { AgentMetrics } from './metrics.js';
import type { NodeSettings, NodeSpec, SpecUpdate } from './model.js';
import { OfCtrl } from './ofctrl.js';
import type { KernelPort, OvsPort } from './ports.js';
import { StatusPublisher } from './status-publisher.js';

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
  /** How often the MACs Open vSwitch learned are read, to count and export them (0 disables it). */
  learnedPollMs?: number;
  /** First and longest delay between OVS reconnect attempts / failed-write retries. */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** Bytes of status past which Programmed groups are listed in short form (default 1 MiB; status-size.ts). */
  statusBudgetBytes?: number;
}

export class Agent {
  readonly graph: AgentGraph = createAgentGraph();
  readonly metrics: AgentMetrics;
  private readonly log: Logger;
  private readonly kernel: KernelCtrl;
  private readonly of: OfCtrl;
  private readonly publisher: StatusPublisher;
  /** The settings of the spec applied (its groups are the nodeState node's). */
  private settings: NodeSettings | undefined;
  private specError: string | undefined;
  private stopped = false;
  private started = false;
  private wake: (() => void) | undefined;
  private workPending = true;
  private loopDone: Promise<void> | undefined;
  private iterationWaiters: Array<() => void> = [];
  /** When the oldest kernel event or spec change not yet answered by an OVS commit arrived. */
  private pendingSince: number | undefined;
  private auditDue = false;
  private learnedDue = false;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly opts: AgentOptions) {
    this.log = opts.logger;
    this.metrics = new AgentMetrics(opts.registry, this.graph.engine);
    const retry = { retryMinMs: opts.retryMinMs ?? 500, retryMaxMs: opts.retryMaxMs ?? 10_000 };
    const common = { metrics: this.metrics, log: this.log, wake: () => this.kick(), onDrift: (what: string) => this.publisher.noteDrift(what), ...retry };
    this.kernel = new KernelCtrl({ port: opts.kernel, graph: this.graph, ...common });
    this.of = new OfCtrl({ port: opts.ovs, news: this.graph, ...common });
    this.publisher = new StatusPublisher(this.graph, this.metrics, this.log, opts.onStatus, opts.statusBudgetBytes);
  }

  /** True once the kernel and OVS were both found in sync with a spec. */
  get ready(): boolean {
    return this.publisher.ready;
  }

  get status(): VtepNodeStateStatus | undefined {
    return this.publisher.status;
  }

  /** A new desired state (validated), settings and every group: applied by the next iteration. */
  setSpec(spec: NodeSpec): void {
    this.graph.nodeState.set(spec);
    this.takeSettings(spec);
    this.markPending();
    this.kick();
  }

  /**
   * Part of a desired state (validated): new settings, groups added or
   * changed, groups gone — what changed among the VtepGroups the agent
   * reads. Updates arriving before the next iteration are applied together.
   * Only new settings (a new VtepNodeState) clear a rejection.
   */
  updateSpec(update: SpecUpdate): void {
    this.graph.nodeState.update(update);
    if (update.settings) this.takeSettings(update.settings);
    this.markPending();
    this.kick();
  }

  private takeSettings(settings: NodeSettings): void {
    this.settings = { generation: settings.generation, fabric: settings.fabric };
    this.specError = undefined;
    const f = settings.fabric;
    this.of.configure({ bridge: f.ovs.bridge, tunnelPort: f.ovs.tunnelPort, vxlanPort: f.vxlan.port, tableBase: f.ovs.tableBase, groupIdRange: f.ovs.groupIdRange, cookie: f.ovs.cookie, cookieMask: f.ovs.cookieMask });
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
    this.of.compareAll();
    this.kick();
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.kernel.start();
    this.loopDone = this.loop();
    void this.pumpKernel();
    this.every(this.opts.auditIntervalMs ?? 30_000, () => (this.auditDue = true));
    this.every(this.opts.learnedPollMs ?? 2_000, () => (this.learnedDue = true));
  }

  private every(ms: number, due: () => void): void {
    if (ms <= 0) return;
    const t = setInterval(() => {
      due();
      this.kick();
    }, ms);
    t.unref();
    this.timers.add(t);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.kick();
    await this.loopDone;
    this.kernel.close();
    this.of.close();
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
    const g = this.graph;
    return {
      kernelRead: this.kernel.complete,
      graph: g.engine.describe(),
      stats: g.engine.nodeStats(),
      desired: { ofGroups: g.ofDesired.data.groups.size, ofFlows: g.ofDesired.data.flows.size, kernelGroups: g.kernelDesired.data.groups.size, kernelFdb: g.kernelDesired.data.fdb.size },
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
        // A bug or an unexpected failure must not stop the agent: log it with its stack, retry later.
        this.log.error('agent iteration failed', { error: err });
        const t = setTimeout(() => {
          this.timers.delete(t);
          this.kick();
        }, 1000);
        t.unref();
        this.timers.add(t);
      }
      for (const resolve of this.iterationWaiters.splice(0)) resolve();
    }
    for (const resolve of this.iterationWaiters.splice(0)) resolve();
  }

  private async iteration(): Promise<void> {
    const audit = this.auditDue;
    const learned = this.learnedDue;
    this.auditDue = false;
    this.learnedDue = false;
    if (learned) await this.of.pollLearned();
    // Taken where the kernel's news is drained, with no await in between: a
    // change that arrived during the read above is answered (and measured)
    // by this iteration, not committed here and counted by none. News
    // arriving from here on is a later iteration's, measured from its own
    // arrival. News drained before its waker marked it is measured from now.
    let since = this.pendingSince;
    this.pendingSince = undefined;
    if (this.kernel.intake() > 0) since ??= performance.now();
    if (audit) this.kernel.requestAudit();
    this.runEngine();
    const spec = this.settings;
    if (spec) {
      await this.kernel.sync(spec, () => this.runEngine());
      this.of.ensureConnected();
      if (audit) this.of.requestAudit();
      const outcome = await this.of.sync(this.graph.ofDesired.data, since, this.kernel.complete);
      // Not answered yet (OVS unreachable or backing off): keep waiting from the same moment.
      if (outcome === 'blocked' && since !== undefined) this.pendingSince = Math.min(since, this.pendingSince ?? since);
    }
    this.publisher.publish({
      generation: spec?.generation,
      specError: this.specError,
      kernelManaged: spec?.fabric.kernel.manage ?? true,
      kernelSynced: this.kernel.facts.synced,
      kernelMessage: this.kernel.facts.message,
      ovsConnected: this.of.facts.connected,
      ovsMessage: this.of.facts.message,
      ovsSynced: this.of.facts.synced,
      ovsSyncMessage: this.of.facts.syncMessage,
      tunnelProblem: this.graph.ovs.data.tunnelProblem,
    });
  }

  private runEngine(): void {
    const report = this.graph.engine.run();
    this.metrics.engineRun.observe(report.durationMs / 1000);
    this.of.noteDesiredChanges(this.graph.ofDesired.data.tracked);
    this.kernel.noteChanges();
    this.publisher.noteReportChanges(this.graph.status.data.tracked);
    if (report.durationMs > 500) this.log.info('slow engine run', { ms: Math.round(report.durationMs), recomputed: report.recomputed });
  }
}
