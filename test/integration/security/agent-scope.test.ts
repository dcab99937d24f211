import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlPlane, missingControlPlane } from '../../harness/kube.js';
import { chartDir, helm } from '../../harness/helm.js';
import { missingPrerequisites } from '../../harness/prereq.js';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { CommandError, run } from '../../harness/exec.js';

function heartbeat(node: string, labels: Record<string, string> = { 'evpn.ecmp.dev/heartbeat': 'agent' }): string {
  return JSON.stringify({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: node, namespace: NS, labels },
    spec: { holderIdentity: node, leaseDurationSeconds: 30, renewTime: new Date().toISOString().replace('Z', '000Z') },
  });
}

const skip = missingPrerequisites(['go']) ?? missingControlPlane();
const NS = 'evpn-system';
const AGENT_SA = 'evpn-evpn-ecmp-agent';

function nodeState(name: string): string {
  return JSON.stringify({
    apiVersion: 'evpn.ecmp.dev/v1alpha1',
    kind: 'VtepNodeState',
    metadata: { name },
    spec: { fabric: 'default', localVtepIP: '192.0.2.1', ovs: {}, kernel: {}, groups: [] },
  });
}

/**
 * The agent's write scope, enforced by the chart's RBAC and its
 * ValidatingAdmissionPolicy, exercised with a real service-account token bound
 * to a Pod on node A (as the kubelet would mint it).
 */
