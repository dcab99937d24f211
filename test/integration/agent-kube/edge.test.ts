/**
 * The agent's Kubernetes edge (spec source + status writer) against a real
 * kube-apiserver, without a dataplane: what the apiserver really does with
 * a field-selector watch, a JSON Patch on the status subresource, our own
 * writes echoed back, a foreign overwrite, a deletion, and a restart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VtepNodeStateStatus } from '../../../src/api/index.js';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeHttpTransport, KubernetesEdge, loadKubeConfig } from '../../../src/agent/kube/edge.js';
import { Logger } from '../../../src/util/log.js';
import { createMetricsRegistry, type Registry } from '../../../src/util/metrics.js';
import { ControlPlane, missingControlPlane } from '../../harness/kube.js';
import { eventually } from '../operator/operator-process.js';
import { getJson } from '../operator/objects.js';
import { SpecTarget } from '../../harness/spec-target.js';
import { nodeStateJson } from './node-state.js';

const skip = missingControlPlane();

function nodeStateYaml(name: string, weight: number): string {
  return nodeStateJson(name, { groups: [{ name: 'web', generation: 1, vni: 100, vteps: [{ ip: '198.51.100.2', weight }], macs: ['02:00:00:00:00:aa'] }] });
}

function status(invalid?: Record<string, number>): VtepNodeStateStatus {
  return {
    observedGeneration: 1,
    conditions: [{ type: 'Ready', status: 'True', reason: 'Synced', message: '', lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }],
    summary: { groups: 1, paths: 1, macs: 1, invalid: 0 },
    groups: [{ name: 'web', vni: 100, appliedGeneration: 1, paths: [{ vtep: '198.51.100.2', weight: 1 }], macs: 1, state: 'Programmed', message: '' }],
    learned: { ecmp: 2, singlePath: 0, ...(invalid ? { invalid } : {}) },
    lastSyncTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  };
}

async function counter(registry: Registry, name: string): Promise<number> {
  const m = await registry.getSingleMetric(name)?.get();
  return (m?.values ?? []).reduce((n, v) => n + v.value, 0);
}

describe.skipIf(skip)('agent Kubernetes edge against a real apiserver', () => {
  let cp: ControlPlane;
  const logs: string[] = [];
  const log = new Logger({ level: 'debug', sink: (l) => logs.push(l) });

  beforeAll(async () => {
    cp = await ControlPlane.start({ crds: true });
  }, 180_000);
  afterAll(async () => {
    await cp?.stop();
  }, 60_000);

  function edgeFor(node: string) {
    const registry = createMetricsRegistry({ processMetrics: false });
    const edge = new KubernetesEdge({ node, log, registry, kubeConfig: cp.kubeConfig });
    const target = new SpecTarget();
    edge.start(target);
    return { edge, target, registry };
  }

  it('waits for its object, applies it, writes status by JSON Patch, ignores its own echoes, follows spec edits', async () => {
    const { edge, target, registry } = edgeFor('node-1');
    try {
      await edge.listed;
      // The list said there is no object: no write is even tried.
      edge.writer.write(status({ UnknownNexthop: 2 }));
      await new Promise((r) => setTimeout(r, 1500));
      expect(await counter(registry, 'evpn_agent_status_write_errors_total')).toBe(0);
      expect(await counter(registry, 'evpn_agent_status_writes_total')).toBe(0);
      expect(target.specs).toEqual([]);

      await cp.kubectlInput(nodeStateYaml('node-1', 1), 'create', '-f', '-');
      // Another node's object is not even sent to us (field selector).
      await cp.kubectlInput(nodeStateYaml('node-2', 1), 'create', '-f', '-');
      await eventually('the spec applied', () => Promise.resolve(target.specs.length === 1), 10_000, 50);
      expect(target.specs[0]!.groups[0]!.vteps).toEqual([{ vtep: '198.51.100.2', weight: 1 }]);

      const written = await eventually('status on the object', async () => {
        const v = await getJson(cp, 'vns', 'node-1');
        return v.status?.learned?.invalid?.UnknownNexthop === 2 ? v : undefined;
      }, 10_000);
      expect(written.status.groups[0].state).toBe('Programmed');
      expect(await counter(registry, 'evpn_agent_status_writes_total')).toBe(1);

      // A reason that went away is gone from the object (a merge patch would keep it).
      edge.writer.write(status());
      await eventually('learned.invalid removed', async () => (await getJson(cp, 'vns', 'node-1')).status?.learned?.invalid === undefined, 10_000);
      const v = await getJson(cp, 'vns', 'node-1', '--show-managed-fields');
      expect((v.metadata.managedFields as Array<{ manager: string; subresource?: string }>).find((m) => m.subresource === 'status')?.manager).toBe('evpn-ecmp-agent');

      // Our own status writes came back as MODIFIED events: no new spec.
      expect(target.specs).toHaveLength(1);
      await cp.kubectl('patch', 'vns', 'node-1', '--type=merge', '-p', JSON.stringify({ spec: { groups: [{ name: 'web', generation: 2, vni: 100, vteps: [{ ip: '198.51.100.2', weight: 9 }], macs: ['02:00:00:00:00:aa'] }] } }));
      await eventually('the edited spec applied', () => Promise.resolve(target.specs.length === 2), 10_000, 50);
      expect(target.specs[1]!.generation).toBe(2);
      expect(target.specs[1]!.groups[0]!.vteps[0]!.weight).toBe(9);
      expect(target.rejections).toEqual([]);
      expect(await counter(registry, 'evpn_agent_apiserver_up')).toBe(1);
    } finally {
      await edge.stop();
    }
  }, 60_000);

  it('a restarted agent with the same status writes nothing; a foreign overwrite is repaired once', async () => {
    const { edge, registry } = edgeFor('node-1');
    try {
      await edge.listed;
      // Same content; new transition and sync times (as after a restart).
      await new Promise((r) => setTimeout(r, 1100));
      edge.writer.write(status());
      await new Promise((r) => setTimeout(r, 2500));
      expect(await counter(registry, 'evpn_agent_status_writes_total')).toBe(0);

      await cp.kubectl('patch', 'vns', 'node-1', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { summary: { groups: 7, paths: 7, macs: 7, invalid: 7 } } }));
      await eventually('status repaired', async () => (await getJson(cp, 'vns', 'node-1')).status?.summary?.groups === 1, 10_000);
      await new Promise((r) => setTimeout(r, 2500));
      expect(await counter(registry, 'evpn_agent_status_writes_total')).toBe(1);
    } finally {
      await edge.stop();
    }
  }, 60_000);

  it('deleting the object withdraws the groups; writes wait for it to come back', async () => {
    const { edge, target, registry } = edgeFor('node-1');
    try {
      await eventually('the spec applied', () => Promise.resolve(target.specs.length === 1), 10_000, 50);
      await cp.kubectl('delete', 'vns', 'node-1');
      await eventually('groups withdrawn', () => Promise.resolve(target.specs.length === 2), 10_000, 50);
      expect(target.specs[1]!.groups).toEqual([]);
      expect(target.specs[1]!.fabric).toEqual(target.specs[0]!.fabric);
      edge.writer.write(status({ Other: 1 }));
      await new Promise((r) => setTimeout(r, 1500));
      expect(await counter(registry, 'evpn_agent_status_writes_total')).toBe(0);

      await cp.kubectlInput(nodeStateYaml('node-1', 4), 'create', '-f', '-');
      await eventually('status written to the new object', async () => (await getJson(cp, 'vns', 'node-1')).status?.learned?.invalid?.Other === 1, 10_000);
      expect(target.specs.at(-1)!.groups[0]!.vteps[0]!.weight).toBe(4);
    } finally {
      await edge.stop();
    }
  }, 60_000);

  it('in-cluster credentials (service-account files + KUBERNETES_SERVICE_HOST/PORT) authenticate as the node-bound service account', async () => {
    const { token } = await cp.nodeBoundCredentials('node-x', 'evpn-agent');
    const root = mkdtempSync(join(tmpdir(), 'evpn-incluster-'));
    const env = { ...process.env };
    try {
      const sa = join(root, 'var/run/secrets/kubernetes.io/serviceaccount');
      mkdirSync(sa, { recursive: true });
      writeFileSync(join(sa, 'token'), token);
      writeFileSync(join(sa, 'ca.crt'), cp.caCert);
      process.env['KUBERNETES_SERVICE_HOST'] = '127.0.0.1';
      process.env['KUBERNETES_SERVICE_PORT'] = new URL(cp.server).port;
      const transport = new KubeHttpTransport(loadKubeConfig(undefined, root));
      try {
        const review = await transport.request<{ status: { userInfo: { username: string; extra?: Record<string, string[]> } } }>('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', {
          body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
        });
        expect(review.status.userInfo.username).toBe('system:serviceaccount:default:evpn-agent');
        expect(review.status.userInfo.extra?.['authentication.kubernetes.io/node-name']).toEqual(['node-x']);
      } finally {
        transport.close();
      }
    } finally {
      process.env = env;
      rmSync(root, { recursive: true, force: true });
    }
  }, 60_000);
});
