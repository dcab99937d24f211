/**
 * kernelctrl — the agent's one owner of the kernel edge: it folds what the
 * kernel reports into the engine's input nodes (links, nexthops, fdb),
 * creates and repairs the devices the agent owns (devices), writes the
 * difference between kernelDesired / localExport and what the kernel holds,
 * retries refused writes after a re-dump, and audits the objects it owns.
 *
 * Devices go first: the FDB entries need their ifindexes, so after device
 * writes the links are read again before the rest is planned. A device
 * write the kernel refuses for good (EOPNOTSUPP, EINVAL: an option this
 * kernel lacks) is not retried until what is wanted of it changes; it is
 * reported, and does not hold up the rest.
 *
 * Every acknowledged write is fed back as the object it leaves behind
 * (observedAfter), so the next plan does not write it again before the
 * kernel's own notification arrives; the notification then changes nothing.
 * A lost notification (ENOBUFS, an undecodable message, a refused write)
 * becomes a fresh dump that the input nodes diff — never a restart. Dumps
 * (at start, after a loss, for the audit) are folded in while notifications
 * keep flowing (kernel-reconcile.ts): the agent never stops mirroring for
 * one. Nothing is written to the kernel, and the kernel is not called in
 * sync, before the first dump is complete.
 */
import type { Logger } from '../util/log.js';
import type { AgentGraph } from './engine/graph.js';
import { applyKernelEvent } from './kernel-input.js';
import { KernelReconcile, type ReconcileWhy } from './kernel-reconcile.js';
import type { AgentMetrics } from './metrics.js';
import type { KernelEvent, NodeSettings } from './model.js';
import type { KernelPort } from './ports.js';
import { backoff, errorText, summarize } from './retry.js';
import { describeKernelOp, observedAfter, planKernelSync, type KernelConflict } from './sync/kernel-plan.js';
import { describeDeviceOp, planDevices, type DeviceOp } from './sync/device-plan.js';
import type { DesiredDevice } from './engine/nodes/devices.js';

/** Errors that say the kernel cannot do what was asked, as opposed to not now. */
const FOR_GOOD = new Set(['EOPNOTSUPP', 'EINVAL', 'EPROTONOSUPPORT']);

function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

export interface KernelCtrlOptions {
  port: KernelPort;
  graph: AgentGraph;
  metrics: AgentMetrics;
  log: Logger;
  /** Wakes the agent's loop (a retry is due). */
  wake: () => void;
  onDrift: (what: string) => void;
  retryMinMs: number;
  retryMaxMs: number;
}

/** Rounds of plan → write → feed back per sync: each write may make a later one unnecessary. */
const ROUNDS = 3;

