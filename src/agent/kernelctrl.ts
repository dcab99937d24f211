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
 * becomes a fresh dump that the input nodes diff — never a restart.
 */
import type { Logger } from '../util/log.js';
import type { AgentGraph } from './engine/graph.js';
import { applyKernelEvent, applyKernelSnapshot } from './kernel-input.js';
import type { AgentMetrics } from './metrics.js';
import { fdbKey, sameNexthop, type KernelSnapshot, type NodeSettings } from './model.js';
import { isOwnedNexthop } from './ownership.js';
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
  private redumpWanted: string | undefined;
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

  /** Subscribes and dumps; the dump goes into the input nodes. */
  async start(): Promise<void> {
    applyKernelSnapshot(this.opts.graph, await this.opts.port.start());
  }

  /** Folds queued kernel news into the input nodes, or dumps again when news was lost; says how much news there was. */
  async intake(): Promise<number> {
    const { port, graph } = this.opts;
    const news = port.drain();
    const lost = news.findLast((n) => n.kind === 'resync');
    if (lost?.kind === 'resync') this.redumpWanted = lost.reason;
    if (this.redumpWanted === undefined) {
      for (const n of news) if (n.kind !== 'resync') applyKernelEvent(graph, n);
      return news.length;
    }
    const reason = this.redumpWanted;
    this.redumpWanted = undefined;
    // Everything drained precedes the dump, which supersedes it.
    this.opts.metrics.kernelResyncs.inc({ reason });
    this.opts.log.info('kernel notifications lost or unreadable: dumping again and diffing', { reason });
    try {
      applyKernelSnapshot(graph, await port.dump());
    } catch (err) {
      this.redumpWanted = reason;
      this.message = `kernel dump failed: ${errorText(err)}`;
      this.retryAfter(1000);
    }
    return news.length;
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
    if (!fabric.kernel.manage) {
      this.synced = true;
      this.message = '';
      return;
    }
    if (Date.now() < this.retryAt) return;
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
        applyKernelEvent(graph, observedAfter(op, fabric));
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
      this.redumpWanted = 'write-failed';
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
    this.redumpWanted = 'write-failed';
    this.retryAfter(delay);
  }

  /** Read-back of the kernel: differences in objects we own are drift; the dump then replaces what the input nodes hold. */
  async audit(spec: NodeSettings | undefined): Promise<void> {
    let snapshot: KernelSnapshot;
    try {
      snapshot = await this.opts.port.dump();
    } catch (err) {
      this.opts.log.warn('kernel audit dump failed', { error: errorText(err) });
      return;
    }
    if (spec) {
      const differences = this.differences(snapshot, spec);
      if (differences.length > 0) {
        this.opts.metrics.drift.inc({ dataplane: 'kernel' }, differences.length);
        this.opts.onDrift(`kernel: ${summarize(differences, 3)}`);
      }
    }
    applyKernelSnapshot(this.opts.graph, snapshot);
  }

  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
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

  /** Our nexthops and FDB entries as the engine holds them, against a fresh dump. */
  private differences(snapshot: KernelSnapshot, spec: NodeSettings): string[] {
    const { graph } = this.opts;
    const out: string[] = [];
    const fabric = spec.fabric;
    const seen = new Map(snapshot.nexthops.map((n) => [n.id, n]));
    for (const [id, nh] of graph.nexthops.data.byId) {
      if (!isOwnedNexthop(nh, fabric)) continue;
      const now = seen.get(id);
      if (!now) out.push(`nexthop ${id} vanished`);
      else if (!sameNexthop(now, nh)) out.push(`nexthop ${id} changed`);
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
}
