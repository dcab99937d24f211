/**
 * The harness's control plane is the real thing: the pinned release answers
 * kubectl and @kubernetes/client-node, TokenRequest issues node-bound
 * service-account tokens (the agent's security model, DESIGN 7), the garbage
 * collector deletes what a deleted Node owned, and stop() leaves nothing.
 */
import { AuthenticationV1Api, CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_GROUP, API_VERSION } from '../../../src/api/index.js';
import { CommandError, run } from '../../harness/exec.js';
import { ControlPlane, controlPlaneBinDir, kubernetesVersion, missingControlPlane } from '../../harness/kube.js';
import { missingPrerequisites } from '../../harness/prereq.js';

const skip = missingPrerequisites(['openssl']) ?? missingControlPlane();

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(skip)('control plane harness', () => {
  let cp: ControlPlane;

  beforeAll(async () => {
    cp = await ControlPlane.start({ controllerManager: true, crds: true });
  });
  afterAll(async () => {
    await cp?.stop();
  });

  it('serves the pinned Kubernetes release to kubectl', async () => {
    const { stdout } = await cp.kubectl('version', '-o', 'json');
    const v = JSON.parse(stdout);
    expect(v.serverVersion.gitVersion).toBe(kubernetesVersion());
    expect(v.clientVersion.gitVersion).toBe(kubernetesVersion());
    expect(cp.server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it('gives @kubernetes/client-node a working admin KubeConfig', async () => {
    const core = cp.kubeConfig.makeApiClient(CoreV1Api);
    const ns = await core.listNamespace();
    expect(ns.items.map((n) => n.metadata?.name)).toEqual(expect.arrayContaining(['default', 'kube-system']));
  });

  it('issues node-bound service-account tokens through TokenRequest', async () => {
    const { token, kubeConfig, kubeconfigPath } = await cp.nodeBoundCredentials('token-node', 'agent');
    expect(token).toMatch(/^ey/);

    // The apiserver authenticates the token and attaches the node the pod is
    // bound to: what a ValidatingAdmissionPolicy keys the agent's writes on.
    const review = await cp.kubeConfig.makeApiClient(AuthenticationV1Api).createTokenReview({ body: { spec: { token } } });
    expect(review.status?.authenticated).toBe(true);
    expect(review.status?.user?.username).toBe('system:serviceaccount:default:agent');
    expect(review.status?.user?.extra?.['authentication.kubernetes.io/node-name']).toEqual(['token-node']);

    // And the token works as a client credential; RBAC denies what it was not granted.
    await expect(kubeConfig.makeApiClient(CoreV1Api).listNode()).rejects.toMatchObject({ code: 403 });
    // The kubeconfig file carries the same identity (what an agent gets with --kubeconfig).
    const { stdout } = await run(cp.kubectlPath, ['--kubeconfig', kubeconfigPath, 'auth', 'whoami', '-o', 'json']);
    expect(JSON.parse(stdout).status.userInfo.extra['authentication.kubernetes.io/node-name']).toEqual(['token-node']);
  });

  it('enforces a ValidatingAdmissionPolicy on the node-name of a bound token (DESIGN 7)', async () => {
    const sa = 'vap-agent';
    const { kubeConfig } = await cp.nodeBoundCredentials('vap-node-a', sa);
    const user = `system:serviceaccount:default:${sa}`;
    const manifests = [
      {
        apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'vap-agent' },
        rules: [{ apiGroups: [API_GROUP], resources: ['vtepnodestates/status'], verbs: ['get', 'patch', 'update'] }],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'vap-agent' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'vap-agent' },
        subjects: [{ kind: 'ServiceAccount', name: sa, namespace: 'default' }],
      },
      {
        apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicy', metadata: { name: 'vap-own-node-status' },
        spec: {
          failurePolicy: 'Fail',
          matchConstraints: { resourceRules: [{ apiGroups: [API_GROUP], apiVersions: ['*'], resources: ['vtepnodestates/status'], operations: ['UPDATE'] }] },
          matchConditions: [{ name: 'test-agent-only', expression: `request.userInfo.username == '${user}'` }],
          validations: [
            {
              expression:
                "'authentication.kubernetes.io/node-name' in request.userInfo.extra && " +
                "request.userInfo.extra['authentication.kubernetes.io/node-name'][0] == object.metadata.name",
              message: 'an agent may write only the status of its own node',
            },
          ],
        },
      },
      {
        apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicyBinding', metadata: { name: 'vap-own-node-status' },
        spec: { policyName: 'vap-own-node-status', validationActions: ['Deny'] },
      },
      ...['vap-node-a', 'vap-node-b'].map((name) => ({
        apiVersion: `${API_GROUP}/${API_VERSION}`, kind: 'VtepNodeState', metadata: { name }, spec: { fabric: 'default', localVtepIP: '192.0.2.9' },
      })),
    ];
    await cp.kubectlInput(manifests.map((m) => JSON.stringify(m)).join('\n'), 'apply', '-f', '-');

    const agent = kubeConfig.makeApiClient(CustomObjectsApi);
    const patchStatus = (name: string) =>
      agent.patchClusterCustomObjectStatus(
        { group: API_GROUP, version: API_VERSION, plural: 'vtepnodestates', name, body: [{ op: 'add', path: '/status', value: { summary: { groups: 0, paths: 0, macs: 0, invalid: 0 } } }] },
      );
    // The policy takes effect once the apiserver has compiled it (asynchronously).
    const denied = await eventually('the policy to deny another node\'s status', async () => {
      try {
        await patchStatus('vap-node-b');
        return undefined;
      } catch (err) {
        return (err as { code?: number }).code === 422 || (err as { code?: number }).code === 403 ? (err as Error) : undefined;
      }
    });
    // client-node's ApiException carries the apiserver's Status in its message.
    expect(denied.message).toContain('an agent may write only the status of its own node');
    await expect(patchStatus('vap-node-a')).resolves.toBeDefined();
  });

  it('garbage-collects a VtepNodeState when its Node is deleted', async () => {
    const core = cp.kubeConfig.makeApiClient(CoreV1Api);
    const node = await core.createNode({ body: { metadata: { name: 'gc-node' } } });
    const custom = cp.kubeConfig.makeApiClient(CustomObjectsApi);
    const vns = { group: API_GROUP, version: API_VERSION, plural: 'vtepnodestates' };
    await custom.createClusterCustomObject({
      ...vns,
      body: {
        apiVersion: `${API_GROUP}/${API_VERSION}`,
        kind: 'VtepNodeState',
        metadata: {
          name: 'gc-node',
          ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'gc-node', uid: node.metadata!.uid! }],
        },
        spec: { fabric: 'default', localVtepIP: '192.0.2.7' },
      },
    });
    await core.deleteNode({ name: 'gc-node' });
    // Within seconds: the harness starts the controller manager after the
    // CRDs, so its garbage collector already watches VtepNodeStates.
    await eventually('the VtepNodeState to be collected', async () => {
      try {
        await custom.getClusterCustomObject({ ...vns, name: 'gc-node' });
        return undefined;
      } catch (err) {
        return (err as { code?: number }).code === 404 ? true : undefined;
      }
    }, 10_000);
  });

  it('runs kubectl with the admin kubeconfig and reports its errors', async () => {
    await expect(cp.kubectl('get', 'vtepgroup', 'does-not-exist')).rejects.toBeInstanceOf(CommandError);
    await expect(cp.kubectl('get', 'vtepgroup', 'does-not-exist')).rejects.toThrow(/NotFound|not found/);
  });
});

