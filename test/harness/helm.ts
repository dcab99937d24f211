import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { run, type ExecResult } from './exec.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const chartDir = `${repoRoot}charts/evpn-ecmp-operator`;

let cached: string | undefined;

/** The Helm binary the bootstrap script built (building it now if it has not yet). */
export function helmBinary(): string {
  cached ??= execFileSync('bash', [`${repoRoot}scripts/build-helm.sh`], { encoding: 'utf8' }).trim();
  return cached;
}

/** Runs helm; `kubeconfig` points it at a test control plane. */
export function helm(args: string[], opts: { kubeconfig?: string } = {}): Promise<ExecResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, HELM_CACHE_HOME: '/tmp/evpn-helm-cache', HELM_CONFIG_HOME: '/tmp/evpn-helm-config', HELM_DATA_HOME: '/tmp/evpn-helm-data' };
  if (opts.kubeconfig) env.KUBECONFIG = opts.kubeconfig;
  return run(helmBinary(), args, { env, timeoutMs: 120_000 });
}
