/**
 * B6 — operator: VtepGroups × Nodes on a real kube-apiserver (the test
 * harness's control plane, etcd + kube-apiserver on loopback). Every object
 * exists before the operator starts.
 *
 * Render: from the operator's launch until every Node's VtepNodeState
 * carries its fabric's settings with `groupsFrom: VtepGroups` (the issue's
 * figure: the agents can start), and, a second figure, until every
 * VtepGroup's status is also rolled up at its current generation over all
 * the nodes (`nodesTotal` = the node count: `kubectl get vg` shows 0/100).
 * Both are seen through watches of the bench's own (no polling). The CPU
 * the operator, kube-apiserver and etcd spent until then is noted: the
 * roll-up is a thousand status writes, and the apiserver's cost per write
 * of a custom resource bounds it. Then the API requests the operator made
 * until it went quiet (its own `evpn_operator_api_requests_total`, watches
 * excluded; quiet = no request for 3 s) against the objects it wrote (its
 * `evpn_operator_reconcile_total{result="written"}`), and the requests over
 * the following idle period (goal 0).
 *
 * Change: 100 watchers of the kind every agent runs — list + watch of the
 * VtepGroups with `fieldSelector=spec.fabric=default`, each over its own
 * connection through the agent's transport — then 50 weight changes, each
 * on another group (so the operator's one-status-write-per-second
 * coalescing never delays one). Per change, from the PATCH's response:
 * until the last watcher received the new generation (the change delivered
 * to every node's agent), and until the group's status shows it as
 * observedGeneration (the roll-up). The operator's requests over the
 * changes are counted too: one status write per change, no VtepNodeState
 * write.
 */
import { loadavg } from 'node:os';
import { KubeClient, ResourceApi } from '../src/operator/kube/client.js';
import { ControlPlane } from '../test/harness/kube.js';
import { CollectionWatch, type KubeObject } from './lib/collection-watch.js';
import { CliDaemon, cpuSecondsOf, until } from './lib/daemon.js';
import { metricSum, scrape } from './lib/prom.js';
import type { Figure } from './lib/report.js';
import { extrasOf, type Scale } from './lib/scale.js';
import { median, percentile } from './lib/stats.js';

const METRICS_PORT = 19100;
const EVPN = '/apis/evpn.ecmp.dev/v1alpha1';
/** What B6 took before the agents read VtepGroups themselves (BENCHMARKS.md's reference run; issue 20). */
const BEFORE = {
  render: '42.0 s until every spec listed every group (BENCHMARKS.md); 84–107 s on a loaded machine',
  requests: '1,105 until every spec was rendered (BENCHMARKS.md); 2,307 until quiet on a loaded machine',
  change: 'a change was one write of up to 100 VtepNodeStates listing every group',
};

const groupName = (g: number) => `bench-group-${g}`;
const vtepA = (g: number) => `198.18.${(g >> 8) & 255}.${g & 255}`;
const vtepB = (g: number) => `198.19.${(g >> 8) & 255}.${g & 255}`;

function objects(groups: number, nodes: number): { nodes: unknown; rest: unknown } {
  const list = (items: unknown[]) => ({ apiVersion: 'v1', kind: 'List', items });
  const nodeItems = Array.from({ length: nodes }, (_, n) => ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: `bench-node-${n}`, annotations: { 'evpn.ecmp.dev/vtep-ip': `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}` } },
  }));
  const fabric = {
    apiVersion: 'evpn.ecmp.dev/v1alpha1',
    kind: 'EvpnFabric',
    metadata: { name: 'default' },
    spec: { nodeSelector: {}, underlay: { localAddressFrom: 'Annotation' } },
  };
  const groupItems = Array.from({ length: groups }, (_, g) => ({
    apiVersion: 'evpn.ecmp.dev/v1alpha1',
    kind: 'VtepGroup',
    metadata: { name: groupName(g) },
    spec: {
      fabric: 'default',
      vni: 1000 + g,
      vteps: [{ ip: vtepA(g), weight: 3 }, { ip: vtepB(g), weight: 1 }],
      macs: [`02:00:00:00:${((g >> 8) & 255).toString(16).padStart(2, '0')}:${(g & 255).toString(16).padStart(2, '0')}`],
    },
  }));
  return { nodes: list(nodeItems), rest: list([fabric, ...groupItems]) };
}

