import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { KubernetesEdge, loadKubeConfig } from '../../../../src/agent/kube/edge.js';
import { main } from '../../../../src/cli/main.js';
import { silentLogger } from '../../../../src/util/log.js';
import { createMetricsRegistry } from '../../../../src/util/metrics.js';
import { FakeTransport } from './fake-transport.js';

describe('loadKubeConfig', () => {
  let dir: string;
  const env = { ...process.env };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'evpn-kubecfg-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    process.env = { ...env };
  });

  it('reads a kubeconfig file', () => {
    const file = join(dir, 'config');
    writeFileSync(file, [
      'apiVersion: v1', 'kind: Config',
      'clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443"}}]',
      'users: [{name: u, user: {token: t}}]',
      'contexts: [{name: x, context: {cluster: c, user: u}}]',
      'current-context: x', '',
    ].join('\n'));
    expect(loadKubeConfig(file).getCurrentCluster()?.server).toBe('https://127.0.0.1:6443');
  });

  it('names a missing kubeconfig file', () => {
    expect(() => loadKubeConfig(join(dir, 'nope'))).toThrow(/kubeconfig .*nope does not exist/);
  });

  it('outside a cluster without --kubeconfig says what to give', () => {
    delete process.env['KUBERNETES_SERVICE_HOST'];
    delete process.env['KUBERNETES_SERVICE_PORT'];
    expect(() => loadKubeConfig()).toThrow(/not running in a cluster .*--kubeconfig.*--state-file/);
  });
});

describe('evpn-ecmp agent: mode selection', () => {
  let stderr: string[];
  beforeEach(() => {
    stderr = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr.push(String(chunk));
      return true;
    });
  });
  afterEach(() => vi.restoreAllMocks());

  it.each([
    [['--kubeconfig', '/x', '--state-file', '/s', '--status-file', '/t'], 2, /exclude each other/],
    [['--state-file', '/s'], 2, /needs both --state-file and --status-file/],
    [['--kubeconfig', '/nonexistent/kubeconfig'], 1, /kubeconfig \/nonexistent\/kubeconfig does not exist/],
  ])('%j exits %i with one line', async (flags, code, message) => {
    expect(await main(['agent', '--node', 'node-a', '--ovs-rundir', tmpdir(), ...flags])).toBe(code);
    expect(stderr).toHaveLength(1);
    expect(stderr[0]).toMatch(message);
  });
});

describe('KubernetesEdge', () => {
  it('registers the three apiserver metrics in the agent\'s registry', async () => {
    const registry = createMetricsRegistry({ processMetrics: false });
    const edge = new KubernetesEdge({ node: 'node-a', log: silentLogger, registry, transport: new FakeTransport() });
    const text = await registry.metrics();
    expect(text).toContain('# TYPE evpn_agent_status_writes_total counter');
    expect(text).toContain('# TYPE evpn_agent_status_write_errors_total counter');
    expect(text).toContain('# TYPE evpn_agent_apiserver_up gauge');
    await edge.stop(10);
  });
});
