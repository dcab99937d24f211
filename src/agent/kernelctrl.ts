/**
 * kernelctrl — the agent's one owner of the kernel edge: it folds what the
 * kernel reports into the engine's input nodes (links, nexthops, fdb),
 * writes the difference between kernelDesired and what the kernel holds,
 * retries refused writes after a re-dump, and audits the objects it owns.
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
import { fdbKey, sameNexthop, type KernelSnapshot, type NodeSpec } from './model.js';
import { isOwnedNexthop } from './ownership.js';
import type { KernelPort } from './ports.js';
import { backoff, errorText, summarize } from './retry.js';
import { describeKernelOp, observedAfter, planKernelSync } from './sync/kernel-plan.js';

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

  /** Folds queued kernel news into the input nodes, or dumps again when news was lost. */
  async intake(): Promise<void> {
    const { port, graph } = this.opts;
    const news = port.drain();
    const lost = news.findLast((n) => n.kind === 'resync');
    if (lost?.kind === 'resync') this.redumpWanted = lost.reason;
    if (this.redumpWanted === undefined) {
      for (const n of news) if (n.kind !== 'resync') applyKernelEvent(graph, n);
      return;
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
  }

  /** Writes the difference between kernelDesired and the kernel; `runEngine` folds each round's feedback in. */
  async sync(spec: NodeSpec, runEngine: () => void): Promise<void> {
    const { graph, port, metrics } = this.opts;
    const fabric = spec.fabric;
    if (!fabric.kernel.manage) {
      this.synced = true;
      this.message = '';
      return;
    }
    if (Date.now() < this.retryAt) return;
    for (let round = 0; round < ROUNDS; round++) {
      const plan = planKernelSync(graph.kernelDesired.data, { nexthops: graph.nexthops.data.byId, fdb: graph.fdb.data.byKey }, fabric);
      if (plan.ops.length === 0) {
        const conflicts = [...plan.conflicts.map((c) => `${c.object} ${c.reason}`), ...graph.kernelDesired.data.conflicts.map((id) => `nexthop ${id} in our range has another protocol`)];
        this.synced = conflicts.length === 0;
        this.message = conflicts.length ? `conflicts (left untouched): ${summarize(conflicts, 5)}` : '';
        this.failures = 0;
        return;
      }
      for (const op of plan.ops) {
        try {
          await port.apply(op, fabric.kernel.protocol);
        } catch (err) {
          metrics.kernelErrors.inc();
          this.synced = false;
          this.message = `${describeKernelOp(op)}: ${errorText(err)}`;
          this.failures += 1;
          const delay = backoff(this.failures, this.opts.retryMinMs, this.opts.retryMaxMs);
          this.opts.log.warn('kernel write refused; re-dumping and retrying', { op: describeKernelOp(op), error: errorText(err), retryInMs: delay });
          this.redumpWanted = 'write-failed';
          this.retryAfter(delay);
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

  /** Read-back of the kernel: differences in objects we own are drift; the dump then replaces what the input nodes hold. */
  async audit(spec: NodeSpec | undefined): Promise<void> {
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
  private differences(snapshot: KernelSnapshot, spec: NodeSpec): string[] {
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