/** Resolves when `done()` holds after an event; `check` is called by the watches' callbacks. */
class Progress {
  private resolve!: () => void;
  readonly reached = new Promise<void>((r) => (this.resolve = r));
  at: number | undefined;
  constructor(private readonly done: () => boolean) {}
  check(atMs: number): void {
    if (this.at === undefined && this.done()) {
      this.at = atMs;
      this.resolve();
    }
  }
}

async function withTimeout<T>(what: string, p: Promise<T>, ms: number, detail: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}: ${detail()}`)), ms)));
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export async function benchOperator(scale: Scale): Promise<Figure[]> {
  const { operatorGroups: groups, operatorNodes: nodes, operatorChanges: changes, idleSeconds } = extrasOf(scale);
  const cp = await ControlPlane.start({ crds: true });
  let operator: CliDaemon | undefined;
  const watches: CollectionWatch[] = [];
  const client = new KubeClient(cp.kubeConfig);
  try {
    const o = objects(groups, nodes);
    await cp.kubectlInput(JSON.stringify(o.nodes), 'create', '-f', '-');
    await cp.kubectlInput(JSON.stringify(o.rest), 'create', '-f', '-');
    const metricsUrl = `http://127.0.0.1:${METRICS_PORT}/metrics`;
    const counters = async () => {
      const text = await scrape(metricsUrl);
      return {
        requests: metricSum(text, 'evpn_operator_api_requests_total'),
        written: metricSum(text, 'evpn_operator_reconcile_total', { result: 'written' }),
        nodeStateWrites: metricSum(text, 'evpn_operator_api_requests_total', { resource: 'vtepnodestates' }) - metricSum(text, 'evpn_operator_api_requests_total', { resource: 'vtepnodestates', verb: 'list' }),
      };
    };

    // ---- render: watched by the bench, not polled
    const rendered = new Set<string>();
    const rolledUp = new Set<string>();
    const allRendered = new Progress(() => rendered.size === nodes);
    const progress = new Progress(() => rendered.size === nodes && rolledUp.size === groups);
    const stateWatch = new CollectionWatch(cp.kubeConfig, `${EVPN}/vtepnodestates`, {}, (type, vns, at) => {
      const spec = vns.spec as { groupsFrom?: string; groups?: unknown[]; localVtepIP?: string } | undefined;
      if (type !== 'DELETED' && spec?.groupsFrom === 'VtepGroups' && (spec.groups ?? []).length === 0 && spec.localVtepIP) rendered.add(vns.metadata.name);
      else rendered.delete(vns.metadata.name);
      allRendered.check(at);
      progress.check(at);
    });
    const groupWatch = new CollectionWatch(cp.kubeConfig, `${EVPN}/vtepgroups`, {}, (type, vg, at) => {
      const status = vg.status as { observedGeneration?: number; nodesTotal?: number } | undefined;
      if (type !== 'DELETED' && status?.observedGeneration === vg.metadata.generation && status?.nodesTotal === nodes) rolledUp.add(vg.metadata.name);
      else rolledUp.delete(vg.metadata.name);
      progress.check(at);
    });
    await stateWatch.start();
    await groupWatch.start();
    watches.push(stateWatch, groupWatch);

    const cpuOf = (pids: Record<string, number>) => Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuSecondsOf(pid)]));
    const controlPlaneCpu = cpuOf(cp.pids());
    const launched = performance.now();
    operator = CliDaemon.start(
      // No agent runs here: without the grace period the operator would, after
      // 30 s, mark every node not reporting (a write per node and per group).
      ['operator', '--kubeconfig', cp.kubeconfigPath, '--metrics-addr', `127.0.0.1:${METRICS_PORT}`, '--health-addr', `127.0.0.1:${METRICS_PORT + 1}`, '--agent-grace-period', '1h'],
      { ...process.env, POD_NAMESPACE: 'default' },
    );
    const exited = until('the operator to exit', () => !operator!.running, 3_600_000, 200).then(() => {
      throw new Error(`operator exited:\n${operator!.tail()}`);
    });
    await withTimeout('every VtepNodeState rendered and every VtepGroup rolled up', Promise.race([progress.reached, exited]), 600_000, () => `${rendered.size}/${nodes} VtepNodeStates, ${rolledUp.size}/${groups} VtepGroups`);
    const renderMs = allRendered.at! - launched;
    const rollUpMs = progress.at! - launched;
    const cpuAfter = cpuOf(cp.pids());
    const loadAtRollUp = loadavg();
    const cpuSpent = [`operator ${operator.cpuSeconds().toFixed(1)}`, ...['kube-apiserver', 'etcd'].map((d) => `${d} ${((cpuAfter[d] ?? 0) - (controlPlaneCpu[d] ?? 0)).toFixed(1)}`)].join(', ');
    await Promise.all(watches.splice(0).map((w) => w.stop()));

    // Quiet: no request for 3 s in a row.
    let last = (await counters()).requests;
    let quietSince = Date.now();
    await until('the operator to go quiet', async () => {
      const now = (await counters()).requests;
      if (now !== last) {
        last = now;
        quietSince = Date.now();
      }
      return Date.now() - quietSince >= 3000;
    }, 300_000, 250);
    const settled = await counters();
    await new Promise((r) => setTimeout(r, idleSeconds * 1000));
    const idle = (await counters()).requests - settled.requests;

    // ---- change: 100 agents' watches, 50 weight changes
    const watchers = nodes;
    interface Pending { name: string; generation: number; waiting: Set<number>; lastAt: number; statusAt?: number; settle: () => void }
    let pending: Pending | undefined;
    const latest = new Map<string, number>();
    const seen = (w: number, vg: KubeObject, at: number) => {
      const generation = vg.metadata.generation ?? 0;
      if (generation > (latest.get(vg.metadata.name) ?? 0)) latest.set(vg.metadata.name, generation);
      const p = pending;
      if (!p || vg.metadata.name !== p.name) return;
      if (generation >= p.generation && p.waiting.delete(w)) p.lastAt = at;
      if (p.statusAt === undefined && ((vg.status?.observedGeneration as number | undefined) ?? 0) >= p.generation) p.statusAt = at;
      if (p.waiting.size === 0 && p.statusAt !== undefined) p.settle();
    };
    for (let w = 0; w < watchers; w++) {
      watches.push(new CollectionWatch(cp.kubeConfig, `${EVPN}/vtepgroups`, { fieldSelector: 'spec.fabric=default' }, (_type, vg, at) => seen(w, vg, at)));
    }
    await Promise.all(watches.map((w) => w.start()));
    const groupsApi = new ResourceApi<KubeObject>(client, EVPN, 'vtepgroups');
    const change = async (g: number, weight: number): Promise<{ deliveredMs: number; statusMs: number; fromSentMs: number }> => {
      const name = groupName(g);
      let settle!: () => void;
      const done = new Promise<void>((r) => (settle = r));
      const generation = (latest.get(name) ?? 0) + 1;
      const p: Pending = { name, generation, waiting: new Set(Array.from({ length: watchers }, (_, w) => w)), lastAt: 0, settle };
      pending = p;
      const sent = performance.now();
      const updated = await groupsApi.patch(name, { spec: { vteps: [{ ip: vtepA(g), weight }, { ip: vtepB(g), weight: 1 }] } }, 'b6-bench');
      // Events decoded before the answer arrived count from the answer (0 ms).
      const answered = performance.now();
      if (updated.metadata.generation !== generation) throw new Error(`${name}: expected generation ${generation} after the change, the apiserver says ${updated.metadata.generation}`);
      await withTimeout(`change of ${name}`, done, 30_000, () => `${p.waiting.size} watcher(s) without generation ${p.generation}, status ${p.statusAt === undefined ? 'not' : ''} rolled up`);
      pending = undefined;
      return { deliveredMs: Math.max(0, p.lastAt - answered), statusMs: Math.max(0, p.statusAt! - answered), fromSentMs: p.lastAt - sent };
    };
    // The watches are open once a change reaches all of them (not measured).
    await change(groups - 1, 2);
    await new Promise((r) => setTimeout(r, 1500));
    const before = await counters();
    const delivered: number[] = [];
    const rolled: number[] = [];
    const fromSent: number[] = [];
    for (let i = 0; i < changes; i++) {
      // 7 is prime to the scales' group counts less one: every change another group.
      const r = await change((i * 7) % (groups - 1), 4 + (i % 200));
      delivered.push(r.deliveredMs);
      rolled.push(r.statusMs);
      fromSent.push(r.fromSentMs);
      await new Promise((res) => setTimeout(res, 50));
    }
    await new Promise((r) => setTimeout(r, 1500));
    const after = await counters();

    const what = `${groups} VtepGroups × ${nodes} Nodes`;
    const objectsWritten = settled.written;
    const ms = (xs: number[]) => `p50 ${median(xs).toFixed(0)} ms, max ${Math.max(...xs).toFixed(0)} ms`;
    return [
      {
        bench: 'B6',
        what: `${what}: operator start → every VtepNodeState rendered`,
        ours: renderMs,
        unit: 'ms',
        goal: { on: 'value', max: 5000 },
        note: `includes process start and the initial lists; before: ${BEFORE.render}`,
      },
      {
        bench: 'B6',
        what: `${what}: operator start → every VtepNodeState rendered and every VtepGroup rolled up`,
        ours: rollUpMs,
        unit: 'ms',
        goal: { on: 'value', max: 5000 },
        note: `${groups} VtepGroup status writes after the ${nodes} VtepNodeStates; CPU seconds until then: ${cpuSpent}; load average then ${loadAtRollUp.map((l) => l.toFixed(1)).join(' ')}`,
      },
      {
        bench: 'B6',
        what: `${what}: API requests until quiet, per object written`,
        ours: settled.requests / objectsWritten,
        unit: '×',
        goal: { on: 'value', max: 1.2 },
        note: `${settled.requests} requests for ${objectsWritten} objects written (${nodes} VtepNodeStates, ${groups} VtepGroup and 1 EvpnFabric status expected); before: ${BEFORE.requests}`,
      },
      { bench: 'B6', what: `${what}: API requests over ${idleSeconds} s idle`, ours: idle, unit: 'requests', goal: { on: 'value', max: 0 } },
      {
        bench: 'B6',
        what: `${what}: one VtepGroup change → delivered to all ${watchers} agents' watches (p99 of ${changes})`,
        ours: percentile(delivered, 99),
        unit: 'ms',
        goal: { on: 'value', max: 1000 },
        note: `from the PATCH's answer to the last watcher's event (often before it): ${ms(delivered)}; from the PATCH sent: ${ms(fromSent)}; before: ${BEFORE.change}`,
      },
      {
        bench: 'B6',
        what: `${what}: one VtepGroup change → its status at the new generation (p99 of ${changes})`,
        ours: percentile(rolled, 99),
        unit: 'ms',
        goal: { on: 'value', max: 1000 },
        note: ms(rolled),
      },
      {
        bench: 'B6',
        what: `${what}: VtepNodeState writes over ${changes} VtepGroup changes`,
        ours: after.nodeStateWrites - before.nodeStateWrites,
        unit: 'requests',
        goal: { on: 'value', max: 0 },
        note: `all of the operator's requests over the changes: ${after.requests - before.requests} (one status write per change)`,
      },
    ];
  } finally {
    await Promise.allSettled(watches.map((w) => w.stop()));
    client.close();
    await operator?.stop();
    await cp.stop();
  }
}
