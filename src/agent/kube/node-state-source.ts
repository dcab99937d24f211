/**
 * The Kubernetes spec source: this node's VtepNodeState, and — when its
 * `spec.groupsFrom` is VtepGroups — this node's Node (its labels) and the
 * VtepGroups of its fabric. Each is kept by a reflector (reflector.ts: list
 * with a field selector, watch from the list's version, resume, re-list
 * only on 410 Gone or the unexpected), so a cluster of N nodes costs the
 * apiserver 3N watches, each sent only what its selector matches.
 *
 * EvpnFabric is not watched: the operator resolves the fabric's settings
 * into the VtepNodeState (DESIGN 3).
 *
 * What reaches the agent:
 *   - groupsFrom Spec (the groups are listed in the object): each changed
 *     spec (by generation and content; the status-only events our own
 *     writes cause are filtered out) → `setSpec`, the whole of it;
 *   - groupsFrom VtepGroups: the settings and the groups that apply to the
 *     node (node-groups.ts), as differences → `updateSpec`: one VtepGroup
 *     event costs that group, a burst of events in one turn of the event
 *     loop is one update. Nothing is handed over until the VtepNodeState,
 *     the Node and the fabric's VtepGroups have all been listed, so the
 *     agent never runs a partial set (until then a restarted agent keeps
 *     what the kernel holds, as before any spec); a new fabric's groups
 *     replace the old ones once they are listed; a re-list hands over only
 *     what differs; an outage changes nothing;
 *   - a spec that fails validation → `rejectSpec` (the previous one keeps
 *     running, its VtepGroups still followed; status says why);
 *   - the object deleted (the node left the fabric's selection) → the
 *     groups withdrawn; the fabric's settings stay and mirroring goes on.
 * Every observed VtepNodeState (and its status) is also handed to
 * `onObserved`, so the status sink knows what the apiserver holds.
 */
import { API_GROUP_VERSION, checkVtepNodeState, type VtepNodeState } from '../../api/index.js';
import type { Logger } from '../../util/log.js';
import type { NodeSettings, NodeSpec, SpecUpdate } from '../model.js';
import { nodeSettingsFrom, nodeSpecFrom } from '../spec.js';
import type { KubeTransport } from './api.js';
import type { ApiserverHealth } from './apiserver-health.js';
import type { KubeEdgeMetrics } from './metrics.js';
import { NodeGroups } from './node-groups.js';
import { errorText, metaOf, Reflector, type KubeObject, type ReflectorSink } from './reflector.js';

export const VTEP_NODE_STATES_PATH = `/apis/${API_GROUP_VERSION}/vtepnodestates`;
export const VTEP_GROUPS_PATH = `/apis/${API_GROUP_VERSION}/vtepgroups`;
export const NODES_PATH = '/api/v1/nodes';

/** The agent's side of the seam (Agent implements it). */
export interface SpecTarget {
  /** A whole spec: settings and every group. */
  setSpec(spec: NodeSpec): void;
  /** Part of one: new settings, groups added or changed, groups gone. */
  updateSpec(update: SpecUpdate): void;
  rejectSpec(message: string): void;
}

/** The node's object as the apiserver holds it now; `exists: false` when there is none. */
export type ObservedNodeState = { exists: true; resourceVersion: string; status: unknown } | { exists: false };

export interface NodeStateSourceOptions {
  transport: KubeTransport;
  node: string;
  target: SpecTarget;
  log: Logger;
  health: ApiserverHealth;
  metrics?: KubeEdgeMetrics;
  onObserved?: (observed: ObservedNodeState) => void;
  /** Server-side watch timeout; each watch picks a value in [t, 2t) so agents do not reconnect in step. */
  watchTimeoutSeconds?: number;
  retryMinMs?: number;
  retryMaxMs?: number;
}

export class NodeStateSource {
  private readonly vns: Reflector;
  /** This node's Node and its fabric's VtepGroups: only while the groups come from VtepGroups. */
  private nodeWatch: Reflector | undefined;
  private groupWatch: { fabric: string; reflector: Reflector } | undefined;
  private readonly groups = new NodeGroups();
  private lastSpecKey: string | undefined;
  /** Where the running groups come from (the last accepted spec's groupsFrom); undefined before any spec and after a deletion. */
  private mode: 'Spec' | 'VtepGroups' | undefined;
  /** The settings the agent runs, and (groupsFrom Spec) its groups. */
  private running: NodeSpec | undefined;
  /** Accepted settings not handed over yet (VtepGroups: waiting for the Node and the groups to be listed). */
  private pendingSettings: NodeSettings | undefined;
  private nodeSeen = true;
  private flushTimer: NodeJS.Immediate | undefined;
  private stopped = false;