export class KernelCtrl {
  private synced = false;
  private message = 'not synced yet';
  /** The dump being folded in, the one wanted next, and whether the first one is complete. */
  private reconcile: KernelReconcile | undefined;
  private wanted: { why: ReconcileWhy; reason?: string } | undefined;
  private firstDumpDone = false;
  private dumpRetryAt = 0;
  /** Flood destinations the last dump missed while their device still floods (kernel-reconcile.ts). */
  private floodSuspects: ReadonlySet<string> = new Set();
  /** What this process last applied to its devices' VNI filters and VLANs (device-plan.ts). */
  private readonly applied = new Map<string, { vnis: number[]; vlans: Array<{ vid: number; tunnelId?: number }> }>();
  /** Devices (or their VLAN/VNI setup) the kernel refused for good, with what was asked. */
  private readonly refused = new Map<string, { device: DesiredDevice; reason: string }>();
  private readonly refusedConfig = new Map<string, string>();
  /** The objects that changed on either side since the last plan, or everything. */
  private scope = { full: true, nexthops: new Set<number>(), fdb: new Set<string>() };
  /** Objects held by someone else, by object key, as the plans last found them. */
  private readonly conflicts = new Map<string, KernelConflict>();
  private retryAt = 0;
  private failures = 0;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly opts: KernelCtrlOptions) {}

  get facts() {
    return { synced: this.synced, message: this.message };
  }

  /** Subscribes, then starts the first dump (folded in by the iterations that follow). */
  async start(): Promise<void> {
    await this.opts.port.start();
    this.want('start');
    this.beginWanted();
  }

  /** True once the first dump is folded in: before that, the nodes hold only part of the kernel. */
  get complete(): boolean {
    return this.firstDumpDone;
  }

  /**
   * Folds queued kernel news into the input nodes, and whatever part of a
   * dump has arrived; starts a dump when news was lost. Returns how much
   * news there was.
   */
  intake(): number {
    const news = this.opts.port.drain();
    for (const n of news) {
      // The subscription drops its queue when it loses news: what follows a resync is newer than the loss.
      if (n.kind === 'resync') this.want('resync', n.reason);
      else this.observe(n);
    }
    if (this.reconcile) {
      const state = this.reconcile.step();
      if (state !== 'running') this.finishReconcile(this.reconcile, state);
    }
    this.beginWanted();
    return news.length;
  }

  /** Asks for an audit dump (unless one is running or due): drift in what we own is reported, the rest folded in. */
  requestAudit(): void {
    if (!this.reconcile && !this.wanted) this.want('audit');
    this.beginWanted();
  }

  /** A kernel change, as notified or as an acknowledged write leaves it, into the input nodes. */
  private observe(ev: KernelEvent): void {
    applyKernelEvent(this.opts.graph, ev);
    this.reconcile?.noteEvent(ev);
  }

  private want(why: ReconcileWhy, reason?: string): void {
    // A loss outranks an audit; the first dump outranks both (it is a full read).
    if (this.wanted?.why === 'start' || (this.wanted?.why === 'resync' && why === 'audit')) return;
    this.wanted = reason === undefined ? { why } : { why, reason };
  }

  private beginWanted(): void {
    const wanted = this.wanted;
    if (this.reconcile || !wanted || Date.now() < this.dumpRetryAt) return;
    this.wanted = undefined;
    if (wanted.why === 'resync') {
      const reason = wanted.reason ?? 'unknown';
      this.opts.metrics.kernelResyncs.inc({ reason });
      this.opts.log.info('kernel notifications lost or unreadable: dumping again and diffing', { reason });
    }
    this.reconcile = new KernelReconcile(wanted.why, this.opts.port, this.opts.graph, this.floodSuspects, this.opts.wake);
    this.reconcile.begin();
  }

  private finishReconcile(r: KernelReconcile, state: 'done' | 'failed'): void {
    this.reconcile = undefined;
    if (state === 'failed') {
      const error = errorText(r.error);
      this.message = `kernel dump failed: ${error}`;
      this.opts.log.warn(r.why === 'audit' ? 'kernel audit dump failed' : 'kernel dump failed; retrying', { error });
      if (r.why !== 'audit') this.want(r.why, r.why === 'resync' ? 'dump-failed' : undefined);
      this.dumpRetryAt = Date.now() + 1000;
      this.wakeAfter(1000);
      return;
    }
    this.floodSuspects = r.floodSuspects;
    if (r.why === 'start') {
      this.firstDumpDone = true;
      this.opts.graph.nexthops.markKernelRead();
    }
    if (r.drift.length > 0) {
      this.opts.metrics.drift.inc({ dataplane: 'kernel' }, r.drift.length);
      this.opts.onDrift(`kernel: ${summarize(r.drift, 3)}`);
    }
  }

  /** What an engine run changed, desired or observed: the next plan compares only those objects. */
  noteChanges(): void {
    const g = this.opts.graph;
    if (!g.nodeState.data.spec?.fabric.kernel.manage || g.kernelDesired.data.tracked.full) this.scope.full = true;
    // A full plan is due anyway: keep no keys (a churn of mirrored entries would pile them up).
    if (this.scope.full) return;
    const { nexthops, fdb } = this.scope;
    const desired = g.kernelDesired.data.tracked.changedKeys;
    for (const id of desired.nexthops) nexthops.add(id);
    for (const id of g.nexthops.data.tracked.changed) nexthops.add(id);
    for (const key of desired.fdb) fdb.add(key);
    for (const key of g.fdb.data.tracked.changed) fdb.add(key);
    for (const key of g.localExport.data.tracked.changedKeys) fdb.add(key);
  }

  /** Writes the difference between kernelDesired and the kernel; `runEngine` folds each round's feedback in. */
  async sync(spec: NodeSettings, runEngine: () => void): Promise<void> {
    const { graph, port, metrics } = this.opts;
    const fabric = spec.fabric;
    if (!this.firstDumpDone) {
      this.synced = false;
      this.message = 'reading the kernel';
      return;
    }
    if (!fabric.kernel.manage) {
      this.synced = true;
      this.message = '';
      return;
    }
    if (Date.now() < this.retryAt) return;
    // After lost news or a refused write the nodes may be wrong: write again once the dump that follows is in.
    if (this.reconcile?.why === 'resync' || this.wanted?.why === 'resync') return;
    for (let round = 0; round < ROUNDS; round++) {
      const devices = planDevices(graph.devices.data.devices, graph.devices.data.complete, graph.links.data.byName, this.applied, this.refused);
      if (devices.ops.length > 0) {
        if (!(await this.applyDevices(devices.ops, runEngine))) return;
        continue;
      }
      const scope = this.scope.full ? undefined : { nexthops: this.scope.nexthops, fdb: this.scope.fdb };
      this.scope = { full: false, nexthops: new Set(), fdb: new Set() };
      const plan = planKernelSync(graph.kernelDesired.data, { nexthops: graph.nexthops.data.byId, fdb: graph.fdb.data.byKey }, fabric, graph.localExport.data, scope);
      if (plan.looked === 'all') this.conflicts.clear();
      else for (const key of plan.looked) this.conflicts.delete(key);
      for (const [key, c] of plan.conflicts) this.conflicts.set(key, c);
      if (plan.ops.length === 0) {
        const conflicts = [...[...this.conflicts.values()].map((c) => `${c.object} ${c.reason}`), ...graph.kernelDesired.data.conflicts.map((id) => `nexthop ${id} in our range has another protocol`)];
        const notes = [...devices.notes, ...[...this.refusedConfig].map(([name, reason]) => `${name}: ${reason}`)];
        this.synced = conflicts.length === 0;
        this.message = [conflicts.length ? `conflicts (left untouched): ${summarize(conflicts, 5)}` : '', notes.length ? `devices: ${summarize(notes, 5)}` : ''].filter(Boolean).join('; ');
        this.failures = 0;
        return;
      }
      for (const op of plan.ops) {
        try {
          await port.apply(op, fabric.kernel.protocol);
        } catch (err) {
          this.fail(describeKernelOp(op), err);
          runEngine();
          return;
        }
        metrics.kernelWrites.inc({ op: op.op });
        this.observe(observedAfter(op, fabric));
      }
      this.opts.log.debug('kernel writes applied', { count: plan.ops.length });
      runEngine();
    }
    // Still not converged after a few rounds (the kernel keeps changing): go on next iteration.
    this.opts.wake();
  }

  /**
   * Device writes, then a fresh read of the links for the engine. False
   * when a write failed for now (the sync stops and retries later).
   */
  private async applyDevices(ops: readonly DeviceOp[], runEngine: () => void): Promise<boolean> {
    const { port, graph, metrics } = this.opts;
    let ok = true;
    for (const op of ops) {
      try {
        await port.applyDevice(op);
        metrics.kernelWrites.inc({ op: op.op });
        this.noteApplied(op);
      } catch (err) {
        const code = errnoCode(err);
        if (code !== undefined && FOR_GOOD.has(code) && op.op !== 'deleteDevice') {
          metrics.kernelErrors.inc();
          this.noteRefused(op, errorText(err));
          continue;
        }
        ok = false;
        this.fail(describeDeviceOp(op), err);
        break;
      }
    }
    try {
      graph.links.replaceAll(await port.links());
    } catch (err) {
      this.want('resync', 'write-failed');
      this.opts.log.warn('reading links after device writes failed', { error: errorText(err) });
    }
    runEngine();
    return ok;
  }

  private noteApplied(op: DeviceOp): void {
    if (op.op === 'createDevice' || op.op === 'deleteDevice') {
      const name = op.op === 'createDevice' ? op.device.name : op.name;
      this.applied.delete(name);
      this.refused.delete(name);
      this.refusedConfig.delete(name);
      if (op.op === 'createDevice') this.opts.log.info('device created', { device: name, kind: op.device.kind });
      else this.opts.log.info('device deleted', { device: name });
      return;
    }
    if (op.op === 'setVniFilter' || op.op === 'setVlans') this.recordConfig(op);
  }

  /** A VNI filter or VLAN change is done (or refused for good): its target is what to compare with next time. */
  private recordConfig(op: Extract<DeviceOp, { op: 'setVniFilter' | 'setVlans' }>): void {
    const had = this.applied.get(op.name) ?? { vnis: [], vlans: [] };
    this.applied.set(op.name, op.op === 'setVniFilter' ? { ...had, vnis: op.target } : { ...had, vlans: op.target });
  }

  private noteRefused(op: DeviceOp, reason: string): void {
    this.opts.log.warn('the kernel refuses a device setup; not retried until it changes', { op: describeDeviceOp(op), reason });
    if (op.op === 'createDevice' || op.op === 'configureDevice') {
      this.refused.set(op.device.name, { device: op.device, reason: `${describeDeviceOp(op)}: ${reason}` });
    } else if (op.op === 'setVniFilter' || op.op === 'setVlans') {
      this.refusedConfig.set(op.name, `${describeDeviceOp(op)}: ${reason}`);
      this.recordConfig(op);
    }
  }

  private fail(what: string, err: unknown): void {
    // What the kernel holds may not be what we think: compare everything next time.
    this.scope.full = true;
    this.opts.metrics.kernelErrors.inc();
    this.synced = false;
    this.message = `${what}: ${errorText(err)}`;
    this.failures += 1;
    const delay = backoff(this.failures, this.opts.retryMinMs, this.opts.retryMaxMs);
    this.opts.log.warn('kernel write refused; re-dumping and retrying', { op: what, error: errorText(err), retryInMs: delay });
    this.want('resync', 'write-failed');
    this.retryAfter(delay);
  }

  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.opts.port.close();
  }

  private retryAfter(delayMs: number): void {
    this.retryAt = Date.now() + delayMs;
    this.wakeAfter(delayMs);
  }

  private wakeAfter(delayMs: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.opts.wake();
    }, delayMs);
    t.unref();
    this.timers.add(t);
  }
}
