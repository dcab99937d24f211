/**
 * The operator's control loop, in controller-runtime's level-triggered
 * style: informers fill caches and turn every change into keys on a work
 * queue; a reconcile takes a key, computes from the caches what that one
 * object should be, compares with what is stored, and writes only the
 * difference. It remembers nothing about the event that woke it.
 *
 * Keys: `vns/<node>` (a node's VtepNodeState spec, and Events about the
 * node), `hb/<node>` (whether the node's agent still reports: its heartbeat
 * Lease, see liveness.ts; a node whose agent went silent gets its status
 * conditions set Unknown, and counts as not ready in the roll-ups),
 * `vg/<name>` (a VtepGroup's status), `ef/<name>` (an EvpnFabric's status).
 *
 * Node specs carry no groups (plan.ts): the agents read the VtepGroups
 * themselves, so a VtepGroup change wakes only its own status key, and the
 * shared plan (fabrics × Nodes) is recomputed only when a fabric or a
 * node's membership or address changed. Each group's nodes are worked out
 * from that plan once per plan and group generation. A VtepNodeState status
 * event wakes only the groups whose entry in it changed (node-reports.ts).
 *
 * Writes run concurrently: every worker has at most one request in flight,
 * and the queue never hands one key to two workers, so `--workers` is the
 * number of writes in flight.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { groupAppliesTo } from '../api/membership.js';
import { COORDINATION_V1, HEARTBEAT_SELECTOR } from '../kube/heartbeat.js';
import type { Logger } from '../util/log.js';
import { WorkQueue, runWorkers, type HandleResult, type WorkQueueMetrics } from '../util/workqueue.js';
import { containsDesired } from './compare.js';
import { findCondition } from './conditions.js';
import type { EventRecorder, InvolvedObject } from './events.js';
import { isConflict, isNotFound, KubeApiError, type KubeClient, ResourceApi } from './kube/client.js';
import { WatchedCache, type ChangeKind } from './kube/informer.js';
import { AgentLiveness, markedNotReporting, notReportingConditions, type HeartbeatLease } from './liveness.js';
import type { OperatorMetrics } from './metrics.js';
import { API_VERSION, FIELD_MANAGER, VTEP_IP_ANNOTATION, type Condition, type EvpnFabric, type Node, type VtepGroup, type VtepNodeState } from './model.js';
import { NodeReports } from './node-reports.js';
import { computePlan, planGroup, type GroupPlan, type Plan } from './plan.js';
import { fabricStatus, groupStatus } from './status.js';

export interface ControllerOptions {
  kc: KubeConfig;
  client: KubeClient;
  log: Logger;
  metrics: OperatorMetrics;
  queueMetrics?: WorkQueueMetrics;
  recorder: EventRecorder;
  workers?: number;
  /** Requeue everything this often (no writes unless something differs). */
  resyncMs?: number;
  /**
   * At most one status write per VtepGroup/EvpnFabric in this interval
   * (default 1 s): when a thousand agents report within a second, the group's
   * status is written a few times, not a thousand.
   */
  statusWriteIntervalMs?: number;
  /** Namespace of the agents' heartbeat Leases (the agents' own, in the chart). */
  heartbeatNamespace: string;
  /** How long an agent that never renewed a heartbeat Lease may stay silent (default 30 s). */
  agentGraceMs?: number;
  now?: () => Date;
  /** Monotonic milliseconds for liveness (default performance.now). */
  monotonic?: () => number;
}

type Kind = 'vns' | 'hb' | 'vg' | 'ef';
/**
 * What one reconcile did. `deferMs`: a status write is due but waits for the
 * coalescing interval. `recheckMs`: done, but look again then (a heartbeat
 * expires).
 */
type Outcome = 'unchanged' | 'written' | { deferMs: number } | { recheckMs: number };

/** What we wrote last for a key, valid while the cache still shows the version we overwrote. */
interface Written<T> {
  baseResourceVersion: string | undefined;
  /** undefined: we deleted it. */
  object: T | undefined;
}

export class Controller {
  readonly fabrics: WatchedCache<EvpnFabric>;
  readonly groups: WatchedCache<VtepGroup>;
  readonly nodes: WatchedCache<Node>;
  readonly states: WatchedCache<VtepNodeState>;
  readonly leases: WatchedCache<HeartbeatLease>;
  readonly liveness: AgentLiveness;
  private readonly fabricApi: ResourceApi<EvpnFabric>;
  private readonly groupApi: ResourceApi<VtepGroup>;
  private readonly stateApi: ResourceApi<VtepNodeState>;
  private readonly queue: WorkQueue<string>;
  private readonly log: Logger;
  private readonly now: () => Date;