  constructor(private readonly opts: NodeStateSourceOptions) {
    this.vns = this.reflector(VTEP_NODE_STATES_PATH, `metadata.name=${opts.node}`, 'vtepnodestates', {
      replace: (objects) => {
        const mine = objects.find((o) => metaOf(o).name === opts.node);
        if (mine) this.applyNodeState(mine);
        else this.applyAbsent();
      },
      event: (type, obj) => {
        if (metaOf(obj).name !== opts.node) return;
        if (type === 'DELETED') this.applyAbsent();
        else this.applyNodeState(obj);
      },
    });
  }

  /** True once the node's VtepNodeState has been listed (the agent knows whether it exists). */
  get synced(): boolean {
    return this.vns.synced;
  }

  /** Resolves once the node's VtepNodeState has been listed (or the source stopped). */
  get listed(): Promise<void> {
    return this.vns.listed;
  }

  /** Starts watching and returns at once: an apiserver that is down at start is an outage like any other. */
  start(): void {
    this.vns.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.flushTimer) clearImmediate(this.flushTimer);
    await Promise.all([this.vns.stop(), this.nodeWatch?.stop(), this.groupWatch?.reflector.stop()]);
  }

  private reflector(path: string, fieldSelector: string, resource: string, sink: ReflectorSink): Reflector {
    const { transport, log, health, metrics, watchTimeoutSeconds, retryMinMs, retryMaxMs } = this.opts;
    return new Reflector({
      transport, path, fieldSelector, resource, sink, log, health, watchTimeoutSeconds, retryMinMs, retryMaxMs,
      onList: () => metrics?.lists.inc({ resource }),
      onWatchEvent: () => metrics?.watchEvents.inc({ resource }),
    });
  }

  // ------------------------------------------------------ VtepNodeState

  private applyNodeState(obj: KubeObject): void {
    const meta = metaOf(obj);
    this.opts.onObserved?.({ exists: true, resourceVersion: typeof meta.resourceVersion === 'string' ? meta.resourceVersion : '', status: obj.status });
    // Our own status writes come back as MODIFIED events: only a different
    // generation or spec is news for the engine.
    const key = `${String(meta.generation)}:${JSON.stringify(obj.spec)}`;
    if (key === this.lastSpecKey) return;
    this.lastSpecKey = key;
    // Only the spec is the agent's input: a status another writer left
    // behind must not make a good spec fail validation.
    const checked = checkVtepNodeState({ apiVersion: obj.apiVersion, kind: obj.kind, metadata: obj.metadata, spec: obj.spec });
    if (!checked.ok) {
      const message = `VtepNodeState ${this.opts.node} (generation ${String(meta.generation)}) rejected: ${checked.error.message}`;
      this.opts.log.error(message);
      this.opts.target.rejectSpec(message);
      return;
    }
    if (checked.value.spec.groupsFrom === 'VtepGroups') this.takeFromVtepGroups(checked.value);
    else this.takeListed(checked.value, String(meta.resourceVersion));
  }

  /** groupsFrom Spec: the object is the whole spec. */
  private takeListed(state: VtepNodeState, resourceVersion: string): void {
    if (this.mode === 'VtepGroups') {
      this.opts.log.info('groups listed in the VtepNodeState again: no longer reading VtepGroups', { node: this.opts.node });
      this.stopGroupWatches();
      // The whole spec replaces every group: the VtepGroups read so far are forgotten.
      this.groups.withdrawAll();
      this.setGauges();
    }
    this.mode = 'Spec';
    this.pendingSettings = undefined;
    const spec = nodeSpecFrom(state);
    this.running = spec;
    this.opts.log.info('desired state applied', { node: this.opts.node, generation: spec.generation, groups: spec.groups.length, resourceVersion });
    this.opts.target.setSpec(spec);
  }

  /** groupsFrom VtepGroups: the object holds the settings; the groups are read from the fabric's VtepGroups. */
  private takeFromVtepGroups(state: VtepNodeState): void {
    const settings = nodeSettingsFrom(state);
    if (this.mode !== 'VtepGroups') {
      this.opts.log.info('reading the fabric\'s VtepGroups (groupsFrom VtepGroups)', { node: this.opts.node, fabric: settings.fabric.name });
      // The groups listed before keep running until the VtepGroups are listed; then only the difference is handed over.
      this.groups.adopt(this.mode === 'Spec' ? (this.running?.groups ?? []) : []);
      this.mode = 'VtepGroups';
    }
    this.groups.setSettings(settings.fabric.name, settings.fabric.localVtepIP);
    this.pendingSettings = settings;
    this.nodeWatch ??= this.startNodeWatch();
    if (this.groupWatch?.fabric !== settings.fabric.name) this.watchGroupsOf(settings.fabric.name);
    this.scheduleFlush();
  }

  private applyAbsent(): void {
    this.opts.onObserved?.({ exists: false });
    if (this.lastSpecKey === 'absent') return;
    const hadSpec = this.lastSpecKey !== undefined;
    this.lastSpecKey = 'absent';
    const mode = this.mode;
    this.mode = undefined;
    this.pendingSettings = undefined;
    if (mode === 'VtepGroups') {
      this.stopGroupWatches();
      const removed = this.groups.withdrawAll();
      this.setGauges();
      if (this.running === undefined) return;
      if (removed.length > 0) this.opts.log.warn('VtepNodeState deleted (node no longer selected by a fabric): withdrawing its groups', { node: this.opts.node, groups: removed.length });
      this.running = { ...this.running, groups: [] };
      this.opts.target.updateSpec({ removed });
      return;
    }
    if (!this.running) {
      this.opts.log.info('no VtepNodeState for this node yet: waiting for the operator to create it', { node: this.opts.node });
      return;
    }
    if (hadSpec && this.running.groups.length > 0) {
      this.opts.log.warn('VtepNodeState deleted (node no longer selected by a fabric): withdrawing its groups', { node: this.opts.node, groups: this.running.groups.length });
    }
    this.running = { ...this.running, groups: [] };
    this.opts.target.setSpec(this.running);
  }

  // ------------------------------------------- Node and VtepGroups

  private startNodeWatch(): Reflector {
    const { node } = this.opts;
    const labelsOf = (obj: KubeObject | undefined): Record<string, string> | undefined => {
      const labels = obj && metaOf(obj).labels;
      return typeof labels === 'object' && labels !== null ? (labels as Record<string, string>) : undefined;
    };
    const take = (obj: KubeObject | undefined): void => {
      if (!obj && this.nodeSeen) this.opts.log.warn('no Node object of this node\'s name: only groups without a nodeSelector that needs labels apply', { node });
      this.nodeSeen = obj !== undefined;
      this.groups.setLabels(obj ? (labelsOf(obj) ?? {}) : undefined);
      this.scheduleFlush();
    };
    const r = this.reflector(NODES_PATH, `metadata.name=${node}`, 'nodes', {
      replace: (objects) => take(objects.find((o) => metaOf(o).name === node)),
      event: (type, obj) => {
        if (metaOf(obj).name === node) take(type === 'DELETED' ? undefined : obj);
      },
    });
    r.start();
    return r;
  }

  /** (Re)starts the VtepGroups watch for `fabric`; the groups of the previous one run until the new list. */
  private watchGroupsOf(fabric: string): void {
    const old = this.groupWatch;
    if (old) {
      this.opts.log.info('fabric changed: reading its VtepGroups', { node: this.opts.node, from: old.fabric, to: fabric });
      void old.reflector.stop();
      this.groups.forget();
    }
    const reflector = this.reflector(VTEP_GROUPS_PATH, `spec.fabric=${fabric}`, 'vtepgroups', {
      replace: (objects) => {
        this.groups.replace(objects);
        this.scheduleFlush();
      },
      event: (type, obj) => {
        this.groups.apply(type, obj);
        this.scheduleFlush();
      },
    });
    this.groupWatch = { fabric, reflector };
    reflector.start();
  }

  private stopGroupWatches(): void {
    void this.nodeWatch?.stop();
    void this.groupWatch?.reflector.stop();
    this.nodeWatch = undefined;
    this.groupWatch = undefined;
    this.nodeSeen = true;
  }

  /**
   * Hands over what changed once the current turn of the event loop has
   * read everything that arrived in it: a burst of watch events is one
   * update, one engine run.
   */
  private scheduleFlush(): void {
    if (this.flushTimer !== undefined || this.stopped) return;
    this.flushTimer = setImmediate(() => {
      this.flushTimer = undefined;
      try {
        this.flush();
      } catch (err) {
        // A bug must not take the process down from a timer: say so; the next event tries again.
        this.opts.log.error('handing VtepGroups to the agent failed', { error: err, message: errorText(err) });
      }
    });
  }

  private flush(): void {
    if (this.mode !== 'VtepGroups') return;
    // Never a partial set: the Node and the fabric's VtepGroups must both have been listed.
    if (!this.nodeWatch?.synced || !this.groupWatch?.reflector.synced) return;
    const changes = this.groups.takeChanges();
    this.setGauges();
    const settings = this.pendingSettings;
    this.pendingSettings = undefined;
    if (settings === undefined && changes.groups.length === 0 && changes.removed.length === 0) return;
    const update: SpecUpdate = { ...(settings ? { settings } : {}), ...(changes.groups.length > 0 ? { groups: changes.groups } : {}), ...(changes.removed.length > 0 ? { removed: changes.removed } : {}) };
    const fields = { node: this.opts.node, changed: changes.groups.length, removed: changes.removed.length, running: this.groups.runningCount, fabricGroups: this.groups.size };
    if (settings) this.opts.log.info('desired state applied', { ...fields, generation: settings.generation, groupsFrom: 'VtepGroups' });
    else this.opts.log.debug('VtepGroups changed', fields);
    if (settings) this.running = { ...settings, groups: [] };
    this.opts.target.updateSpec(update);
  }

  private setGauges(): void {
    this.opts.metrics?.vtepGroups.set({ set: 'fabric' }, this.groups.size);
    this.opts.metrics?.vtepGroups.set({ set: 'node' }, this.groups.runningCount);
  }
}
