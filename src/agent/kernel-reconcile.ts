/**
 * kernel-reconcile — folds one kernel dump (at start, after lost
 * notifications, for the audit) into the input nodes (links, nexthops, fdb)
 * while the agent goes on applying notifications and programming OVS: a
 * dump of 100,000 FDB entries takes most of a second, and holding every
 * change back for it (as a snapshot replacing the nodes' state would need)
 * shows as latency on every one of them.
 *
 * A dump is a walk, not a snapshot, and notifications race it. So:
 *  - an object a notification touched since the dump began is left as the
 *    notification said (the dump's copy may be older); likewise FDB entries
 *    naming a group deleted meanwhile (the kernel removes those without a
 *    notification);
 *  - every other object the dump returns is upserted (the nodes ignore what
 *    did not change);
 *  - an object the nodes hold that the dump did not return is removed only
 *    once a lookup confirms the kernel lacks it (KernelPort.missing), and
 *    only if still untouched: Linux 6.18's VXLAN FDB dump skips entries
 *    that exist all along when entries are deleted during it (seen in B5's
 *    churn: one or two of 100,000 per dump), and a bare snapshot would
 *    withdraw their flows. Links are dumped consistently (an interrupted
 *    link dump is redone), so a missing link is gone.
 *  - the bridge's copy of a MAC (`extern_learn master <bridge>`, which FRR's
 *    zebra writes beside the VXLAN device's own entry, same key) is not the
 *    entry itself: a dump returns a port's bridge entries first
 *    (rtnl_fdb_dump), and the device's own entry that follows is not a
 *    repeat. The fdb node keeps the device's own (model.ts, bridgeCopyYields).
 *  - a flood-list destination cannot be looked up on its own (the lookup
 *    shows a device's first destination): one missing from a dump while its
 *    device still floods somewhere is a suspect, removed only if the next
 *    dump misses it too (an extra flood copy meanwhile, never a lost one).
 *
 * On an audit, differences in objects the agent owns are reported as drift.
 */
import type { AgentGraph } from './engine/graph.js';
import { applyKernelEvent } from './kernel-input.js';
import { fdbKey, isFloodKey, NTF_MASTER, sameNexthop, type FabricSettings, type KernelEvent, type KernelFdbEntry } from './model.js';
import { isOwnedFdbEntry, isOwnedNexthop } from './ownership.js';
import type { KernelDumpBatch, KernelPort } from './ports.js';

export type ReconcileWhy = 'start' | 'resync' | 'audit';

/**
 * Dump objects folded in per step: between slices the iteration goes on to
 * plan and commit OVS. Folding a 100,000-entry audit dump in one step held
 * every kernel change back for a second or more (B5's profile).
 */
const FOLD_SLICE = 5_000;

export type ReconcileState = 'running' | 'done' | 'failed';

type Graph = Pick<AgentGraph, 'links' | 'nexthops' | 'fdb' | 'nodeState'>;

export class KernelReconcile {
  private readonly touched = { links: new Set<number>(), nexthops: new Set<number>(), fdb: new Set<string>(), deletedGroups: new Set<number>() };
  /** fdb: keys (seenKey) of the entries the dump returned, the bridge's copies apart. */
  private readonly seen = { links: new Set<number>(), nexthops: new Set<number>(), fdb: new Set<string>() };
  private batches: KernelDumpBatch[] = [];
  private nextBatch = 0;
  private phase: 'dumping' | 'dumped' | 'verifying' | 'verified' | 'done' | 'failed' = 'dumping';
  private missing: { nexthops: number[]; fdb: KernelFdbEntry[] } | undefined;
  /** Why the dump or a lookup failed (state 'failed'). */
  error: unknown;
  /** On an audit: what differed in objects the agent owns. */
  readonly drift: string[] = [];
  /** Flood destinations this dump missed whose device still floods: the next dump decides. */
  readonly floodSuspects = new Set<string>();

  constructor(
    readonly why: ReconcileWhy,
    private readonly port: Pick<KernelPort, 'dump' | 'missing'>,
    private readonly graph: Graph,
    /** Suspects an earlier dump left: removed if this dump misses them too. */
    private readonly earlierSuspects: ReadonlySet<string>,
    private readonly wake: () => void,
  ) {}

  /** Starts the dump; its parts are folded in by `step`. */
  begin(): void {
    this.port.dump((batch) => {
      this.batches.push(batch);
      this.wake();
    }).then(
      () => {
        this.phase = 'dumped';
        this.wake();
      },
      (err: unknown) => this.fail(err),
    );
  }

  /** A notification applied while this reconcile runs: its object is no longer the dump's to say. */
  noteEvent(ev: KernelEvent): void {
    if (ev.kind === 'link') this.touched.links.add(ev.link.ifindex);
    else if (ev.kind === 'nexthop') {
      this.touched.nexthops.add(ev.nexthop.id);
      if (ev.op === 'del' && ev.nexthop.members) this.touched.deletedGroups.add(ev.nexthop.id);
    } else this.touched.fdb.add(fdbKey(ev.entry));
  }