  private worldVersion = 0;
  private planCache: { version: number; plan: Plan } | undefined;
  /** Each group against the plan, valid for one plan version and one version of the group (groupPlan). */
  private readonly groupPlans = new Map<string, { key: string; plan: GroupPlan | undefined }>();
  /** What the nodes' agents last said about each group. */
  private readonly reports = new NodeReports();
  private readonly nodeDigests = new Map<string, string>();
  /** What the plan last read of each fabric (see specChanged). */
  private readonly objectDigests = new Map<string, string>();
  private readonly written = new Map<string, Written<unknown>>();
  /** Node problems already announced by an Event (reason+message), so each is told once. */
  private readonly announcedNodeProblems = new Map<string, string>();
  /**
   * Node specs found equal to the plan, by resourceVersion and plan version:
   * a resync or an unrelated event re-checks them without comparing specs
   * that may hold tens of thousands of MACs.
   */
  private readonly verifiedSpecs = new Map<string, { resourceVersion: string; planVersion: number }>();
  /** When each status key was last written (for coalescing). */
  private readonly lastStatusWrite = new Map<string, number>();
  /** Each node's liveness as last rolled up (hb reconcile), to notice when it turns. */
  private readonly reportingNow = new Map<string, boolean>();

  constructor(private readonly options: ControllerOptions) {
    const { kc, client, log } = options;
    this.log = log;
    this.now = options.now ?? (() => new Date());
    const evpn = `/apis/${API_VERSION}`;
    this.fabricApi = new ResourceApi(client, evpn, 'evpnfabrics');
    this.groupApi = new ResourceApi(client, evpn, 'vtepgroups');
    this.stateApi = new ResourceApi(client, evpn, 'vtepnodestates');
    this.queue = new WorkQueue<string>({ name: 'operator', metrics: options.queueMetrics, baseDelayMs: 200, maxDelayMs: 60_000 });
    this.fabrics = new WatchedCache(kc, this.fabricApi, log, (k, o) => this.onFabric(k, o));
    this.groups = new WatchedCache(kc, this.groupApi, log, (k, o) => this.onGroup(k, o));
    this.nodes = new WatchedCache(kc, new ResourceApi<Node>(client, '/api/v1', 'nodes'), log, (k, o) => this.onNode(k, o));
    this.states = new WatchedCache(kc, this.stateApi, log, (k, o) => this.onState(k, o));
    this.liveness = new AgentLiveness({ defaultGraceMs: options.agentGraceMs, now: options.monotonic });
    this.leases = new WatchedCache(
      kc,
      new ResourceApi<HeartbeatLease>(client, COORDINATION_V1, 'leases', options.heartbeatNamespace),
      log,
      (k, o) => this.onLease(k, o),
      { labelSelector: HEARTBEAT_SELECTOR, onInterrupted: () => this.liveness.blinded(), onResumed: () => this.liveness.resumed() },
    );
  }

  /** Starts every informer; resolves when all caches hold their first list. */
  async startCaches(): Promise<void> {
    await Promise.all([this.fabrics.start(), this.groups.start(), this.nodes.start(), this.states.start(), this.leases.start()]);
    this.log.info('caches synced', {
      evpnfabrics: this.fabrics.list().length,
      vtepgroups: this.groups.list().length,
      nodes: this.nodes.list().length,
      vtepnodestates: this.states.list().length,
      heartbeatLeases: this.leases.list().length,
    });
  }

  get synced(): boolean {
    return this.fabrics.synced && this.groups.synced && this.nodes.synced && this.states.synced && this.leases.synced;
  }

  /** Reconciles until `signal` aborts; call after the caches synced (and leadership is ours). */
  async run(signal: AbortSignal): Promise<void> {
    this.enqueueAll();
    const resync = setInterval(() => this.enqueueAll(), this.options.resyncMs ?? 600_000);
    signal.addEventListener('abort', () => this.queue.shutDown(), { once: true });
    try {
      await runWorkers(this.queue, this.options.workers ?? 16, (key) => this.reconcile(key), this.log);
    } finally {
      clearInterval(resync);
    }
  }

  async stop(): Promise<void> {
    await this.queue.shutDownWithDrain();
    await Promise.all([this.fabrics.stop(), this.groups.stop(), this.nodes.stop(), this.states.stop(), this.leases.stop()]);
  }

