import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { chartDir, helm } from '../../harness/helm.js';
import { missingPrerequisites } from '../../harness/prereq.js';

const skip = missingPrerequisites(['go']);

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: Record<string, unknown>;
}

async function template(...args: string[]): Promise<K8sObject[]> {
  // Offline rendering assumes Kubernetes 1.20 unless told; the chart needs 1.30+.
  const { stdout } = await helm(['template', 'evpn', chartDir, '--namespace', 'evpn-system', '--kube-version', '1.34.0', ...args]);
  return parseAllDocuments(stdout)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

function find(objects: K8sObject[], kind: string, nameSuffix: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name.endsWith(nameSuffix));
  if (!found) throw new Error(`no ${kind} *${nameSuffix} in ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found;
}

function withValues(values: string, fn: (file: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'evpn-values-'));
  const file = join(dir, 'values.yaml');
  writeFileSync(file, values);
  return fn(file).finally(() => rmSync(dir, { recursive: true, force: true }));
}

describe.skipIf(skip)('helm chart', () => {
  it('passes helm lint with default values', async () => {
    const { stdout } = await helm(['lint', chartDir, '--strict']);
    expect(stdout).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  it('renders the expected objects with default values', async () => {
    const objects = await template();
    const kinds = objects.map((o) => o.kind).sort();
    expect(kinds).toEqual(expect.arrayContaining([
      'ClusterRole', 'ClusterRoleBinding', 'DaemonSet', 'Deployment', 'Role', 'RoleBinding', 'Service',
      'ServiceAccount', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding',
    ]));
    expect(kinds).not.toContain('ServiceMonitor');

    const ds = find(objects, 'DaemonSet', '-agent') as K8sObject & { spec: any };
    const pod = ds.spec.template.spec;
    expect(pod.hostNetwork).toBe(true);
    const agent = pod.containers[0];
    expect(agent.securityContext.capabilities).toEqual({ drop: ['ALL'], add: ['NET_ADMIN'] });
    expect(agent.securityContext.readOnlyRootFilesystem).toBe(true);
    expect(agent.securityContext.allowPrivilegeEscalation).toBe(false);
    expect(agent.env.find((e: any) => e.name === 'NODE_NAME').valueFrom.fieldRef.fieldPath).toBe('spec.nodeName');
    expect(agent.args).toContain('--node=$(NODE_NAME)');
    expect(agent.volumeMounts[0].mountPath).toBe('/var/run/openvswitch');
    expect(agent.livenessProbe.httpGet).toEqual({ host: '127.0.0.1', path: '/healthz', port: 'health' });
    expect(agent.readinessProbe.httpGet).toEqual({ host: '127.0.0.1', path: '/readyz', port: 'health' });
    // On the host's network: health and metrics on the node's loopback (both families), no debug endpoints.
    expect(agent.args).toContain('--health-addr=127.0.0.1:9441,[::1]:9441');
    expect(agent.args).toContain('--metrics-addr=127.0.0.1:9440,[::1]:9440');
    expect(agent.args.filter((a: string) => a.startsWith('--debug'))).toEqual([]);
    // The heartbeat Lease in the agent's own namespace, renewed every 10 s.
    expect(agent.args).toContain('--heartbeat-interval=10s');
    expect(agent.env.find((e: any) => e.name === 'POD_NAMESPACE').valueFrom.fieldRef.fieldPath).toBe('metadata.namespace');
    expect(objects.filter((o) => o.kind === 'Service').map((o) => o.metadata.name)).toEqual(['evpn-evpn-ecmp-operator-metrics']);
    expect(ds.spec.updateStrategy.rollingUpdate.maxUnavailable).toBe(1);

    const deploy = find(objects, 'Deployment', '-operator') as K8sObject & { spec: any };
    const op = deploy.spec.template.spec;
    expect(op.securityContext.runAsNonRoot).toBe(true);
    expect(op.containers[0].securityContext.readOnlyRootFilesystem).toBe(true);
    expect(op.containers[0].args).toContain('--leader-elect');
    expect(op.containers[0].resources.requests).toBeDefined();
  });

  it('renders a non-trivial values file', async () => {
    await withValues(
      [
        'image: {repository: registry.example/evpn, tag: "1.2.3", pullPolicy: Always}',
        'logLevel: debug',
        'operator: {replicas: 2, leaderElect: true, metricsPort: 18080}',
        'agent:',
        '  ovsRunDir: /run/openvswitch',
        '  exposeMetrics: true',
        '  debugEndpoints: true',
        '  tolerations: [{key: dedicated, operator: Equal, value: network, effect: NoSchedule}]',
        '  updateStrategy: {maxUnavailable: "10%"}',
        'metrics: {serviceMonitor: {enabled: true, interval: 15s, labels: {release: prom}}}',
      ].join('\n'),
      async (file) => {
        const objects = await template('-f', file);
        const deploy = find(objects, 'Deployment', '-operator') as K8sObject & { spec: any };
        expect(deploy.spec.replicas).toBe(2);
        expect(deploy.spec.template.spec.containers[0].image).toBe('registry.example/evpn:1.2.3');
        expect(deploy.spec.template.spec.containers[0].args).toContain('--metrics-addr=:18080');
        const ds = find(objects, 'DaemonSet', '-agent') as K8sObject & { spec: any };
        expect(ds.spec.template.spec.volumes[0].hostPath.path).toBe('/run/openvswitch');
        expect(ds.spec.template.spec.tolerations).toEqual([{ key: 'dedicated', operator: 'Equal', value: 'network', effect: 'NoSchedule' }]);
        expect(ds.spec.updateStrategy.rollingUpdate.maxUnavailable).toBe('10%');
        const agentArgs = ds.spec.template.spec.containers[0].args as string[];
        expect(agentArgs).toEqual(expect.arrayContaining(['--metrics-addr=:9440', '--health-addr=127.0.0.1:9441,[::1]:9441', '--debug-endpoints']));
        const monitors = objects.filter((o) => o.kind === 'ServiceMonitor');
        expect(monitors).toHaveLength(2);
        expect((monitors[0] as any).spec.endpoints[0].interval).toBe('15s');
      },
    );
  });

  it('renders the pod conventions: image digest, pod labels, priority classes, affinity, extra args and env, and a PDB for the operator', async () => {
    const digest = `sha256:${'0123456789abcdef'.repeat(4)}`;
    await withValues(
      [
        `image: {repository: registry.example/evpn, tag: "1.2.3", digest: "${digest}"}`,
        'operator:',
        '  replicas: 2',
        '  priorityClassName: cluster-critical',
        '  podLabels: {team: net}',
        '  extraArgs: [--workers=8]',
        '  extraEnv: [{name: HTTPS_PROXY, value: "http://proxy:3128"}]',
        '  podDisruptionBudget: {minAvailable: 1}',
        'agent:',
        '  affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: evpn, operator: In, values: ["on"]}]}]}}}',
        '  podLabels: {team: net}',
        '  extraArgs: [--audit-interval=60]',
        '  extraEnv: [{name: OVS_RUNDIR, value: /var/run/openvswitch}]',
      ].join('\n'),
      async (file) => {
        const objects = await template('-f', file);
        const deploy = find(objects, 'Deployment', '-operator') as K8sObject & { spec: any };
        const ds = find(objects, 'DaemonSet', '-agent') as K8sObject & { spec: any };
        for (const w of [deploy, ds]) {
          const pod = w.spec.template;
          // Pulled by digest: the exact bytes on every node.
          expect(pod.spec.containers[0].image).toBe(`registry.example/evpn@${digest}`);
          expect(pod.metadata.labels.team).toBe('net');
          // The selector labels stay the chart's.
          expect(pod.metadata.labels).toMatchObject(w.spec.selector.matchLabels);
        }
        const op = deploy.spec.template.spec;
        expect(op.priorityClassName).toBe('cluster-critical');
        expect(op.containers[0].args.at(-1)).toBe('--workers=8');
        expect(op.containers[0].env.at(-1)).toEqual({ name: 'HTTPS_PROXY', value: 'http://proxy:3128' });
        const agent = ds.spec.template.spec;
        expect(agent.priorityClassName).toBe('system-node-critical');
        expect(agent.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key).toBe('evpn');
        expect(agent.containers[0].args.at(-1)).toBe('--audit-interval=60');
        expect(agent.containers[0].env.at(-1)).toEqual({ name: 'OVS_RUNDIR', value: '/var/run/openvswitch' });
        const pdb = find(objects, 'PodDisruptionBudget', '-operator') as K8sObject & { spec: any };
        expect(pdb.apiVersion).toBe('policy/v1');
        expect(pdb.spec.minAvailable).toBe(1);
        expect(pdb.spec.maxUnavailable).toBeUndefined();
        expect(pdb.spec.selector.matchLabels).toEqual(deploy.spec.selector.matchLabels);
      },
    );
    // By default: a PDB that never blocks a drain of the single operator; images by tag.
    const objects = await template();
    expect((find(objects, 'PodDisruptionBudget', '-operator') as K8sObject & { spec: any }).spec).toMatchObject({ maxUnavailable: 1 });
    expect((find(objects, 'Deployment', '-operator') as K8sObject & { spec: any }).spec.template.spec.containers[0].image).toMatch(/:\d+\.\d+\.\d+$/);
  });

  it('gives the agent only what it uses: list and watch of VtepNodeStates, VtepGroups and Nodes, patch of VtepNodeState status', async () => {
    const role = find(await template(), 'ClusterRole', '-agent') as K8sObject & { rules: unknown };
    expect(role.rules).toEqual([
      { apiGroups: ['evpn.ecmp.dev'], resources: ['vtepnodestates'], verbs: ['list', 'watch'] },
      // get: for kubectl patch, which reads first; nothing list does not show.
      { apiGroups: ['evpn.ecmp.dev'], resources: ['vtepnodestates/status'], verbs: ['get', 'patch'] },
      // groupsFrom VtepGroups: the fabric's groups and the node's labels, read only.
      { apiGroups: ['evpn.ecmp.dev'], resources: ['vtepgroups'], verbs: ['list', 'watch'] },
      { apiGroups: [''], resources: ['nodes'], verbs: ['list', 'watch'] },
    ]);
  });

  it('renders a ServiceMonitor only with the Service it scrapes', async () => {
    await withValues('metrics: {service: {enabled: false}, serviceMonitor: {enabled: true}}', async (file) => {
      const err = await template('-f', file).then(() => undefined, (e: Error) => e);
      expect(err?.message).toMatch(/metrics.serviceMonitor.enabled needs metrics.service.enabled/);
    });
    await withValues('metrics: {service: {enabled: false}}', async (file) => {
      const kinds = (await template('-f', file)).map((o) => o.kind);
      expect(kinds).not.toContain('Service');
      expect(kinds).not.toContain('ServiceMonitor');
    });
  });

  it('refuses a Kubernetes older than the CRDs need (CEL IP library: 1.31)', async () => {
    const err = await helm(['template', 'evpn', chartDir, '--kube-version', '1.30.14']).then(() => undefined, (e: Error) => e);
    expect(err?.message).toMatch(/chart requires kubeVersion: >=1.31.0-0 which is incompatible with Kubernetes v1.30.14/);
    await helm(['template', 'evpn', chartDir, '--kube-version', '1.31.0']);
  });

  it.each([
    ['an unknown key', 'agent: {ovsRundir: /x}', /ovsRundir/],
    ['a port out of range', 'operator: {metricsPort: 70000}', /metricsPort/],
    ['a bad log level', 'logLevel: verbose', /logLevel/],
    ['a relative OVS run dir', 'agent: {ovsRunDir: var/run}', /ovsRunDir/],
    ['a bad maxUnavailable', 'agent: {updateStrategy: {maxUnavailable: 0}}', /maxUnavailable/],
    ['a pod label that would change the selector', 'agent: {podLabels: {app.kubernetes.io/component: x}}', /podLabels/],
    ['an image digest that is not sha256', 'image: {repository: r, digest: "latest"}', /digest/],
    ['an extra argument that is not a flag', 'operator: {extraArgs: [workers]}', /extraArgs/],
    ['exposeMetrics as a string', 'agent: {exposeMetrics: "yes"}', /exposeMetrics/],
    ['a heartbeat interval without a unit', 'agent: {heartbeatInterval: "10"}', /heartbeatInterval/],
  ])('rejects %s with a message naming it', async (_what, values, pattern) => {
    await withValues(values, async (file) => {
      const err = await template('-f', file).then(() => undefined, (e: Error) => e);
      expect(err?.message).toMatch(/values don't meet the specifications of the schema/);
      expect(err?.message).toMatch(pattern);
    });
  });

  it('ships exactly the CRDs of crds/', async () => {
    // `helm show crds` joins the files without document separators; the
    // rendered release keeps them apart.
    const fromChart = (await template('--include-crds')).filter((o) => o.kind === 'CustomResourceDefinition');
    const crdDir = join(chartDir, '..', '..', 'crds');
    const fromRepo = readdirSync(crdDir)
      .filter((f) => f.endsWith('.yaml'))
      .flatMap((f) => parseAllDocuments(readFileSync(join(crdDir, f), 'utf8')).map((d) => d.toJS() as K8sObject));
    expect(fromRepo.length).toBe(3);
    const byName = (a: K8sObject, b: K8sObject) => a.metadata.name.localeCompare(b.metadata.name);
    expect(fromChart.sort(byName)).toEqual(fromRepo.sort(byName));
  });
});
