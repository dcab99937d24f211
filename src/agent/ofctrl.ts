/**
 * ofctrl — the agent's one owner of Open vSwitch (the counterpart of
 * ovn-controller's ofctrl.c): the connection and its state machine, the
 * mirror of what the bridge holds of ours, the one diff (openflow/diff.ts),
 * the bundle commit, the read-back audit and drift.
 *
 * The engine only computes what should be (ofDesired). What ofctrl learns
 * goes back in through input nodes, never by writing other nodes' data:
 * the bridge's interfaces into `ovs`; after a (re)connect the ids a
 * previous agent gave out and the installed slot tables into `ofInstalled`;
 * after each commit the group ids it added and deleted into `ofInstalled`
 * (which lets groupIds release quarantined ids).
 *
 * Connection: connect OpenFlow and OVSDB, ensure the tunnel port, read the
 * interfaces, read what is installed (groups in our range, flows under our
 * cookie) and adopt it; then every sync sends only the difference, so a
 * restart of the agent or of ovs-vswitchd deletes and re-adds nothing that
 * was right. A lost connection or a refused bundle re-reads the bridge
 * before trying again, with backoff.
 */
import type { Logger } from '../util/log.js';
import { deepEqual } from '../util/equal.js';
import type { Adoption, OfInstalledNode } from './engine/nodes/of-installed.js';
import type { OvsNode } from './engine/nodes/ovs.js';
import type { OfDesiredData } from './engine/nodes/of-desired.js';
import { installedSlotTables, redealtShare, slotTableOf } from './hash-slots.js';
import type { AgentMetrics } from './metrics.js';
import type { OfGroup } from './model.js';
import { planOfSync, type OfState } from './openflow/diff.js';
import { flowKey, fromFlowStats, fromGroupDesc, Pipeline, type OfChange, type PipelineSettings } from './openflow/pipeline.js';
import { describeChange } from './openflow/text.js';
import type { BridgeSettings, OvsPort } from './ports.js';
import { backoff, errorText, summarize } from './retry.js';

export type OvsSettings = BridgeSettings & PipelineSettings;

const ALL_COOKIE_BITS = 0xffffffffffffffffn;

/** What an OVS sync did: committed a bundle, found nothing to do, or could not run (not connected, backing off, refused). */
export type SyncOutcome = 'committed' | 'idle' | 'blocked';

export interface OfCtrlOptions {
  port: OvsPort;
  news: { ovs: OvsNode; ofInstalled: OfInstalledNode };
  metrics: AgentMetrics;
  log: Logger;
  /** Wakes the agent's loop (something to do: connected, lost, a retry is due). */
  wake: () => void;
  /** A difference between what we installed and what the bridge holds. */
  onDrift: (what: string) => void;
  retryMinMs: number;
  retryMaxMs: number;
}

interface Read {
  installed: OfState;
  adoption: { groups: Map<number, number>; floodGroups: Map<number, number> };
}

/** Flows translated between two turns of the event loop when the bridge is read back. */
const READ_SLICE = 5_000;

interface AuditRead {
  touched: { groups: Set<number>; flows: Set<string> };
  read?: Read;
  error?: unknown;
}

