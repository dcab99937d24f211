/**
 * "Has the lab converged?" read from the cluster the way a user would:
 * every VtepNodeState Ready at its current generation, every VtepGroup
 * `N/N` at its current generation, and nothing else pending.
 */
import type { ControlPlane } from './control-plane.js';

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

interface NodeStateItem {
  metadata: { name: string; generation?: number };
  status?: { observedGeneration?: number; conditions?: Condition[] };
}

interface GroupItem {
  metadata: { name: string; generation?: number };
  status?: { observedGeneration?: number; nodesReady?: number; nodesTotal?: number; ready?: string };
}

export interface Convergence {
  /** Nodes whose VtepNodeState is Ready at its current generation. */
  nodesReady: string[];
  /** Nodes that are not (yet): name → why. */
  nodesPending: Record<string, string>;
  groupsReady: string[];
  groupsPending: Record<string, string>;
  done: boolean;
}

async function listJson<T>(cp: ControlPlane, resource: string): Promise<T[]> {
  const { stdout } = await cp.kubectl('get', resource, '-o', 'json');
  return (JSON.parse(stdout) as { items: T[] }).items;
}

/** One reading of node and group readiness; `nodes` are the nodes the lab expects a VtepNodeState for. */
export async function readConvergence(cp: ControlPlane, nodes: readonly string[]): Promise<Convergence> {
  const states = await listJson<NodeStateItem>(cp, 'vtepnodestates.evpn.ecmp.dev');
  const groups = await listJson<GroupItem>(cp, 'vtepgroups.evpn.ecmp.dev');
  const byName = new Map(states.map((s) => [s.metadata.name, s]));
  const out: Convergence = { nodesReady: [], nodesPending: {}, groupsReady: [], groupsPending: {}, done: false };
  for (const node of nodes) {
    const s = byName.get(node);
    const ready = s?.status?.conditions?.find((c) => c.type === 'Ready');
    if (!s) out.nodesPending[node] = 'no VtepNodeState yet (operator)';
    else if (s.status?.observedGeneration !== s.metadata.generation) out.nodesPending[node] = `spec generation ${s.metadata.generation ?? '?'} not applied yet (agent)`;
    else if (ready?.status !== 'True') out.nodesPending[node] = ready ? `${ready.reason ?? 'NotReady'}: ${ready.message ?? ''}`.trim() : 'no status yet (agent)';
    else out.nodesReady.push(node);
  }
  for (const g of groups) {
    const st = g.status;
    const name = g.metadata.name;
    if (!st || st.observedGeneration !== g.metadata.generation) out.groupsPending[name] = 'not observed yet (operator)';
    else if (!st.nodesTotal) out.groupsPending[name] = 'selects no node';
    else if (st.nodesReady !== st.nodesTotal) out.groupsPending[name] = `${st.nodesReady ?? 0}/${st.nodesTotal}`;
    else out.groupsReady.push(name);
  }
  out.done = Object.keys(out.nodesPending).length === 0 && Object.keys(out.groupsPending).length === 0 && groups.length > 0;
  return out;
}

/** One line for a progress display. */
export function describeConvergence(c: Convergence, nodes: number): string {
  const groupsTotal = c.groupsReady.length + Object.keys(c.groupsPending).length;
  const waiting = [
    ...Object.entries(c.nodesPending).map(([n, why]) => `${n}: ${why}`),
    ...Object.entries(c.groupsPending).map(([g, why]) => `vg/${g}: ${why}`),
  ];
  const first = waiting[0] ? ` — waiting for ${waiting[0]}${waiting.length > 1 ? ` (+${waiting.length - 1})` : ''}` : '';
  return `nodes ready ${c.nodesReady.length}/${nodes}, groups ready ${c.groupsReady.length}/${groupsTotal}${first}`;
}

/**
 * Polls until converged; `onProgress` gets a line whenever it changes.
 * Rejects after `timeoutMs` with the last reading.
 */
export async function waitForConvergence(
  cp: ControlPlane,
  nodes: readonly string[],
  opts: { timeoutMs: number; onProgress?: (line: string, elapsedMs: number) => void; check?: () => string | undefined },
): Promise<Convergence> {
  const start = Date.now();
  let last = '';
  let lastEmit = 0;
  for (;;) {
    const trouble = opts.check?.();
    if (trouble) throw new Error(trouble);
    let c: Convergence | undefined;
    let line: string;
    try {
      c = await readConvergence(cp, nodes);
      line = describeConvergence(c, nodes.length);
    } catch (err) {
      line = `cluster not readable: ${(err as Error).message.split('\n')[0]}`;
    }
    // On change, and every 5 s while nothing changes (the clock shows it is alive).
    if (line !== last || Date.now() - lastEmit >= 5_000) {
      opts.onProgress?.(line, Date.now() - start);
      lastEmit = Date.now();
    }
    last = line;
    if (c?.done) return c;
    if (Date.now() - start > opts.timeoutMs) throw new Error(`not converged after ${Math.round(opts.timeoutMs / 1000)} s: ${line}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