describe.skipIf(skip)('control plane build', () => {
  it('build.sh is idempotent and agrees with the harness on the cache directory', async () => {
    const script = join(import.meta.dirname, '../../../scripts/control-plane/build.sh');
    const started = Date.now();
    const { stdout } = await run('bash', [script]);
    // Everything is cached: no compiler runs, the script only reports the directory.
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(stdout.trim()).toBe(controlPlaneBinDir());
    expect((await run('bash', [script, '--print-dir'])).stdout.trim()).toBe(controlPlaneBinDir());
    expect(controlPlaneBinDir().endsWith(`/evpn-ecmp/bin/${kubernetesVersion()}`)).toBe(true);
  });
});

describe.skipIf(skip)('control plane lifecycle', () => {
  it('stops every daemon by pid and removes its directory', async () => {
    const cp = await ControlPlane.start({ controllerManager: true });
    const pids = cp.pids();
    expect(Object.keys(pids).sort()).toEqual(['etcd', 'kube-apiserver', 'kube-controller-manager']);
    for (const pid of Object.values(pids)) expect(pidAlive(pid)).toBe(true);
    await cp.stop();
    for (const pid of Object.values(pids)) expect(pidAlive(pid)).toBe(false);
    expect(existsSync(cp.dir)).toBe(false);
  });

  it('runs two control planes side by side', async () => {
    const [a, b] = await Promise.all([ControlPlane.start(), ControlPlane.start()]);
    try {
      expect(a.server).not.toBe(b.server);
      await a.kubectl('create', 'namespace', 'only-in-a');
      await expect(b.kubectl('get', 'namespace', 'only-in-a')).rejects.toThrow(/not found/);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
