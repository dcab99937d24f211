/**
 * What the lab applies to its cluster besides the CRDs: the agents'
 * identity and permissions (as the Helm chart grants them: read its inputs,
 * write only VtepNodeState status), and the sample manifests of examples/.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The commented sample EvpnFabric and VtepGroups (`kubectl apply -f examples/`). */
export const EXAMPLES_DIR = join(REPO_ROOT, 'examples');

/** Builds etcd, kube-apiserver, kube-controller-manager and kubectl from their Go modules (cached). */
export const BUILD_SCRIPT = join(REPO_ROOT, 'scripts/control-plane/build.sh');

export const AGENT_NAMESPACE = 'evpn-system';
export const AGENT_SERVICE_ACCOUNT = 'evpn-ecmp-agent';

/** The agent ClusterRole of charts/evpn-ecmp-operator/templates/rbac-agent.yaml, for the lab's agents. */
export const AGENT_RBAC_YAML = `apiVersion: v1
kind: Namespace
metadata:
  name: ${AGENT_NAMESPACE}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: ${AGENT_SERVICE_ACCOUNT}
  namespace: ${AGENT_NAMESPACE}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: evpn-ecmp-lab-agent
rules:
  - apiGroups: [evpn.ecmp.dev]
    resources: [vtepnodestates, evpnfabrics]
    verbs: [get, list, watch]
  - apiGroups: [evpn.ecmp.dev]
    resources: [vtepnodestates/status]
    verbs: [get, update, patch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: evpn-ecmp-lab-agent
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: evpn-ecmp-lab-agent
subjects:
  - kind: ServiceAccount
    name: ${AGENT_SERVICE_ACCOUNT}
    namespace: ${AGENT_NAMESPACE}
`;