describe.skipIf(skip)('agent write scope (RBAC + ValidatingAdmissionPolicy)', () => {
  let cp: ControlPlane;
  let token = '';

  /** kubectl as the agent: only the token, no admin client certificate. */
  function asAgent(...args: string[]) {
    return run(cp.kubectlPath, ['--server', cp.server, '--certificate-authority', join(cp.dir, 'ca.crt'), '--token', token, ...args]);
  }

  function asAgentInput(input: string, ...args: string[]) {
    return run(cp.kubectlPath, ['--server', cp.server, '--certificate-authority', join(cp.dir, 'ca.crt'), '--token', token, ...args], { input });
  }

  /**
   * A merge patch of a Lease as the agent sends it: one PATCH, no GET
   * first (kubectl patch reads the object, which the agent may not).
   * Resolves with the HTTP status and body.
   */
  function patchLeaseAsAgent(namespace: string, name: string, body: unknown): Promise<{ status: number; text: string }> {
    const url = new URL(`${cp.server}/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/${name}`);
    return new Promise((resolve, reject) => {
      const req = httpsRequest(url, {
        method: 'PATCH',
        ca: readFileSync(join(cp.dir, 'ca.crt')),
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/merge-patch+json' },
      }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
      req.end(JSON.stringify(body));
    });
  }

  async function denial(p: Promise<unknown>): Promise<string> {
    const err = await p.then(() => undefined, (e: unknown) => e);
    if (!(err instanceof CommandError)) throw new Error('expected the write to be denied, it succeeded');
    return err.stderr;
  }

  /**
   * A PATCH as the agent sends it (JSON Patch of the status subresource, or of
   * the object when `subresource` is empty), with nothing read first: kubectl
   * would GET the object before patching, which the agent may not.
   */
  function patchAsAgent(node: string, path: string, value: unknown, subresource = '/status'): Promise<{ code: number; message: string }> {
    const body = JSON.stringify([{ op: 'add', path, value }]);
    const url = `${cp.server}/apis/evpn.ecmp.dev/v1alpha1/vtepnodestates/${node}${subresource}?fieldManager=evpn-ecmp-agent`;
    return new Promise((resolve, reject) => {
      const req = httpsRequest(url, { method: 'PATCH', ca: cp.caCert, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json-patch+json' } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ code: res.statusCode ?? 0, message: (JSON.parse(text) as { message?: string }).message ?? '' }));
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  beforeAll(async () => {
    cp = await ControlPlane.start();
    await cp.kubectl('create', 'namespace', NS);
    await helm(['install', 'evpn', chartDir, '--namespace', NS], { kubeconfig: cp.kubeconfigPath });
    for (const node of ['node-a', 'node-b']) {
      await cp.kubectlInput(JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: node } }), 'create', '-f', '-');
      await cp.kubectlInput(nodeState(node), 'create', '-f', '-');
    }
    // A Pod object scheduled on node-a (no kubelet runs; the object is enough
    // for the apiserver to bind a token to it and to its node).
    await cp.kubectlInput(JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'agent-a', namespace: NS },
      spec: { nodeName: 'node-a', serviceAccountName: AGENT_SA, containers: [{ name: 'agent', image: 'evpn-ecmp' }] },
    }), 'create', '-f', '-');
    const { stdout } = await cp.kubectl('create', 'token', AGENT_SA, '-n', NS, '--bound-object-kind', 'Pod', '--bound-object-name', 'agent-a');
    token = stdout.trim();
    // The apiserver loads admission policies through an informer, so a policy
    // helm just created is enforced a moment later (under load, more than a
    // test's first request: a write to node-b's status went through once).
    // Wait for it on an object of its own, so no test's object is written.
    await cp.kubectlInput(nodeState('policy-probe'), 'create', '-f', '-');
    const deadline = Date.now() + 60_000;
    while ((await patchAsAgent('policy-probe', '/status', { observedGeneration: 1 })).code !== 403) {
      if (Date.now() > deadline) throw new Error('the agent admission policy was not enforced within 60 s');
      await new Promise((r) => setTimeout(r, 200));
    }
  }, 180_000);
  afterAll(async () => {
    await cp?.stop();
  });

  it('the token carries the node binding', async () => {
    const { stdout } = await asAgent('auth', 'whoami', '-o', 'json');
    const user = JSON.parse(stdout).status.userInfo;
    expect(user.username).toBe(`system:serviceaccount:${NS}:${AGENT_SA}`);
    expect(user.extra['authentication.kubernetes.io/node-name']).toEqual(['node-a']);
  });

  it('may write the status of its own node', async () => {
    expect(await patchAsAgent('node-a', '/status', { observedGeneration: 1 })).toMatchObject({ code: 200 });
    const { stdout } = await cp.kubectl('get', 'vtepnodestate', 'node-a', '-o', 'jsonpath={.status.observedGeneration}');
    expect(stdout).toBe('1');
    // It watches its own object by name (list + watch); a plain get is not granted.
    const { stdout: listed } = await asAgent('get', 'vtepnodestates', '--field-selector', 'metadata.name=node-a', '-o', 'name');
    expect(listed.trim()).toBe('vtepnodestate.evpn.ecmp.dev/node-a');
  });

  it('may not write the status of another node, with the policy saying why', async () => {
    const denied = await patchAsAgent('node-b', '/status', { observedGeneration: 1 });
    expect(denied.code).toBe(403);
    expect(denied.message).toContain('evpn-evpn-ecmp-agent-own-node');
    expect(denied.message).toContain('the evpn-ecmp agent on node node-a may write only the status of VtepNodeState node-a, not node-b');
    const { stdout } = await cp.kubectl('get', 'vtepnodestate', 'node-b', '-o', 'jsonpath={.status}');
    expect(stdout).toBe('');
  });

  it('may not write any spec', async () => {
    for (const node of ['node-a', 'node-b']) {
      const denied = await patchAsAgent(node, '/spec/localVtepIP', '192.0.2.9', '');
      expect(denied.code).toBe(403);
      expect(denied.message).toMatch(/forbidden/i);
    }
    const stderr = await denial(asAgent('delete', 'vtepnodestate', 'node-b'));
    expect(stderr).toMatch(/forbidden/i);
  });

  it('may list and watch VtepGroups and Nodes (groupsFrom VtepGroups), and write neither', async () => {
    await cp.kubectlInput(JSON.stringify({
      apiVersion: 'evpn.ecmp.dev/v1alpha1', kind: 'VtepGroup', metadata: { name: 'web' },
      spec: { fabric: 'default', vni: 100, vteps: [{ ip: '198.51.100.2' }], macs: ['02:00:00:00:00:aa'] },
    }), 'create', '-f', '-');
    // What the agent does: list by field selector, then watch.
    const { stdout: groups } = await asAgent('get', 'vtepgroups', '--field-selector', 'spec.fabric=default', '-o', 'name');
    expect(groups.trim()).toBe('vtepgroup.evpn.ecmp.dev/web');
    const { stdout: node } = await asAgent('get', 'nodes', '--field-selector', 'metadata.name=node-a', '-o', 'name');
    expect(node.trim()).toBe('node/node-a');
    for (const resource of ['vtepgroups.evpn.ecmp.dev', 'nodes']) {
      expect((await asAgent('auth', 'can-i', 'watch', resource)).stdout.trim()).toBe('yes');
      for (const verb of ['create', 'update', 'patch', 'delete']) {
        const answer = await asAgent('auth', 'can-i', verb, resource).then((r) => r.stdout.trim(), (e: CommandError) => e.stdout.trim());
        expect(answer, `${verb} ${resource}`).toBe('no');
      }
    }
    // RBAC cannot narrow a DaemonSet's list of Nodes to its own node (see rbac-agent.yaml): the others are readable too.
    const { stdout: all } = await asAgent('get', 'nodes', '-o', 'name');
    expect(all.trim().split('\n').sort()).toEqual(['node/node-a', 'node/node-b']);
    expect(await denial(asAgent('delete', 'vtepgroup', 'web'))).toMatch(/forbidden/i);
    expect(await denial(asAgentInput(JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-z' } }), 'create', '-f', '-'))).toMatch(/forbidden/i);
    expect(await denial(asAgent('label', 'node', 'node-b', 'evil=yes'))).toMatch(/forbidden/i);
  });

  it('may create and renew the heartbeat Lease of its own node', async () => {
    await asAgentInput(heartbeat('node-a'), 'create', '-f', '-');
    const renewTime = '2026-12-07T10:00:00.000000Z';
    expect((await patchLeaseAsAgent(NS, 'node-a', { spec: { renewTime } })).status).toBe(200);
    const { stdout } = await cp.kubectl('get', 'lease', 'node-a', '-n', NS, '-o', 'jsonpath={.spec.renewTime}');
    expect(stdout).toBe(renewTime);
  });

  it('may not write the heartbeat Lease of another node, nor Leases elsewhere', async () => {
    let stderr = await denial(asAgentInput(heartbeat('node-b'), 'create', '-f', '-'));
    expect(stderr).toContain('evpn-evpn-ecmp-agent-own-lease');
    expect(stderr).toContain('the evpn-ecmp agent on node node-a may write only the heartbeat Lease node-a, not node-b');
    await cp.kubectlInput(heartbeat('node-b'), 'create', '-f', '-');
    const other = await patchLeaseAsAgent(NS, 'node-b', { spec: { holderIdentity: 'node-a' } });
    expect(other.status).toBe(403);
    expect(other.text).toContain('may write only the heartbeat Lease node-a, not node-b');
    stderr = await denial(asAgent('delete', 'lease', 'node-a', '-n', NS));
    expect(stderr).toMatch(/forbidden/i);
    const elsewhere = await patchLeaseAsAgent('kube-node-lease', 'node-a', { spec: {} });
    expect(elsewhere.status).toBe(403);
  });

  it('a token not bound to a node may write no status at all', async () => {
    const { stdout } = await cp.kubectl('create', 'token', AGENT_SA, '-n', NS);
    token = stdout.trim();
    try {
      const denied = await patchAsAgent('node-a', '/status', { observedGeneration: 2 });
      expect(denied.code).toBe(403);
      expect(denied.message).toContain('the evpn-ecmp agent token is not bound to a node');
    } finally {
      const { stdout: bound } = await cp.kubectl('create', 'token', AGENT_SA, '-n', NS, '--bound-object-kind', 'Pod', '--bound-object-name', 'agent-a');
      token = bound.trim();
    }
  });
});