  // ------------------------------------------------------------ events → keys

  private onFabric(kind: ChangeKind, obj: EvpnFabric): void {
    const key = `ef/${obj.metadata.name}`;
    if (kind === 'delete') this.lastStatusWrite.delete(key);
    if (!this.specChanged(key, kind, obj)) {
      this.queue.add(key); // a status-only change (our own write, usually)
      return;
    }
    this.worldVersion++;
    this.enqueueAll();
  }

  /**
   * A group's spec concerns its own status only: no node spec lists it, and
   * no other group's verdict depends on it (what groups on one node do to
   * each other, the node's agent decides and reports).
   */
  private onGroup(kind: ChangeKind, obj: VtepGroup): void {
    const name = obj.metadata.name;
    if (kind === 'delete') {
      this.lastStatusWrite.delete(`vg/${name}`);
      this.groupPlans.delete(name);
      return;
    }
    // A group nobody has written status for yet (just created) waits one
    // coalescing interval for its first status: its nodes' agents report
    // within it, so the first write usually says n/n at once instead of
    // 0/n, then 1/n, then n/n (a burst of 1,000 new groups was 2.4 status
    // writes each, the apiserver's largest cost in the lab, B10).
    if (kind === 'add' && obj.status === undefined && !this.lastStatusWrite.has(`vg/${name}`)) this.lastStatusWrite.set(`vg/${name}`, Date.now());
    this.queue.add(`vg/${name}`);
  }

  /**
   * Whether an event changed what the plan reads of a fabric: its spec
   * (which moves `generation`), its identity, or its deletion. Status
   * writes — most of the events, and many of them our own — change none of
   * that and must not make every node's spec be re-checked.
   */
  private specChanged(key: string, kind: ChangeKind, obj: EvpnFabric): boolean {
    if (kind === 'delete') {
      this.objectDigests.delete(key);
      return true;
    }
    const m = obj.metadata;
    const digest = JSON.stringify([m.uid, m.generation, m.creationTimestamp, m.deletionTimestamp]);
    if (this.objectDigests.get(key) === digest) return false;
    this.objectDigests.set(key, digest);
    return true;
  }

  private onNode(kind: ChangeKind, node: Node): void {
    const name = node.metadata.name;
    // Kubelets update Node status all the time; only what the plan reads matters.
    const digest =
      kind === 'delete'
        ? ''
        : JSON.stringify([
            node.metadata.uid,
            node.metadata.labels ?? {},
            node.metadata.annotations?.[VTEP_IP_ANNOTATION],
            (node.status?.addresses ?? []).filter((a) => a.type === 'InternalIP'),
            node.metadata.deletionTimestamp,
          ]);
    if (kind !== 'delete' && this.nodeDigests.get(name) === digest) return;
    if (kind === 'delete') this.nodeDigests.delete(name);
    else this.nodeDigests.set(name, digest);
    this.worldVersion++;
    this.queue.add(`vns/${name}`);
    // Its labels may move it into or out of any group.
    for (const g of this.groups.list()) this.queue.add(`vg/${g.metadata.name}`);
    for (const f of this.fabrics.list()) this.queue.add(`ef/${f.metadata.name}`);
  }

  private onState(kind: ChangeKind, state: VtepNodeState): void {
    const node = state.metadata.name;
    let changed: string[];
    if (kind === 'delete') {
      this.liveness.forget(node);
      this.reportingNow.delete(node);
      changed = this.reports.forget(node);
    } else {
      this.liveness.observeReport(node, state.status?.lastReportTime);
      changed = this.reports.observe(state);
    }
    // Also when the verdict stands: someone may have overwritten the mark.
    this.queue.add(`hb/${node}`);
    this.queue.add(`vns/${node}`);
    for (const g of changed) this.queue.add(`vg/${g}`);
    if (state.spec?.fabric) this.queue.add(`ef/${state.spec.fabric}`);
  }

  private onLease(kind: ChangeKind, lease: HeartbeatLease): void {
    const node = lease.metadata.name;
    if (kind === 'delete') this.liveness.forgetLease(node);
    else this.liveness.observeLease(lease);
    if (!this.states.get(node)) return;
    // Renewals are the common case (one per node per interval): only a turn needs a reconcile now.
    // Otherwise the check at expiry stands; it moves earlier if the Lease got shorter (a new interval).
    const verdict = this.liveness.verdict(node);
    if (verdict.reporting !== this.reportingNow.get(node)) this.queue.add(`hb/${node}`);
    else if (verdict.reporting) this.queue.addAfter(`hb/${node}`, Math.ceil(verdict.expiresInMs) + 100);
  }

