/**
 * What the lab applies to its cluster besides the CRDs: the agents'
 * identity and permissions (the Helm chart's: read its inputs, write only
 * the status of its own node's VtepNodeState and renew its own node's
 * heartbeat Lease), and the sample manifests of examples/.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AGENT_SECURITY_FILE, LAB_NAMESPACE, LAB_RELEASE } from './security.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The commented sample EvpnFabric and VtepGroups (`kubectl apply -f examples/`). */
export const EXAMPLES_DIR = join(REPO_ROOT, 'examples');

/** Builds etcd, kube-apiserver, kube-controller-manager and kubectl from their Go modules (cached). */
export const BUILD_SCRIPT = join(REPO_ROOT, 'scripts/control-plane/build.sh');

export const AGENT_NAMESPACE = LAB_NAMESPACE;
/** The chart's agent ServiceAccount for release LAB_RELEASE. */
export const AGENT_SERVICE_ACCOUNT = `${LAB_RELEASE}-agent`;

/**
 * The lab's agents renew their heartbeat Lease every 2 s (the chart: 10 s),
 * so a stopped agent shows as not Ready in `kubectl get vns` within 6 s.
 */
export const LAB_HEARTBEAT_INTERVAL = '2s';

/** The agent's namespace, then the chart's agent identity, RBAC and admission policy (security.ts). */
export function agentSecurityManifests(): string {
  const namespace = `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${AGENT_NAMESPACE}\n`;
  return `${namespace}${readFileSync(AGENT_SECURITY_FILE, 'utf8')}`;
}
