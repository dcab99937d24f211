/**
 * `evpn-ecmp operator` as a process: caches, leader election, the control
 * loop, health and metrics endpoints, and an orderly shutdown (stop
 * reconciling, flush Events, then release the Lease, so two leaders never
 * write at once).
 */
import { ConfigError } from '../util/errors.js';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { KubeConfig } from '@kubernetes/client-node';
import { podNamespace } from '../kube/namespace.js';
import { HealthChecks, serveObservability, type HttpEndpoint } from '../util/http.js';
import type { Logger } from '../util/log.js';
import { createMetricsRegistry } from '../util/metrics.js';
import { aborted } from '../util/shutdown.js';
import { workQueueMetrics } from '../util/workqueue.js';
import { Controller } from './controller.js';
import { EventRecorder, type CoreEvent } from './events.js';
import { KubeClient, ResourceApi } from './kube/client.js';
import { LeaderElector, type Lease } from './leader.js';
import { observeRequest, operatorMetrics } from './metrics.js';
import { FIELD_MANAGER } from './model.js';

export interface OperatorConfig {
  kubeconfig?: string;
  metricsAddr: string;
  healthAddr: string;
  leaderElect: boolean;
  leaseName: string;
  leaseNamespace: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  identity: string;
  workers: number;
  /** Namespace of the agents' heartbeat Leases. */
  heartbeatNamespace: string;
  /** Grace of an agent that never renewed a heartbeat Lease. */
  agentGraceMs: number;
}

/** A configuration problem the operator cannot start with (exit 1 with this one line). */
export { ConfigError };

/** The namespace of the Lease: POD_NAMESPACE, else the service account's, else "default". */
export function defaultLeaseNamespace(env: NodeJS.ProcessEnv = process.env): string {
  return podNamespace(env);
}

/** Unique per process, readable in `kubectl get lease`: the pod name (or host) plus a random suffix. */
export function defaultIdentity(env: NodeJS.ProcessEnv = process.env): string {
  return `${env.POD_NAME ?? hostname()}_${randomBytes(4).toString('hex')}`;
}

export function loadKubeConfig(path: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (path !== undefined) {
      readFileSync(path); // a clear ENOENT/EACCES before the library's own errors
      kc.loadFromFile(path);
    } else {
      kc.loadFromDefault();
    }
  } catch (err) {
    const reason = (err as Error).message.split('\n')[0];
    throw new ConfigError(`cannot load kubeconfig${path ? ` ${path}` : ''}: ${reason}`);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster?.server) throw new ConfigError(`kubeconfig${path ? ` ${path}` : ''} names no cluster server (current context "${kc.getCurrentContext()}")`);
  try {
    new URL(cluster.server);
  } catch {
    throw new ConfigError(`kubeconfig cluster server "${cluster.server}" is not a URL`);
  }
  return kc;
}

/** Runs the operator until `signal` aborts; resolves to the exit code. */
export async function runOperator(config: OperatorConfig, log: Logger, signal: AbortSignal): Promise<number> {
  const kc = loadKubeConfig(config.kubeconfig);
  const registry = createMetricsRegistry();
  const metrics = operatorMetrics(registry);
  const client = new KubeClient(kc, observeRequest(metrics));
  const recorder = new EventRecorder({
    events: new ResourceApi<CoreEvent>(client, '/api/v1', 'events', 'default'),
    component: FIELD_MANAGER,
    instance: config.identity,
    log,
    onOutcome: (outcome) => metrics.events.inc({ outcome }),
  });
  const controller = new Controller({
    kc,
    client,
    log,
    metrics,
    queueMetrics: workQueueMetrics(registry),
    recorder,
    workers: config.workers,
    heartbeatNamespace: config.heartbeatNamespace,
    agentGraceMs: config.agentGraceMs,
  });
  const elector = config.leaderElect
    ? new LeaderElector({
        leases: new ResourceApi<Lease>(client, '/apis/coordination.k8s.io/v1', 'leases', config.leaseNamespace),
        name: config.leaseName,
        namespace: config.leaseNamespace,
        identity: config.identity,
        leaseDurationMs: config.leaseDurationMs,
        renewDeadlineMs: config.renewDeadlineMs,
        retryPeriodMs: config.retryPeriodMs,
        log,
        onChange: (leading) => metrics.leader.set(leading ? 1 : 0),
      })
    : undefined;

  const health = new HealthChecks()
    .addLiveness('leader-election', () => elector?.healthy() ?? true)
    .addReadiness('informers-synced', () => (controller.synced ? true : 'caches not synced yet'));
  let endpoints: HttpEndpoint[] = [];
  try {
    endpoints = await serveObservability({ metricsAddr: config.metricsAddr, healthAddr: config.healthAddr, health, registry, log });
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  log.info('operator starting', { server: kc.getCurrentCluster()?.server, leaderElect: config.leaderElect, identity: config.identity });

  let exitCode = 0;
  try {
    // Caches fill while we wait for leadership, so a standby takes over warm.
    const synced = controller.startCaches();
    if (elector && !(await elector.acquire(signal))) return 0;
    if (!elector) metrics.leader.set(1);
    await Promise.race([synced, aborted(signal)]);
    if (signal.aborted) return 0;

    const work = new AbortController();
    const holding = new AbortController();
    const stopWork = (): void => work.abort();
    signal.addEventListener('abort', stopWork, { once: true });
    const held = elector?.hold(holding.signal).then((outcome) => {
      if (outcome === 'lost') {
        exitCode = 1;
        work.abort();
      }
      return outcome;
    });
    log.info('reconciling');
    await controller.run(work.signal);
    signal.removeEventListener('abort', stopWork);
    await flushWithin(recorder, 5_000);
    holding.abort();
    if ((await held) === 'lost') log.error('leader election lost; exiting so a fresh process can compete again');
  } finally {
    await controller.stop();
    await Promise.all(endpoints.map((e) => e.close()));
    client.close();
  }
  log.info('operator stopped', { exitCode });
  if (exitCode !== 0) throw new Error('leader election lost');
  return exitCode;
}

async function flushWithin(recorder: EventRecorder, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([recorder.flush(), new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}