  /** Whether `node`'s agent counts as reporting now (for the roll-ups). */
  private reporting(node: string): boolean {
    return this.liveness.verdict(node).reporting;
  }

  /** Node specs first (what the agents wait for), then the roll-ups. */
  private enqueueAll(): void {
    const nodes = new Set([...this.nodes.list().map((n) => n.metadata.name), ...this.states.list().map((s) => s.metadata.name)]);
    for (const n of nodes) this.queue.add(`vns/${n}`);
    for (const g of this.groups.list()) this.queue.add(`vg/${g.metadata.name}`);
    for (const f of this.fabrics.list()) this.queue.add(`ef/${f.metadata.name}`);
    for (const s of this.states.list()) this.queue.add(`hb/${s.metadata.name}`);
  }

  /** The desired world, recomputed only when its inputs changed. */
  plan(): Plan {
    if (this.planCache?.version !== this.worldVersion) {
      this.planCache = { version: this.worldVersion, plan: computePlan(this.fabrics.list(), this.nodes.list()) };
    }
    return this.planCache.plan;
  }

  /** `group` against the current plan, worked out again only when the plan or the group's spec moved. */
  private groupPlan(group: VtepGroup): GroupPlan | undefined {
    const plan = this.plan();
    const m = group.metadata;
    const key = `${this.planCache!.version}/${m.uid}/${m.generation}/${m.deletionTimestamp ?? ''}`;
    const cached = this.groupPlans.get(m.name);
    if (cached?.key === key) return cached.plan;
    const gp = planGroup(group, plan);
    this.groupPlans.set(m.name, { key, plan: gp });
    return gp;
  }

  // ------------------------------------------------------------ reconcile

  private async reconcile(key: string): Promise<HandleResult | void> {
    const slash = key.indexOf('/');
    const kind = key.slice(0, slash) as Kind;
    const name = key.slice(slash + 1);
    const end = this.options.metrics.reconcileSeconds.startTimer({ kind });
    try {
      let outcome: Outcome;
      if (kind === 'vns') outcome = await this.reconcileNodeState(name);
      else if (kind === 'hb') outcome = await this.reconcileLiveness(name);
      else if (kind === 'vg') outcome = await this.reconcileGroupStatus(name);
      else outcome = await this.reconcileFabricStatus(name);
      const result = typeof outcome === 'string' ? outcome : 'deferMs' in outcome ? 'deferred' : 'unchanged';
      this.options.metrics.reconciles.inc({ kind, result });
      if (typeof outcome !== 'string') return { requeueAfterMs: 'deferMs' in outcome ? outcome.deferMs : outcome.recheckMs };
    } catch (err) {
      this.options.metrics.reconciles.inc({ kind, result: 'error' });
      throw err;
    } finally {
      end();
    }
  }

  /** Milliseconds until `key` may write status again (0: now). */
  private statusWriteDelay(key: string): number {
    const last = this.lastStatusWrite.get(key);
    if (last === undefined) return 0;
    return Math.max(0, last + (this.options.statusWriteIntervalMs ?? 1000) - Date.now());
  }

  /** The cached object, or what we wrote if the cache has not caught up with our write yet. */
  private current<T extends { metadata: { resourceVersion?: string } }>(key: string, cached: T | undefined): T | undefined {
    const w = this.written.get(key) as Written<T> | undefined;
    if (!w) return cached;
    if (cached?.metadata.resourceVersion === w.baseResourceVersion) return w.object;
    this.written.delete(key);
    return cached;
  }