export class OfCtrl {
  private settings: OvsSettings | undefined;
  private pipeline: Pipeline | undefined;
  private connected = false;
  private connecting = false;
  private message = 'not connected yet';
  private synced = false;
  private syncMessage = '';
  private failures = 0;
  private connections = 0;
  private retryAt = 0;
  private installed: OfState | undefined;
  /** Paths and buckets of the select groups in `installed`, and its flood groups, kept change by change. */
  private tally = { paths: 0, buckets: 0, floodGroups: 0 };
  /** What changed in ofDesired since the last commit, or everything. */
  private scope = { full: true, groups: new Set<number>(), flows: new Set<string>() };
  /** A read-back under way (requestAudit), and what commits touched since it began. */
  private auditing: AuditRead | undefined;
  /** Modifies or deletes were held back while the first kernel dump was partial (sync). */
  private deferredWhilePartial = false;
  private stopped = false;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly opts: OfCtrlOptions) {
    opts.port.onInterfaces((ifaces) => {
      if (!this.settings) return;
      opts.news.ovs.setInterfaces(this.settings.tunnelPort, ifaces);
      opts.wake();
    });
    opts.port.onDisconnect((reason) => {
      if (!this.connected) return;
      opts.log.warn('Open vSwitch connection lost', { reason });
      this.drop(reason);
      opts.wake();
    });
  }

  /** Connection and sync facts for status. */
  get facts() {
    return { connected: this.connected, message: this.message, synced: this.connected && this.synced, syncMessage: this.syncMessage };
  }

  /** The settings of the current spec; new ones (another bridge, table, cookie…) reconnect and re-read. */
  configure(settings: OvsSettings): void {
    if (this.settings && deepEqual(this.settings, settings)) return;
    const previous = this.settings;
    this.settings = settings;
    this.pipeline = new Pipeline(settings);
    if (previous) {
      this.opts.log.info('OVS settings changed: reconnecting', { bridge: settings.bridge });
      this.drop('OVS settings changed');
    }
  }

  /** What an engine run changed in ofDesired: the next sync compares those keys (or everything). */
  noteDesiredChanges(tracked: OfDesiredData['tracked']): void {
    if (tracked.full) this.scope = { full: true, groups: new Set(), flows: new Set() };
    // A full diff is pending anyway (first sync, reconnect): no need to remember keys.
    if (this.scope.full) return;
    for (const id of tracked.changedGroups) this.scope.groups.add(id);
    for (const key of tracked.changedFlows) this.scope.flows.add(key);
  }

  /** POST /debug/recompute: compare everything on the next sync. */
  compareAll(): void {
    this.scope.full = true;
  }

  /** Starts connecting when not connected (in the background; the loop is woken when done). */
  ensureConnected(): void {
    if (this.connected || this.connecting || !this.settings || this.stopped) return;
    this.connecting = true;
    const settings = this.settings;
    void (async () => {
      const port = this.opts.port;
      try {
        await port.connect(settings.bridge);
        await port.ensureTunnelPort(settings);
        const interfaces = await port.interfaces();
        // Hand the list over before anything else can yield: a monitor update
        // that arrives later (say, ovs-vswitchd giving the new tunnel port its
        // ofport) is newer and must not be overwritten by this read.
        this.opts.news.ovs.setInterfaces(settings.tunnelPort, interfaces);
        const read = await this.read(settings);
        if (settings !== this.settings) throw new Error('OVS settings changed while connecting');
        this.setInstalled(read.installed, { ...read.adoption, slots: installedSlotTables(read.installed.groups.values()) });
        this.scope.full = true;
        this.connected = true;
        this.message = '';
        this.failures = 0;
        this.connections += 1;
        if (this.connections > 1) this.opts.metrics.ovsReconnects.inc();
        this.opts.log.info('connected to Open vSwitch', { bridge: settings.bridge, groups: read.installed.groups.size, flows: read.installed.flows.size });
      } catch (err) {
        this.failures += 1;
        const message = errorText(err);
        if (message !== this.message) this.opts.log.warn('cannot reach Open vSwitch; retrying', { error: message });
        this.message = message;
        port.close();
        this.retryAfter(backoff(this.failures, this.opts.retryMinMs, this.opts.retryMaxMs));
      } finally {
        this.connecting = false;
        this.opts.wake();
      }
    })();
  }

  /**
   * Sends the difference between ofDesired and the mirror as one atomic
   * bundle. `since` is when the oldest news it answers arrived: a commit
   * observes the convergence time from it. `kernelComplete` false: the
   * first kernel dump is still being read (only additions are made).
   */
  async sync(desired: OfState, since: number | undefined, kernelComplete = true): Promise<SyncOutcome> {
    const settings = this.settings;
    const pipeline = this.pipeline;
    if (!this.connected || !this.installed || !settings || !pipeline || Date.now() < this.retryAt) return 'blocked';
    this.finishAudit();
    // The whole comparison, deferred while the kernel was partly read, is due once it is read.
    if (kernelComplete && this.deferredWhilePartial) {
      this.deferredWhilePartial = false;
      this.scope.full = true;
    }
    const scope = this.scope.full ? undefined : { groups: this.scope.groups, flows: this.scope.flows };
    const installed = this.installed;
    let changes = planOfSync(desired, installed, scope);
    this.scope = { full: false, groups: new Set(), flows: new Set() };
    if (!kernelComplete) {
      // The first kernel dump is still arriving: what OVS holds (from this
      // agent's last run) may be right for entries not read yet, and a
      // flood group may have more destinations than read so far. Only what
      // OVS lacks is added now (a cold start programs OVS while the dump
      // goes on); modifies and deletes wait for the complete dump.
      const before = changes.length;
      changes = changes.filter((c) => c.command === 'add' && !(c.kind === 'group' ? installed.groups.has(c.group.groupId) : installed.flows.has(c.key)));
      if (changes.length < before) this.deferredWhilePartial = true;
    }
    if (changes.length > 0) {
      try {
        await this.opts.port.commit({ length: changes.length, at: (i) => (i < changes.length ? pipeline.toMessage(changes[i]!) : undefined) });
      } catch (err) {
        await this.recover(settings, changes, err);
        return 'blocked';
      }
      this.applyCommitted(changes);
      if (since !== undefined) this.opts.metrics.convergence.observe((performance.now() - since) / 1000);
      this.opts.log.debug('OpenFlow bundle committed', { changes: changes.length });
    }
    this.failures = 0;
    this.synced = kernelComplete;
    this.syncMessage = kernelComplete ? '' : 'reading the kernel: only missing groups and flows added so far';
    this.setProgrammedGauges();
    return changes.length > 0 ? 'committed' : 'idle';
  }

  /**
   * Starts a read-back of the bridge; the sync after it arrives compares it
   * (finishAudit). Commits go on meanwhile: at 100,000 flows the read takes
   * a second or more, and awaiting it held every kernel change back that
   * long (B5: adds and deletes of the same MAC within it never reached OVS).
   */
  requestAudit(): void {
    const settings = this.settings;
    if (this.auditing || !this.connected || !this.installed || !settings) return;
    const audit: AuditRead = { touched: { groups: new Set(), flows: new Set() } };
    this.auditing = audit;
    this.read(settings)
      .then((read) => (audit.read = read), (err: unknown) => (audit.error = err ?? 'unknown error'))
      .finally(() => this.opts.wake());
  }

  /**
   * What differs between a finished read-back and what we believe we
   * installed is drift: reported, taken as installed, and repaired by the
   * sync that follows. Objects a commit touched since the read began are
   * left out: the read may show them before or after it.
   */
  private finishAudit(): void {
    const audit = this.auditing;
    if (!audit || (audit.read === undefined && audit.error === undefined)) return;
    this.auditing = undefined;
    if (audit.error !== undefined) {
      this.opts.log.warn('OVS audit read failed', { error: errorText(audit.error) });
      return;
    }
    const installed = this.installed;
    if (!installed) return;
    const actual = audit.read!.installed;
    const { touched } = audit;
    const differences = planOfSync(installed, actual).filter((c) => (c.kind === 'group' ? !touched.groups.has(c.group.groupId) : !touched.flows.has(c.key)));
    if (differences.length === 0) return;
    this.opts.metrics.drift.inc({ dataplane: 'ovs' }, differences.length);
    this.opts.onDrift(`ovs: ${summarize(differences.map(describeChange), 3)}`);
    for (const c of differences) {
      if (c.kind === 'group') {
        const now = actual.groups.get(c.group.groupId);
        if (now) installed.groups.set(c.group.groupId, now);
        else installed.groups.delete(c.group.groupId);
      } else {
        const now = actual.flows.get(c.key);
        if (now) installed.flows.set(c.key, now);
        else installed.flows.delete(c.key);
      }
    }
    this.setInstalled(installed);
    this.scope.full = true;
  }

  /**
   * Reads the flows Open vSwitch learned for ports without attached-mac and
   * hands their MACs to the engine (status counts them, the kernel export
   * advertises them). Open vSwitch writes and ages those flows itself.
   */
  async pollLearned(): Promise<void> {
    const pipeline = this.pipeline;
    if (!this.connected || !pipeline) return;
    let flows;
    try {
      flows = await this.opts.port.dumpFlows(pipeline.learnedCookie, ALL_COOKIE_BITS);
    } catch (err) {
      this.opts.log.warn('reading learned MACs failed', { error: errorText(err) });
      return;
    }
    const learned = new Map<number, Map<string, number>>();
    for (const stats of flows) {
      const at = pipeline.learnedMac(fromFlowStats(stats));
      if (!at) continue;
      let byMac = learned.get(at.vni);
      if (!byMac) learned.set(at.vni, (byMac = new Map()));
      byMac.set(at.mac, at.port);
    }
    this.opts.news.ovs.setLearned(learned);
  }

  close(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.opts.port.close();
  }

  // -------------------------------------------------------------- inside

  /** Our groups (inside the range) and flows (under the cookie), and the ids they record. */
  private async read(settings: OvsSettings): Promise<Read> {
    const pipeline = new Pipeline(settings);
    const groups = new Map<number, OfGroup>();
    for (const d of await this.opts.port.dumpGroups()) if (pipeline.ownsGroup(d.groupId)) groups.set(d.groupId, fromGroupDesc(d));
    const installed: OfState = { groups, flows: new Map() };
    const adoption = { groups: new Map<number, number>(), floodGroups: new Map<number, number>() };
    let translated = 0;
    for (const stats of await this.opts.port.dumpFlows(settings.cookie, settings.cookieMask)) {
      // An audit reads while the agent goes on: let an iteration in now and then (100,000 flows take a second or more).
      if (++translated % READ_SLICE === 0) await new Promise((resolve) => setImmediate(resolve));
      const flow = fromFlowStats(stats);
      // Learned flows are Open vSwitch's to write and age (see pollLearned).
      if (pipeline.isLearned(flow)) continue;
      installed.flows.set(flowKey(flow), flow);
      const ids = pipeline.recognize(flow);
      // An id recorded by a flow adopts only a group of the right kind that is there.
      const group = ids && groups.get(ids.groupId);
      if (ids?.kind === 'ecmp' && group?.type === 'select') adoption.groups.set(ids.nhid, ids.groupId);
      else if (ids?.kind === 'flood' && group?.type === 'all') adoption.floodGroups.set(ids.vni, ids.groupId);
    }
    return { installed, adoption };
  }

  private drop(reason: string): void {
    this.auditing = undefined;
    this.connected = false;
    this.synced = false;
    this.message = reason;
    this.installed = undefined;
    this.opts.port.close();
  }

  private retryAfter(delayMs: number): void {
    this.retryAt = Date.now() + delayMs;
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.opts.wake();
    }, delayMs);
    t.unref();
    this.timers.add(t);
  }

  /** A refused bundle: our picture of the bridge may be wrong, so read it again before retrying. */
  private async recover(settings: OvsSettings, changes: readonly OfChange[], err: unknown): Promise<void> {
    this.opts.metrics.ofErrors.inc();
    this.synced = false;
    this.syncMessage = `bundle of ${changes.length} changes refused: ${errorText(err)}`;
    this.opts.log.warn('OpenFlow bundle failed; re-reading the bridge and retrying', { error: errorText(err), changes: changes.length, first: changes[0] ? describeChange(changes[0]) : '' });
    this.failures += 1;
    this.retryAfter(backoff(this.failures, this.opts.retryMinMs, this.opts.retryMaxMs));
    try {
      this.setInstalled((await this.read(settings)).installed);
      this.scope.full = true;
    } catch {
      this.drop(`lost while recovering from a failed bundle: ${errorText(err)}`);
    }
  }

  /** What was read from the bridge becomes the mirror (and the engine hears which group ids it holds); the tallies are recounted. */
  private setInstalled(state: OfState, adoption?: Adoption): void {
    this.installed = state;
    this.opts.news.ofInstalled.read(state.groups.keys(), adoption);
    this.tally = { paths: 0, buckets: 0, floodGroups: 0 };
    for (const g of state.groups.values()) this.tallyGroup(g, 1);
  }

  /** The mirror after a committed bundle; metrics, and the group ids news for the engine. */
  private applyCommitted(changes: readonly OfChange[]): void {
    const state = this.installed!;
    const metrics = this.opts.metrics;
    const added: number[] = [];
    const deleted = new Set<number>();
    metrics.ofBundles.inc();
    const touched = this.auditing?.touched;
    for (const c of changes) {
      if (touched) {
        if (c.kind === 'flow') touched.flows.add(c.key);
        else touched.groups.add(c.group.groupId);
      }
      if (c.kind === 'flow') {
        metrics.ofFlowMods.inc({ command: c.command });
        if (c.command === 'deleteStrict') state.flows.delete(c.key);
        else state.flows.set(c.key, c.flow);
        continue;
      }
      metrics.ofGroupMods.inc({ command: c.command });
      const old = state.groups.get(c.group.groupId);
      if (old) this.tallyGroup(old, -1);
      if (c.command === 'delete') {
        state.groups.delete(c.group.groupId);
        deleted.add(c.group.groupId);
        continue;
      }
      this.tallyGroup(c.group, 1);
      state.groups.set(c.group.groupId, c.group);
      if (!old) added.push(c.group.groupId);
      // Each modified dp_hash group reports how much of its traffic changed VTEP.
      const before = c.command === 'modify' && old ? slotTableOf(old) : undefined;
      const after = before && slotTableOf(c.group);
      if (before && after) metrics.groupRemap.observe(redealtShare(before, after));
    }
    // Open vSwitch removes the flows that named a deleted group.
    if (deleted.size > 0) {
      for (const [key, flow] of state.flows) if (flow.actions.some((a) => a.type === 'group' && deleted.has(a.groupId))) state.flows.delete(key);
    }
    if (added.length > 0 || deleted.size > 0) this.opts.news.ofInstalled.committed(added, deleted);
  }

  /** Paths (distinct VTEPs) and buckets of one select group, or one flood group, added or taken away. */
  private tallyGroup(g: OfGroup, sign: 1 | -1): void {
    if (g.type === 'all') {
      this.tally.floodGroups += sign;
      return;
    }
    this.tally.paths += sign * new Set(g.buckets.map((b) => b.tunDst)).size;
    this.tally.buckets += sign * g.buckets.length;
  }

  private setProgrammedGauges(): void {
    const state = this.installed!;
    const programmed = this.opts.metrics.programmed;
    programmed.set({ kind: 'floodGroups' }, this.tally.floodGroups);
    programmed.set({ kind: 'groups' }, state.groups.size - this.tally.floodGroups);
    programmed.set({ kind: 'flows' }, state.flows.size);
    programmed.set({ kind: 'paths' }, this.tally.paths);
    programmed.set({ kind: 'buckets' }, this.tally.buckets);
  }
}
