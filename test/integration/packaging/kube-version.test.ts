/**
 * The oldest Kubernetes the chart claims (Chart.yaml kubeVersion), tested:
 * the kube-apiserver built for the tests (1.34) emulates that release
 * (`--emulated-version`, which also sets the CEL compatibility version new
 * CRDs are checked against), the chart installs there, CRDs included, and
 * the CRDs' CEL address rules (the IP library the floor exists for) work.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ControlPlane, missingControlPlane } from '../../harness/kube.js';
import { chartDir, helm } from '../../harness/helm.js';
import { missingPrerequisites } from '../../harness/prereq.js';
import { CommandError } from '../../harness/exec.js';

const skip = missingPrerequisites(['go']) ?? missingControlPlane();
const NS = 'evpn-system';
const chart = parse(readFileSync(`${chartDir}/Chart.yaml`, 'utf8')) as { kubeVersion: string };
const floor = /^>=1\.(\d+)\.0-0$/.exec(chart.kubeVersion)?.[1];

const group = (name: string, ip: string) => `apiVersion: evpn.ecmp.dev/v1alpha1
kind: VtepGroup
metadata: {name: ${name}}
spec: {fabric: default, vni: 100, vteps: [{ip: "${ip}"}], macs: ["02:00:00:00:00:aa"]}
`;

describe.skipIf(skip)('the oldest supported Kubernetes', () => {
  let cp: ControlPlane;

  beforeAll(async () => {
    expect(floor, `kubeVersion ${chart.kubeVersion}`).toBeDefined();
    cp = await ControlPlane.start({ apiserverArgs: [`--emulated-version=kube=1.${floor}`] });
    await cp.kubectl('create', 'namespace', NS);
  }, 180_000);
  afterAll(async () => {
    await cp?.stop();
  });

  it('installs the chart, CRDs and admission policy included, on an apiserver emulating it', async () => {
    const { stdout } = await cp.kubectl('version', '-o', 'json');
    expect((JSON.parse(stdout) as { serverVersion: { emulationMinor?: string } }).serverVersion.emulationMinor).toBe(floor);
    await helm(['install', 'evpn', chartDir, '--namespace', NS], { kubeconfig: cp.kubeconfigPath });
    const { stdout: crds } = await cp.kubectl('get', 'crd', '-o', 'name');
    expect(crds.trim().split('\n').sort()).toEqual([
      'customresourcedefinition.apiextensions.k8s.io/evpnfabrics.evpn.ecmp.dev',
      'customresourcedefinition.apiextensions.k8s.io/vtepgroups.evpn.ecmp.dev',
      'customresourcedefinition.apiextensions.k8s.io/vtepnodestates.evpn.ecmp.dev',
    ]);
    const { stdout: policy } = await cp.kubectl('get', 'validatingadmissionpolicy', '-o', 'name');
    expect(policy).toContain('evpn-evpn-ecmp-agent-own-node');
  }, 120_000);

  it('runs the CRDs\' CEL address rules there', async () => {
    const refusal = async (ip: string) => {
      try {
        await cp.kubectlInput(group(`g-${ip.replace(/[.:]/g, '-')}`, ip), 'create', '-f', '-');
        return undefined;
      } catch (err) {
        if (err instanceof CommandError) return err.stderr;
        throw err;
      }
    };
    expect(await refusal('198.51.100.2')).toBeUndefined();
    expect(await refusal('198.51.100.300')).toMatch(/spec.vteps\[0\].ip: Invalid value: "string": must be an IPv4 or IPv6 address/);
    expect(await refusal('224.0.0.1')).toMatch(/must be a unicast address/);
    expect(await refusal('2001:DB8::1')).toMatch(/must be written in canonical form/);
  });
});
