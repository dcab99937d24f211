/** Test objects and kubectl shortcuts shared by the operator suites. */
import { groupAppliesTo, nodeGroupOf, type GroupObject } from '../../../src/api/membership.js';
import { KubeClient, KubeApiError, ResourceApi } from '../../../src/operator/kube/client.js';
import type { HeartbeatLease } from '../../../src/operator/liveness.js';
import type { ControlPlane } from '../../harness/kube.js';

export async function getJson<T = Record<string, any>>(cp: ControlPlane, ...args: string[]): Promise<T> {
  const { stdout } = await cp.kubectl('get', ...args, '-o', 'json');
  return JSON.parse(stdout) as T;
}

/** The object, or undefined when it does not exist. */
export async function find(cp: ControlPlane, resource: string, name: string): Promise<Record<string, any> | undefined> {
  const { stdout } = await cp.kubectl('get', resource, name, '--ignore-not-found', '-o', 'json');
  return stdout.trim() === '' ? undefined : (JSON.parse(stdout) as Record<string, any>);
}

export function apply(cp: ControlPlane, yaml: string) {
  return cp.kubectlInput(yaml, 'apply', '-f', '-');
}

/** A Node object (no kubelet behind it) with an InternalIP, as the node controller would show it. */
export async function createNode(cp: ControlPlane, name: string, ip: string | undefined, labels: Record<string, string> = {}, annotations: Record<string, string> = {}) {
  await cp.kubectlInput(JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name, labels, annotations } }), 'create', '-f', '-');
  // Node status is a subresource: addresses are set the way kubelet sets them.
  const addresses = [{ type: 'Hostname', address: name }, ...(ip ? [{ type: 'InternalIP', address: ip }] : [])];
  await cp.kubectl('patch', 'node', name, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { addresses } }));
}

export const FABRIC = `
apiVersion: evpn.ecmp.dev/v1alpha1
kind: EvpnFabric
metadata: {name: default}
spec:
  nodeSelector: {matchLabels: {evpn: "on"}}
`;

export function groupYaml(name: string, vni: number, macs: string[], vteps: Array<{ ip: string; weight?: number }>, extra = ''): string {
  return `
apiVersion: evpn.ecmp.dev/v1alpha1
kind: VtepGroup
metadata: {name: ${name}}
spec:
  fabric: default
  vni: ${vni}
  vteps: ${JSON.stringify(vteps)}
  macs: ${JSON.stringify(macs)}
${extra}`;
}

/** metav1.MicroTime of now. */
const microNow = () => new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

/**
 * Heartbeat Leases as agents keep them (src/agent/kube/heartbeat.ts), in the
 * namespace the operator watches: `beat` creates or renews one now;
 * `keepAlive` renews it every `everyMs` until the returned function is called.
 */
export class Heartbeats {
  private readonly client: KubeClient;
  private readonly leases: ResourceApi<HeartbeatLease>;

  constructor(cp: ControlPlane, readonly namespace = 'default') {
    this.client = new KubeClient(cp.kubeConfig);
    this.leases = new ResourceApi<HeartbeatLease>(this.client, '/apis/coordination.k8s.io/v1', 'leases', namespace);
  }

  async beat(node: string, leaseDurationSeconds: number): Promise<void> {
    const spec = { holderIdentity: node, leaseDurationSeconds, renewTime: microNow() };
    try {
      await this.leases.patch(node, { spec }, 'test-agent');
    } catch (err) {
      if (!(err instanceof KubeApiError && err.status === 404)) throw err;
      await this.leases.create({ metadata: { name: node, namespace: this.namespace, labels: { 'evpn.ecmp.dev/heartbeat': 'agent' } }, spec });
    }
  }

  keepAlive(node: string, leaseDurationSeconds: number, everyMs: number): () => Promise<void> {
    let stopped = false;
    const loop = (async () => {
      while (!stopped) {
        await this.beat(node, leaseDurationSeconds).catch(() => undefined);
        await new Promise((r) => setTimeout(r, everyMs));
      }
    })();
    return async () => {
      stopped = true;
      await loop;
    };
  }

  close(): void {
    this.client.close();
  }
}

/** A group as the played agent reports it: state and message (Programmed with no message by default). */
export type PlayedReport = { state: 'Programmed' | 'Pending' | 'Invalid'; message?: string };

/**
 * The groups `node`'s agent takes, the way an agent picks them
 * (groupsFrom: VtepGroups): the VtepGroups of the fabric its spec names
 * whose nodeSelector picks its Node (src/api/membership.ts).
 */
