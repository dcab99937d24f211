/**
 * The lab's security posture is the chart's: the agent's ServiceAccount,
 * its ClusterRole and binding (read inputs, write only VtepNodeState
 * status), its Role for its heartbeat Lease, and the
 * ValidatingAdmissionPolicies that tie a status write and a Lease write to
 * the node the agent's token is bound to. The lab applies a copy rendered from
 * the chart (`npx tsx src/lab/write-security.ts`, which runs Helm), so
 * `npm run lab` needs no Helm; a test renders the chart again and fails
 * when the copy differs.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, stringify } from 'yaml';
import { kubernetesVersion } from './control-plane.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export const CHART_DIR = join(REPO_ROOT, 'charts/evpn-ecmp-operator');
/** The committed copy the lab applies. */
export const AGENT_SECURITY_FILE = join(REPO_ROOT, 'src/lab/agent-security.yaml');
/** Release name and namespace the copy is rendered for (the agent's ServiceAccount is `<release>-agent`). */
export const LAB_RELEASE = 'evpn-ecmp';
export const LAB_NAMESPACE = 'evpn-system';
/** The chart templates that hold the agent's identity and permissions. */
export const SECURITY_TEMPLATES = [
  'templates/serviceaccounts.yaml',
  'templates/rbac-agent.yaml',
  'templates/admission-policy.yaml',
  'templates/rbac-agent-heartbeat.yaml',
  'templates/admission-policy-heartbeat.yaml',
] as const;

/** `helm template` arguments that render exactly those templates for the lab. */
export function helmTemplateArgs(): string[] {
  // The chart needs Kubernetes >= 1.30 (ValidatingAdmissionPolicy v1); offline, Helm assumes 1.20.
  return ['template', LAB_RELEASE, CHART_DIR, '--namespace', LAB_NAMESPACE, '--kube-version', kubernetesVersion(), ...SECURITY_TEMPLATES.flatMap((t) => ['--show-only', t])];
}

interface Manifest {
  kind?: string;
  metadata?: { name?: string; labels?: Record<string, string> };
}

/**
 * The agent's objects of a `helm template` output, without labels (they
 * carry the chart's version, which says nothing about the posture). The
 * operator's ServiceAccount is left out: the lab's operator runs with the
 * admin's credentials.
 */
export function agentSecurityDocuments(rendered: string): Manifest[] {
  const docs = parseAllDocuments(rendered).map((d) => d.toJS() as Manifest | null).filter((d): d is Manifest => d !== null && typeof d === 'object');
  return docs
    .filter((d) => !(d.kind === 'ServiceAccount' && d.metadata?.name === `${LAB_RELEASE}-operator`))
    .map((d) => {
      const { labels: _labels, ...metadata } = d.metadata ?? {};
      return { ...d, metadata };
    });
}

export function agentSecurityYaml(docs: readonly Manifest[]): string {
  const header = [
    '# Generated from charts/evpn-ecmp-operator by `npx tsx src/lab/write-security.ts`',
    `# (helm ${helmTemplateArgs().join(' ').replace(REPO_ROOT + '/', '')}),`,
    '# labels dropped.',
    '# The lab applies it; test/integration/lab/security-copy.test.ts fails when it differs from the chart.',
  ].join('\n');
  return `${header}\n${docs.map((d) => `---\n${stringify(d)}`).join('')}`;
}
