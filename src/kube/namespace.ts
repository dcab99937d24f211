/**
 * The namespace a process runs in, for the objects it keeps next to itself
 * (the operator's leader Lease, the agents' heartbeat Leases): POD_NAMESPACE
 * (the chart sets it from the downward API), else the service account's
 * namespace file, else "default" (a process outside any cluster).
 */
import { readFileSync } from 'node:fs';

const SA_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

export function podNamespace(env: NodeJS.ProcessEnv = process.env, namespaceFile = SA_NAMESPACE_FILE): string {
  if (env.POD_NAMESPACE) return env.POD_NAMESPACE;
  try {
    return readFileSync(namespaceFile, 'utf8').trim() || 'default';
  } catch {
    return 'default';
  }
}