export async function groupsOfNode(cp: ControlPlane, node: string): Promise<Array<{ name: string; generation: number; vni: number; vteps: Array<{ ip: string; weight: number }>; macs: string[] }>> {
  const vns = await getJson(cp, 'vns', node);
  const labels = (await getJson(cp, 'node', node)).metadata.labels as Record<string, string> | undefined;
  const groups = (await getJson<{ items: GroupObject[] }>(cp, 'vg')).items;
  return groups.filter((g) => groupAppliesTo(g, vns.spec.fabric, labels)).map(nodeGroupOf).sort((a, b) => (a.name < b.name ? -1 : 1));
}

/**
 * Writes a VtepNodeState status the way the node's agent does after
 * programming: every group it takes (groupsOfNode) Programmed at its
 * generation — or as `as` says for that group —, observedGeneration = the
 * object's generation, Ready=True. The played agent also renews its
 * heartbeat Lease once, promising the next renewal within
 * `leaseDurationSeconds` (an hour by default: these suites are not about
 * liveness).
 */
export async function reportProgrammed(
  cp: ControlPlane,
  node: string,
  only?: (group: string) => boolean,
  leaseDurationSeconds = 3600,
  as: (group: string) => PlayedReport | undefined = () => undefined,
): Promise<void> {
  const heartbeats = new Heartbeats(cp);
  try {
    await heartbeats.beat(node, leaseDurationSeconds);
  } finally {
    heartbeats.close();
  }
  const vns = await getJson(cp, 'vns', node);
  const groups = (await groupsOfNode(cp, node)).filter((g) => !only || only(g.name));
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const status = {
    observedGeneration: vns.metadata.generation,
    conditions: [
      { type: 'Ready', status: 'True', reason: 'Synced', message: '', lastTransitionTime: now },
      { type: 'OvsSynced', status: 'True', reason: 'Synced', message: '', lastTransitionTime: now },
    ],
    summary: { groups: groups.length, paths: groups.reduce((n, g) => n + g.vteps.length, 0), macs: groups.reduce((n, g) => n + g.macs.length, 0), invalid: 0 },
    groups: groups.map((g) => {
      const r = as(g.name) ?? { state: 'Programmed' };
      return { name: g.name, vni: g.vni, appliedGeneration: g.generation, paths: g.vteps.map((v) => ({ vtep: v.ip, weight: v.weight })), macs: g.macs.length, state: r.state, message: r.message ?? '' };
    }),
    lastSyncTime: now,
  };
  // A merge patch replaces the whole groups list, as the agent's own status write does.
  await cp.kubectl('patch', 'vns', node, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status }));
}

/** `kubectl get vg NAME` READY column. */
export async function readyColumn(cp: ControlPlane, resource: string, name: string): Promise<string> {
  const { stdout } = await cp.kubectl('get', resource, name, '--no-headers', '-o', 'custom-columns=READY:.status.ready');
  return stdout.trim();
}

/** What `kubectl get vg NAME` shows for the group's nodes ("ready/total"), once rolled up at the group's current generation. */
export async function rolledUp(cp: ControlPlane, group: string): Promise<string | undefined> {
  const vg = await find(cp, 'vg', group);
  return vg && vg.status?.observedGeneration === vg.metadata.generation ? (vg.status.ready as string) : undefined;
}

/** The group's Degraded condition. */
export async function degradedOf(cp: ControlPlane, group: string): Promise<{ status: string; reason: string; message: string } | undefined> {
  const vg = await getJson(cp, 'vg', group);
  return (vg.status?.conditions ?? []).find((c: { type: string }) => c.type === 'Degraded');
}

/** The operator's writes of VtepNodeState objects (specs and deletions; not the liveness marks on status), by its own metrics. */
export async function nodeStateWrites(op: { counter(name: string, labels: Record<string, string>): Promise<number> }): Promise<number> {
  const count = (verb: string) => op.counter('evpn_operator_api_requests_total', { resource: 'vtepnodestates', verb });
  return (await count('apply')) + (await count('delete'));
}

export async function eventsFor(cp: ControlPlane, kind: string, name: string): Promise<Array<{ type: string; reason: string; message: string; count: number }>> {
  const list = await getJson<{ items: Array<{ type: string; reason: string; message: string; count: number }> }>(
    cp, 'events', '-n', 'default', '--field-selector', `involvedObject.kind=${kind},involvedObject.name=${name}`,
  );
  return list.items;
}