  private async reconcileNodeState(name: string): Promise<Outcome> {
    const key = `vns/${name}`;
    const plan = this.plan();
    this.announceNodeProblem(name, plan);
    const desired = plan.specs.get(name);
    const cached = this.states.get(name);
    const actual = this.current(key, cached);
    if (!desired) {
      this.verifiedSpecs.delete(name);
      if (!actual) return 'unchanged';
      this.log.info('removing VtepNodeState of a node no longer selected', { node: name });
      try {
        await this.stateApi.delete(name, actual.metadata.uid);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      // Until the watch reports the deletion, remember it so a requeue does not delete again.
      this.written.set(key, { baseResourceVersion: cached?.metadata.resourceVersion, object: undefined });
      return 'written';
    }
    const planVersion = this.planCache!.version;
    const verified = this.verifiedSpecs.get(name);
    const rv = actual?.metadata.resourceVersion;
    if (rv !== undefined && verified?.resourceVersion === rv && verified.planVersion === planVersion) return 'unchanged';
    const node = plan.nodes.get(name)!;
    const ownerReferences = [{ apiVersion: 'v1', kind: 'Node', name, uid: node.metadata.uid!, controller: true }];
    if (actual && containsDesired(actual.spec, desired) && containsDesired(actual.metadata.ownerReferences, ownerReferences)) {
      if (rv !== undefined) this.verifiedSpecs.set(name, { resourceVersion: rv, planVersion });
      return 'unchanged';
    }
    let applied: VtepNodeState;
    try {
      applied = await this.stateApi.apply({ apiVersion: API_VERSION, kind: 'VtepNodeState', metadata: { name, ownerReferences }, spec: desired }, FIELD_MANAGER);
    } catch (err) {
      // apply() asks for strict field validation: a CRD that predates a field
      // we write refuses the object instead of silently dropping the field
      // (a dropped groupsFrom would read as "Spec" with no groups: every
      // agent would withdraw its groups).
      if (err instanceof KubeApiError && err.status >= 400 && err.status < 500 && /unknown field/i.test(err.detail)) {
        this.log.error('the VtepNodeState CRD is older than this operator: apply the CRDs of this release (README, Upgrading); the node keeps its spec', { node: name, detail: err.detail });
      }
      throw err;
    }
    this.log.info(actual ? 'updated VtepNodeState spec' : 'created VtepNodeState', { node: name, fabric: desired.fabric, localVtepIP: desired.localVtepIP });
    this.written.set(key, { baseResourceVersion: cached?.metadata.resourceVersion, object: applied });
    return 'written';
  }

  /**
   * Liveness of one node's agent: rolls a turn up into its groups and fabric
   * (and an Event), and marks the status of a node whose agent stopped
   * reporting (every condition Unknown, AgentNotReporting) — once; the agent
   * replaces the whole status when it reports again. While the agent
   * reports, looks again when its heartbeat would expire.
   */
  private async reconcileLiveness(name: string): Promise<Outcome> {
    const state = this.states.get(name);
    if (!state) {
      this.reportingNow.delete(name);
      this.updateNotReportingGauge();
      return 'unchanged';
    }
    const verdict = this.liveness.verdict(name);
    const was = this.reportingNow.get(name);
    if (was !== verdict.reporting) {
      this.reportingNow.set(name, verdict.reporting);
      this.updateNotReportingGauge();
      for (const g of this.groupsTouching(name, state.spec?.fabric)) this.queue.add(`vg/${g}`);
      if (state.spec?.fabric) this.queue.add(`ef/${state.spec.fabric}`);
      const involved = { apiVersion: API_VERSION, kind: 'VtepNodeState', name, uid: state.metadata.uid };
      if (!verdict.reporting) {
        this.log.warn('agent not reporting', { node: name, detail: verdict.message });
        this.options.recorder.warning(involved, 'AgentNotReporting', verdict.message);
      } else if (was === false) {
        this.log.info('agent reporting again', { node: name });
        this.options.recorder.normal(involved, 'AgentReporting', 'the agent renews its heartbeat again');
      }
    }
    if (verdict.reporting) return { recheckMs: Math.ceil(verdict.expiresInMs) + 100 };
    if (markedNotReporting(state.status?.conditions)) return 'unchanged';
    const conditions = notReportingConditions(state.status?.conditions, verdict.message, this.now());
    try {
      // Only over the status this verdict was made on: if the agent wrote meanwhile, it is alive after all.
      await this.stateApi.patchStatus(name, { conditions }, FIELD_MANAGER, state.metadata.resourceVersion);
    } catch (err) {
      if (isNotFound(err)) return 'unchanged';
      if (isConflict(err)) return { recheckMs: 0 };
      throw err;
    }
    this.log.info('marked VtepNodeState not reporting', { node: name });
    return 'written';
  }

  /** Groups whose roll-up reads `node`: those it reports on, and those that apply to it (rare: a liveness turn). */
  private groupsTouching(node: string, fabric: string | undefined): Set<string> {
    const names = new Set(this.reports.groupsOf(node));
    const labels = this.nodes.get(node)?.metadata.labels;
    if (fabric !== undefined) for (const g of this.groups.list()) if (groupAppliesTo(g, fabric, labels)) names.add(g.metadata.name);
    return names;
  }

  private updateNotReportingGauge(): void {
    let silent = 0;
    for (const r of this.reportingNow.values()) if (!r) silent++;
    this.options.metrics.agentsNotReporting.set(silent);
  }

  private announceNodeProblem(name: string, plan: Plan): void {
    const problem = plan.nodeProblems.get(name);
    const said = this.announcedNodeProblems.get(name);
    if (!problem) {
      this.announcedNodeProblems.delete(name);
      return;
    }
    const text = `${problem.reason}\u0000${problem.message}`;
    if (said === text) return;
    this.announcedNodeProblems.set(name, text);
    const node = plan.nodes.get(name);
    this.log.warn('node cannot join its fabric', { node: name, fabric: problem.fabric, reason: problem.reason, detail: problem.message });
    this.options.recorder.warning({ apiVersion: 'v1', kind: 'Node', name, uid: node?.metadata.uid }, problem.reason, problem.message);
  }

  private async reconcileGroupStatus(name: string): Promise<Outcome> {
    const key = `vg/${name}`;
    const cached = this.groups.get(name);
    const actual = this.current(key, cached);
    const gp = actual && this.groupPlan(actual);
    if (!gp || !actual) return 'unchanged';
    const desired = groupStatus(gp, (n, g) => this.reports.report(n, g), actual.status, this.now(), (n) => this.reporting(n));
    if (containsDesired(actual.status, desired)) return 'unchanged';
    const delay = this.statusWriteDelay(key);
    if (delay > 0) return { deferMs: delay };
    const updated = await this.groupApi.patchStatus(name, desired, FIELD_MANAGER);
    this.lastStatusWrite.set(key, Date.now());
    this.written.set(key, { baseResourceVersion: cached?.metadata.resourceVersion, object: updated });
    this.log.info('updated VtepGroup status', { group: name, ready: desired.ready, generation: desired.observedGeneration });
    this.announceTransitions(
      { apiVersion: API_VERSION, kind: 'VtepGroup', name, uid: actual.metadata.uid },
      actual.status?.conditions,
      desired.conditions ?? [],
    );
    return 'written';
  }

  private async reconcileFabricStatus(name: string): Promise<Outcome> {
    const key = `ef/${name}`;
    const plan = this.plan();
    const fp = plan.fabrics.get(name);
    const cached = this.fabrics.get(name);
    const actual = this.current(key, cached);
    if (!fp || !actual) return 'unchanged';
    const desired = fabricStatus(fp, (n) => this.states.get(n), (n) => plan.specs.get(n), actual.status, this.now(), (n) => this.reporting(n));
    if (containsDesired(actual.status, desired)) return 'unchanged';
    const delay = this.statusWriteDelay(key);
    if (delay > 0) return { deferMs: delay };
    const updated = await this.fabricApi.patchStatus(name, desired, FIELD_MANAGER);
    this.lastStatusWrite.set(key, Date.now());
    this.written.set(key, { baseResourceVersion: cached?.metadata.resourceVersion, object: updated });
    this.log.info('updated EvpnFabric status', { fabric: name, nodesReady: desired.nodesReady, nodesTotal: desired.nodesTotal });
    this.announceTransitions(
      { apiVersion: API_VERSION, kind: 'EvpnFabric', name, uid: actual.metadata.uid },
      actual.status?.conditions,
      desired.conditions ?? [],
    );
    return 'written';
  }

  /** Events for Ready and Degraded changing (the recorder rate-limits them per object). */
  private announceTransitions(obj: InvolvedObject, before: readonly Condition[] | undefined, after: readonly Condition[]): void {
    const r = this.options.recorder;
    const oldReady = findCondition(before, 'Ready');
    const newReady = findCondition(after, 'Ready');
    if (newReady && oldReady?.status !== newReady.status) {
      if (newReady.status === 'True') r.normal(obj, 'Ready', newReady.message);
      else if (oldReady) r.normal(obj, 'NotReady', newReady.message);
    }
    const oldDegraded = findCondition(before, 'Degraded');
    const newDegraded = findCondition(after, 'Degraded');
    if (newDegraded?.status === 'True' && (oldDegraded?.status !== 'True' || oldDegraded.reason !== newDegraded.reason)) {
      r.warning(obj, newDegraded.reason, newDegraded.message);
    } else if (newDegraded?.status === 'False' && oldDegraded?.status === 'True') {
      r.normal(obj, 'Recovered', `no longer degraded (was ${oldDegraded.reason})`);
    }
  }
}
