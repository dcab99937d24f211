import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlPlane, missingControlPlane } from '../../harness/kube.js';
import { chartDir, helm } from '../../harness/helm.js';
import { missingPrerequisites } from '../../harness/prereq.js';
import { CommandError } from '../../harness/exec.js';

const skip = missingPrerequisites(['go']) ?? missingControlPlane();
const NS = 'evpn-system';
const AGENT = `system:serviceaccount:${NS}:evpn-evpn-ecmp-agent`;
const OPERATOR = `system:serviceaccount:${NS}:evpn-evpn-ecmp-operator`;

describe.skipIf(skip)('helm install into a real kube-apiserver', () => {
  let cp: ControlPlane;
  const h = (...args: string[]) => helm([...args, '--namespace', NS], { kubeconfig: cp.kubeconfigPath });

  /** `kubectl auth can-i` answers yes with exit 0 and no with exit 1. */
  async function canI(as: string, verb: string, resource: string, subresource?: string, namespace?: string): Promise<boolean> {
    const args = ['auth', 'can-i', verb, resource, `--as=${as}`];
    if (subresource) args.push(`--subresource=${subresource}`);
    if (namespace) args.push('-n', namespace);
    try {
      await cp.kubectl(...args);
      return true;
    } catch (err) {
      if (err instanceof CommandError && err.stdout.trim() === 'no') return false;
      throw err;
    }
  }

  beforeAll(async () => {
    cp = await ControlPlane.start();
    await cp.kubectl('create', 'namespace', NS);
    await h('install', 'evpn', chartDir);
  }, 180_000);
  afterAll(async () => {
    await cp?.stop();
  });

  it('has every object accepted, the CRDs and the admission policy included', async () => {
    const { stdout: crds } = await cp.kubectl('get', 'crd', '-o', 'name');
    expect(crds).toContain('vtepnodestates.evpn.ecmp.dev');
    expect(crds).toContain('vtepgroups.evpn.ecmp.dev');
    expect(crds).toContain('evpnfabrics.evpn.ecmp.dev');
    const { stdout: workloads } = await cp.kubectl('get', 'deployment,daemonset,serviceaccount,service', '-n', NS, '-o', 'name');
    expect(workloads).toContain('deployment.apps/evpn-evpn-ecmp-operator');
    expect(workloads).toContain('daemonset.apps/evpn-evpn-ecmp-agent');
    expect(workloads).toContain('serviceaccount/evpn-evpn-ecmp-agent');
    const { stdout: policy } = await cp.kubectl('get', 'validatingadmissionpolicy,validatingadmissionpolicybinding', '-o', 'name');
    expect(policy).toContain('validatingadmissionpolicy.admissionregistration.k8s.io/evpn-evpn-ecmp-agent-own-node');
    expect(policy).toContain('validatingadmissionpolicybinding.admissionregistration.k8s.io/evpn-evpn-ecmp-agent-own-node');
    expect(policy).toContain('validatingadmissionpolicy.admissionregistration.k8s.io/evpn-evpn-ecmp-agent-own-lease');
    expect(policy).toContain('validatingadmissionpolicybinding.admissionregistration.k8s.io/evpn-evpn-ecmp-agent-own-lease');
  });

  it('gives the agent exactly what it uses: list and watch of VtepNodeStates, patch of their status', async () => {
    for (const verb of ['list', 'watch']) expect(await canI(AGENT, verb, 'vtepnodestates.evpn.ecmp.dev')).toBe(true);
    expect(await canI(AGENT, 'patch', 'vtepnodestates.evpn.ecmp.dev', 'status')).toBe(true);
    // It watches its own object by name and patches its status: nothing else, EvpnFabrics included
    // (the fabric's settings reach it in its VtepNodeState spec).
    expect(await canI(AGENT, 'get', 'vtepnodestates.evpn.ecmp.dev')).toBe(false);
    expect(await canI(AGENT, 'get', 'vtepnodestates.evpn.ecmp.dev', 'status')).toBe(true);
    expect(await canI(AGENT, 'update', 'vtepnodestates.evpn.ecmp.dev', 'status')).toBe(false);
    for (const verb of ['get', 'list', 'watch']) expect(await canI(AGENT, verb, 'evpnfabrics.evpn.ecmp.dev')).toBe(false);
    for (const verb of ['create', 'update', 'patch', 'delete']) {
      expect(await canI(AGENT, verb, 'vtepnodestates.evpn.ecmp.dev')).toBe(false);
      expect(await canI(AGENT, verb, 'evpnfabrics.evpn.ecmp.dev')).toBe(false);
    }
    expect(await canI(AGENT, 'update', 'evpnfabrics.evpn.ecmp.dev', 'status')).toBe(false);
    expect(await canI(AGENT, 'get', 'vtepgroups.evpn.ecmp.dev')).toBe(false);
    expect(await canI(AGENT, 'get', 'secrets')).toBe(false);
    expect(await canI(AGENT, 'get', 'nodes')).toBe(false);
    // Its heartbeat: create and renew Leases in its own namespace only (the policy narrows it to its node's).
    for (const verb of ['create', 'patch']) expect(await canI(AGENT, verb, 'leases.coordination.k8s.io', undefined, NS)).toBe(true);
    expect(await canI(AGENT, 'delete', 'leases.coordination.k8s.io', undefined, NS)).toBe(false);
    expect(await canI(AGENT, 'patch', 'leases.coordination.k8s.io', undefined, 'kube-node-lease')).toBe(false);
  });

  it('lets the operator write specs and statuses but not secrets', async () => {
    expect(await canI(OPERATOR, 'create', 'vtepnodestates.evpn.ecmp.dev')).toBe(true);
    expect(await canI(OPERATOR, 'patch', 'vtepgroups.evpn.ecmp.dev', 'status')).toBe(true);
    expect(await canI(OPERATOR, 'watch', 'nodes')).toBe(true);
    // Watches the agents' heartbeats; marks the status of a node whose agent went silent.
    expect(await canI(OPERATOR, 'watch', 'leases.coordination.k8s.io', undefined, NS)).toBe(true);
    expect(await canI(OPERATOR, 'patch', 'vtepnodestates.evpn.ecmp.dev', 'status')).toBe(true);
    expect(await canI(OPERATOR, 'update', 'vtepgroups.evpn.ecmp.dev')).toBe(false);
    expect(await canI(OPERATOR, 'get', 'secrets')).toBe(false);
  });

  it('upgrades with changed values and uninstalls cleanly', async () => {
    await h('upgrade', 'evpn', chartDir, '--set', 'operator.replicas=2', '--set', 'agent.updateStrategy.maxUnavailable=2');
    const { stdout: replicas } = await cp.kubectl('get', 'deployment', 'evpn-evpn-ecmp-operator', '-n', NS, '-o', 'jsonpath={.spec.replicas}');
    expect(replicas).toBe('2');
    const { stdout: history } = await h('history', 'evpn', '-o', 'json');
    expect((JSON.parse(history) as unknown[]).length).toBe(2);

    await h('uninstall', 'evpn', '--wait');
    const { stdout: left } = await cp.kubectl('get', 'deployment,daemonset,serviceaccount', '-n', NS, '-o', 'name');
    expect(left).not.toContain('evpn-evpn-ecmp');
    const { stdout: policies } = await cp.kubectl('get', 'validatingadmissionpolicy', '-o', 'name');
    expect(policies).not.toContain('evpn-evpn-ecmp');
    // Helm never deletes CRDs (they hold users' objects).
    const { stdout: crds } = await cp.kubectl('get', 'crd', '-o', 'name');
    expect(crds).toContain('vtepnodestates.evpn.ecmp.dev');
  });
});
