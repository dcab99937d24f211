/**
 * Incremental processing engine, in the style of Open Virtual Network's
 * lib/inc-proc-eng.h (reference/ovn-ecmp-fdb.md §3).
 *
 * The agent's state is a DAG of named nodes. A node has
 *  - `inputs`: the nodes it reads, each with an optional change handler;
 *  - `data`: what it produces, read (never written) by its dependants;
 *  - `recompute()`: rebuilds `data` from the inputs' data, from scratch;
 *  - `clearTracked()`: forgets the "what changed in this run" part of `data`.
 *
 * A run visits the nodes in topological order. A node with no inputs (an
 * input node: kernel events, the spec, OVS ports) is always run: its
 * `recompute` folds whatever arrived since the last run into its data and
 * says whether anything changed. Any other node
 *  - is skipped (UNCHANGED) when none of its inputs changed;
 *  - recomputes when an input changed that has no handler, when a handler
 *    returns 'unhandled' (it declines the change), or when a full recompute
 *    is forced;
 *  - otherwise calls the handler of every changed input, which applies just
 *    that input's tracked changes to `data`.
 *
 * Rules (as in OVN): a node's data depends only on its inputs' data; no node
 * writes another node's data; tracked changes describe one run only, so the
 * engine clears them for every node at the start of each run. A node whose
 * data was rebuilt by `recompute` must say so in its tracked data (by
 * convention a `full` flag), so that dependants' handlers can decline it.
 */

export type ChangeResult = 'updated' | 'unchanged';
/** What a change handler reports: 'unhandled' falls back to the node's recompute. */
export type HandlerResult = ChangeResult | 'unhandled';

export interface EngineInput {
  readonly node: EngineNode;
  /** Applies the input's tracked changes; absent means "any change recomputes". */
  readonly handler?: () => HandlerResult;
}

export interface EngineNode<D = unknown> {
  readonly name: string;
  readonly inputs: readonly EngineInput[];
  readonly data: D;
  recompute(): ChangeResult;
  clearTracked?(): void;
}

/** Per-node counters, exported as metrics and shown at GET /debug/engine. */
export interface NodeStats {
  /** Full recomputes (for input nodes: every run). */
  recompute: number;
  /** Runs completed by change handlers alone. */
  incremental: number;
  /** Runs where no input changed, so the node was not touched. */
  unchanged: number;
  /** Milliseconds spent in recompute and handlers, in total. */
  timeMs: number;
}

export interface RunReport {
  /** Nodes whose data changed in this run, in run order. */
  updated: string[];
  /** Nodes that recomputed in this run. */
  recomputed: string[];
  durationMs: number;
}

/** A cycle or a duplicated name in the node graph: a programming error, reported at startup. */
export class EngineGraphError extends Error {
  override name = 'EngineGraphError';
}

export class Engine {
  /** The nodes in topological order: every node after all of its inputs. */
  readonly order: readonly EngineNode[];
  private readonly stats = new Map<string, NodeStats>();
  private readonly state = new Map<EngineNode, ChangeResult>();
  private forced = true; // the first run is a full computation

  constructor(nodes: readonly EngineNode[]) {
    this.order = topologicalOrder(nodes);
    for (const node of this.order) {
      this.stats.set(node.name, { recompute: 0, incremental: 0, unchanged: 0, timeMs: 0 });
    }
  }

  /** Makes the next run recompute every node (POST /debug/recompute, after a resync). */
  forceRecompute(): void {
    this.forced = true;
  }

  get recomputePending(): boolean {
    return this.forced;
  }

  run(): RunReport {
    const started = performance.now();
    for (const node of this.order) node.clearTracked?.();
    const forced = this.forced;
    this.forced = false;
    const report: RunReport = { updated: [], recomputed: [], durationMs: 0 };
    for (const node of this.order) {
      const stats = this.stats.get(node.name)!;
      const t0 = performance.now();
      const { result, mode } = this.runNode(node, forced);
      this.state.set(node, result);
      if (mode === 'recompute') {
        stats.recompute += 1;
        report.recomputed.push(node.name);
      } else if (mode === 'incremental') {
        stats.incremental += 1;
      } else {
        stats.unchanged += 1;
      }
      if (mode !== 'skipped') stats.timeMs += performance.now() - t0;
      if (result === 'updated') report.updated.push(node.name);
    }
    report.durationMs = performance.now() - started;
    return report;
  }

  private runNode(node: EngineNode, forced: boolean): { result: ChangeResult; mode: 'recompute' | 'incremental' | 'skipped' } {
    if (node.inputs.length === 0 || forced) return { result: node.recompute(), mode: 'recompute' };
    const changed = node.inputs.filter((input) => this.state.get(input.node) === 'updated');
    if (changed.length === 0) return { result: 'unchanged', mode: 'skipped' };
    if (changed.some((input) => input.handler === undefined)) return { result: node.recompute(), mode: 'recompute' };
    let result: ChangeResult = 'unchanged';
    for (const input of changed) {
      const handled = input.handler!();
      // A declined change: the handler may have touched data halfway, which
      // is fine because recompute rebuilds all of it.
      if (handled === 'unhandled') return { result: node.recompute(), mode: 'recompute' };
      if (handled === 'updated') result = 'updated';
    }
    return { result, mode: 'incremental' };
  }

  /** Whether a node's data changed in the last run. */
  changed(node: EngineNode): boolean {
    return this.state.get(node) === 'updated';
  }

  nodeStats(): Record<string, NodeStats> {
    return Object.fromEntries([...this.stats].map(([name, s]) => [name, { ...s }]));
  }

  /** The graph as `name <- input[handler?]` lines, for GET /debug/engine. */
  describe(): Array<{ name: string; inputs: Array<{ name: string; incremental: boolean }> }> {
    return this.order.map((n) => ({
      name: n.name,
      inputs: n.inputs.map((i) => ({ name: i.node.name, incremental: i.handler !== undefined })),
    }));
  }
}

/** Depth-first topological sort over the given nodes and everything they reach. */
function topologicalOrder(roots: readonly EngineNode[]): EngineNode[] {
  const order: EngineNode[] = [];
  const done = new Set<EngineNode>();
  const visiting = new Set<EngineNode>();
  const names = new Map<string, EngineNode>();
  const visit = (node: EngineNode, path: string[]): void => {
    if (done.has(node)) return;
    if (visiting.has(node)) throw new EngineGraphError(`cycle in engine graph: ${[...path, node.name].join(' -> ')}`);
    const other = names.get(node.name);
    if (other !== undefined && other !== node) throw new EngineGraphError(`two engine nodes named "${node.name}"`);
    names.set(node.name, node);
    visiting.add(node);
    for (const input of node.inputs) visit(input.node, [...path, node.name]);
    visiting.delete(node);
    done.add(node);
    order.push(node);
  };
  for (const node of roots) visit(node, []);
  return order;
}