  /** Folds in what arrived and moves on; 'done' once every absence is settled. */
  step(): ReconcileState {
    let budget = FOLD_SLICE;
    while (this.nextBatch < this.batches.length && budget > 0) {
      const batch = this.batches[this.nextBatch++]!;
      budget -= (batch.links?.length ?? 0) + (batch.nexthops?.length ?? 0) + (batch.fdb?.length ?? 0);
      this.fold(batch);
    }
    if (this.nextBatch === this.batches.length) {
      this.batches = [];
      this.nextBatch = 0;
    } else {
      // More is waiting: the next iteration folds it.
      this.wake();
      return 'running';
    }
    if (this.phase === 'dumped') this.verify();
    if (this.phase === 'verified') this.removeMissing();
    return this.phase === 'done' ? 'done' : this.phase === 'failed' ? 'failed' : 'running';
  }

  private fabric(): FabricSettings | undefined {
    return this.graph.nodeState.data.spec?.fabric;
  }

  private fold(batch: KernelDumpBatch): void {
    const { graph, touched, seen } = this;
    const fabric = this.why === 'audit' ? this.fabric() : undefined;
    if (batch.links) {
      for (const link of batch.links) {
        seen.links.add(link.ifindex);
        if (!touched.links.has(link.ifindex)) graph.links.upsert(link);
      }
      // A consistent dump: what it lacks is gone.
      for (const ifindex of graph.links.data.byIndex.keys()) if (!seen.links.has(ifindex) && !touched.links.has(ifindex)) graph.links.remove(ifindex);
    }
    for (const nh of batch.nexthops ?? []) {
      if (seen.nexthops.has(nh.id)) continue;
      seen.nexthops.add(nh.id);
      if (touched.nexthops.has(nh.id)) continue;
      if (fabric) {
        const old = graph.nexthops.data.byId.get(nh.id);
        if (isOwnedNexthop(old, fabric) || isOwnedNexthop(nh, fabric)) {
          if (!old) this.drift.push(`nexthop ${nh.id} appeared`);
          else if (!sameNexthop(old, nh)) this.drift.push(`nexthop ${nh.id} changed`);
        }
      }
      graph.nexthops.upsert(nh);
    }
    for (const entry of batch.fdb ?? []) {
      const key = fdbKey(entry);
      const seenAs = seenKey(key, entry);
      if (seen.fdb.has(seenAs)) continue;
      seen.fdb.add(seenAs);
      if (touched.fdb.has(key) || (entry.nhid !== undefined && touched.deletedGroups.has(entry.nhid))) continue;
      if (fabric && seenAs === key) {
        const old = graph.fdb.data.byKey.get(key);
        if (old && isOwnedFdbEntry(old, graph.nexthops.data.byId, fabric) && old.nhid !== entry.nhid) this.drift.push(`fdb ${entry.mac} changed`);
      }
      graph.fdb.upsert(entry);
    }
  }

  /** The dump is complete: what the nodes hold and it lacked is looked up one by one. */
  private verify(): void {
    const { graph, touched, seen } = this;
    const nexthops: number[] = [];
    for (const id of graph.nexthops.data.byId.keys()) if (!seen.nexthops.has(id) && !touched.nexthops.has(id)) nexthops.push(id);
    const fdb: KernelFdbEntry[] = [];
    for (const [key, entry] of graph.fdb.data.byKey) if (!seen.fdb.has(seenKey(key, entry)) && !touched.fdb.has(key)) fdb.push(entry);
    this.phase = 'verifying';
    if (nexthops.length === 0 && fdb.length === 0) {
      this.missing = { nexthops: [], fdb: [] };
      this.phase = 'verified';
      return;
    }
    this.port.missing(nexthops, fdb).then(
      (missing) => {
        this.missing = missing;
        this.phase = 'verified';
        this.wake();
      },
      (err: unknown) => this.fail(err),
    );
  }

  private removeMissing(): void {
    const { graph, touched } = this;
    const fabric = this.why === 'audit' ? this.fabric() : undefined;
    const missing = this.missing!;
    for (const id of missing.nexthops) {
      const nh = graph.nexthops.data.byId.get(id);
      if (!nh || touched.nexthops.has(id)) continue;
      if (fabric && isOwnedNexthop(nh, fabric)) this.drift.push(`nexthop ${id} vanished`);
      applyKernelEvent(graph, { kind: 'nexthop', op: 'del', nexthop: nh });
    }
    const gone = new Set(missing.fdb.map(fdbKey));
    for (const [key, entry] of graph.fdb.data.byKey) {
      if (this.seen.fdb.has(seenKey(key, entry)) || touched.fdb.has(key)) continue;
      if (gone.has(key) || (isFloodKey(key) && this.earlierSuspects.has(key))) {
        if (fabric && isOwnedFdbEntry(entry, graph.nexthops.data.byId, fabric)) this.drift.push(`fdb ${entry.mac} vanished`);
        graph.fdb.remove(entry);
      } else if (isFloodKey(key)) {
        this.floodSuspects.add(key);
      }
    }
    this.phase = 'done';
  }

  private fail(err: unknown): void {
    this.error = err;
    this.phase = 'failed';
    this.wake();
  }
}

/** The bridge's copy of a key's MAC is seen apart from the device's own entry (both are kernel entries). */
function seenKey(key: string, entry: Pick<KernelFdbEntry, 'flags'>): string {
  return (entry.flags & NTF_MASTER) !== 0 ? [key, 'master'].join('/') : key;
}
