/**
 * `helm upgrade` with a changed CRD. Helm installs crds/ once and never
 * upgrades them (nor deletes them); the README's upgrade step applies the
 * chart's CRDs first. Here a release is installed from an older chart whose
 * VtepGroup CRD lacks `spec.nodeSelector`, then upgraded to this chart:
 * plain `helm upgrade` leaves the old CRD, the documented step updates it,
 * and the objects stored under the old one survive.
 */
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { ControlPlane, missingControlPlane } from '../../harness/kube.js';
import { chartDir, helm } from '../../harness/helm.js';
import { missingPrerequisites } from '../../harness/prereq.js';

const skip = missingPrerequisites(['go']) ?? missingControlPlane();
const NS = 'evpn-system';
const README = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
/** The upgrade step as the README gives it (the chart path is the repository's). */
const CRD_STEP = 'helm show crds charts/evpn-ecmp-operator | kubectl apply --server-side --force-conflicts -f -';

const VG = `apiVersion: evpn.ecmp.dev/v1alpha1
kind: VtepGroup
metadata: {name: NAME}
spec:
  fabric: default
  vni: 100
  vteps: [{ip: 198.51.100.2}]
  macs: ["02:00:00:00:00:aa"]
`;

describe.skipIf(skip)('helm upgrade with a changed CRD', () => {
  let cp: ControlPlane;
  let dir: string;
  const h = (...args: string[]) => helm([...args, '--namespace', NS], { kubeconfig: cp.kubeconfigPath });
  const nodeSelectorInCrd = async () => {
    const { stdout } = await cp.kubectl('get', 'crd', 'vtepgroups.evpn.ecmp.dev', '-o', 'jsonpath={.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.nodeSelector.type}');
    return stdout === 'object';
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'evpn-crd-upgrade-'));
    cp = await ControlPlane.start();
    await cp.kubectl('create', 'namespace', NS);
  }, 180_000);
  afterAll(async () => {
    await cp?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the README names the step', () => {
    expect(README).toContain(CRD_STEP);
  });

  it('plain helm upgrade keeps the old CRD; the documented step updates it, and stored objects survive', async () => {
    // The previous release: this chart with crds/ copied in (not linked) and
    // VtepGroup's nodeSelector removed.
    const old = join(dir, 'old-chart');
    cpSync(chartDir, old, { recursive: true, dereference: true });
    const crdFile = join(old, 'crds', readdirSync(join(old, 'crds')).find((f) => f.startsWith('vtepgroups'))!);
    const crd = parse(readFileSync(crdFile, 'utf8')) as { spec: { versions: Array<{ schema: { openAPIV3Schema: { properties: { spec: { properties: Record<string, unknown> } } } } }> } };
    delete crd.spec.versions[0]!.schema.openAPIV3Schema.properties.spec.properties.nodeSelector;
    writeFileSync(crdFile, `---\n${stringify(crd, { lineWidth: 0 })}`);
    await h('install', 'evpn', old);
    expect(await nodeSelectorInCrd()).toBe(false);
    await cp.kubectlInput(VG.replace('NAME', 'before-upgrade'), 'create', '-f', '-');

    // Helm never upgrades a CRD it installed from crds/.
    await h('upgrade', 'evpn', chartDir);
    expect(await nodeSelectorInCrd()).toBe(false);

    // The README's step (run from the repository root), then the upgrade.
    const { stdout: crds } = await helm(['show', 'crds', chartDir]);
    await cp.kubectlInput(crds, 'apply', '--server-side', '--force-conflicts', '-f', '-');
    await h('upgrade', 'evpn', chartDir);
    expect(await nodeSelectorInCrd()).toBe(true);
    const { stdout: established } = await cp.kubectl('get', 'crd', 'vtepgroups.evpn.ecmp.dev', '-o', 'jsonpath={.status.conditions[?(@.type=="Established")].status}');
    expect(established).toBe('True');

    // What was stored under the old CRD is still there; the new field is accepted.
    const { stdout: kept } = await cp.kubectl('get', 'vg', 'before-upgrade', '-o', 'jsonpath={.spec.macs[0]}');
    expect(kept).toBe('02:00:00:00:00:aa');
    await cp.kubectlInput(VG.replace('NAME', 'after-upgrade') + '  nodeSelector: {matchLabels: {role: web}}\n', 'create', '-f', '-');
    const { stdout: selector } = await cp.kubectl('get', 'vg', 'after-upgrade', '-o', 'jsonpath={.spec.nodeSelector.matchLabels.role}');
    expect(selector).toBe('web');
  }, 180_000);
});
