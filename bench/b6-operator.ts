/**
 * B6 — operator: VtepGroups × Nodes on a real kube-apiserver (the test
 * harness's control plane, etcd + kube-apiserver on loopback). Every object
 * exists before the operator starts; measured: from the operator's launch
 * until every Node's VtepNodeState holds every group in its spec, the API
 * requests the operator made until it went quiet (its own
 * evpn_operator_api_requests_total; watches are not requests), and the
 * requests it made over the following idle period (goal 0).
 *
 * The idle window starts once the request counter has not moved for 3 s,
 * so that trailing status aggregation writes count as rendering work, not
 * as idle traffic; a periodic resync would still show.
 */
import { ControlPlane } from '../test/harness/kube.js';
import { CliDaemon, until } from './lib/daemon.js';
import { metricSum, scrape } from './lib/prom.js';
import type { Figure } from './lib/report.js';
import { timeMs } from './lib/stats.js';
import { extrasOf, type Scale } from './lib/scale.js';

const METRICS_PORT = 19100;

function objects(groups: number, nodes: number): { nodes: unknown; rest: unknown } {
  const list = (items: unknown[]) => ({ apiVersion: 'v1', kind: 'List', items });
  const nodeItems = Array.from({ length: nodes }, (_, n) => ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: `bench-node-${n}`, annotations: { 'evpn.ecmp.dev/vtep-ip': `10.${n >> 16 & 255}.${n >> 8 & 255}.${n & 255}` } },
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
    metadata: { name: `bench-group-${g}` },
    spec: {
      fabric: 'default',
      vni: 1000 + g,
      vteps: [{ ip: `198.18.${g >> 8 & 255}.${g & 255}`, weight: 3 }, { ip: `198.19.${g >> 8 & 255}.${g & 255}`, weight: 1 }],
      macs: [`02:00:00:00:${(g >> 8 & 255).toString(16).padStart(2, '0')}:${(g & 255).toString(16).padStart(2, '0')}`],
    },
  }));
  return { nodes: list(nodeItems), rest: list([fabric, ...groupItems]) };
}

/** Nodes whose VtepNodeState spec lists all `groups` groups. */
async function renderedNodes(cp: ControlPlane, groups: number): Promise<number> {
  const { stdout } = await cp.kubectl('get', 'vtepnodestates', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.spec.groups[*].vni}{"\\n"}{end}');
  return stdout.split('\n').filter((l) => l.includes('=') && l.split('=')[1]!.trim().split(/\s+/).filter(Boolean).length === groups).length;
}

export async function benchOperator(scale: Scale): Promise<Figure[]> {
  const { operatorGroups: groups, operatorNodes: nodes, idleSeconds } = extrasOf(scale);
  const cp = await ControlPlane.start({ crds: true });
  let operator: CliDaemon | undefined;
  try {
    const o = objects(groups, nodes);
    await cp.kubectlInput(JSON.stringify(o.nodes), 'create', '-f', '-');
    await cp.kubectlInput(JSON.stringify(o.rest), 'create', '-f', '-');
    const metricsUrl = `http://127.0.0.1:${METRICS_PORT}/metrics`;
    const requests = async () => metricSum(await scrape(metricsUrl), 'evpn_operator_api_requests_total');
    const renderMs = await timeMs(async () => {
      operator = CliDaemon.start(
        ['operator', '--kubeconfig', cp.kubeconfigPath, '--metrics-addr', `127.0.0.1:${METRICS_PORT}`, '--health-addr', `127.0.0.1:${METRICS_PORT + 1}`],
        { ...process.env, POD_NAMESPACE: 'default' },
      );
      await until(`${nodes} VtepNodeStates with ${groups} groups`, async () => {
        if (!operator!.running) throw new Error(`operator exited:\n${operator!.tail()}`);
        return (await renderedNodes(cp, groups)) === nodes;
      }, 600_000, 500);
    });
    const atRender = await requests();
    // Quiet: no request for 3 s in a row.
    let last = atRender;
    let quietSince = Date.now();
    await until('the operator to go quiet', async () => {
      const now = await requests();
      if (now !== last) {
        last = now;
        quietSince = Date.now();
      }
      return Date.now() - quietSince >= 3000;
    }, 300_000, 250);
    const settled = last;
    await new Promise((r) => setTimeout(r, idleSeconds * 1000));
    const idle = (await requests()) - settled;
    const what = `${groups} VtepGroups × ${nodes} Nodes`;
    return [
      { bench: 'B6', what: `${what}: operator start → every VtepNodeState rendered`, ours: renderMs, unit: 'ms', note: `includes process start and the initial lists` },
      { bench: 'B6', what: `${what}: API requests until quiet`, ours: settled, unit: 'requests', note: `${atRender} by the time every spec was rendered; the rest are status writes` },
      { bench: 'B6', what: `${what}: API requests over ${idleSeconds} s idle`, ours: idle, unit: 'requests', goal: { on: 'value', max: 0 } },
    ];
  } finally {
    await operator?.stop();
    await cp.stop();
  }
}
