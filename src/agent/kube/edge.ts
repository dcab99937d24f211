/**
 * The agent's Kubernetes mode in one object: the spec source (this node's
 * VtepNodeState) and the status sink (its status subresource) sharing one
 * apiserver connection, one reachability signal and the agent's metrics
 * registry. It plugs into the same seams as standalone mode's state file and
 * status file: `writer.write` is the Agent's `onStatus`, the Agent is the
 * source's SpecTarget.
 */
import { ConfigError } from '../../util/errors.js';
import { existsSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import type { Logger } from '../../util/log.js';
import { KubeHttpTransport, type KubeTransport } from './api.js';
import { ApiserverHealth } from './apiserver-health.js';
import { KubeEdgeMetrics } from './metrics.js';
import { Heartbeat } from './heartbeat.js';
import { NodeStateSource, type SpecTarget } from './node-state-source.js';
import { StatusWriter } from './status-writer.js';

export { KubeApiError, KubeUnreachableError, KubeHttpTransport, WatchDecodeError, decodeWatchLine, type KubeTransport, type WatchEvent } from './api.js';
export { ApiserverHealth } from './apiserver-health.js';
export { KubeEdgeMetrics } from './metrics.js';
export { NodeStateSource, NODES_PATH, VTEP_GROUPS_PATH, VTEP_NODE_STATES_PATH, type ObservedNodeState, type SpecTarget } from './node-state-source.js';
export { Reflector, type ReflectorSink } from './reflector.js';
export { AGENT_FIELD_MANAGER, StatusWriter, statusKey } from './status-writer.js';
export { Heartbeat } from './heartbeat.js';

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * Credentials: the kubeconfig file when given, else the Pod's service
 * account (token file re-read as the kubelet rotates it, cluster CA,
 * KUBERNETES_SERVICE_HOST/PORT). Throws a one-line reason when neither is there.
 * The token file is re-read as the kubelet rotates it (client-node's
 * tokenFile provider), so a long-running agent keeps a valid token.
 */
export function loadKubeConfig(kubeconfigPath?: string, inClusterRoot = ''): KubeConfig {
  const kc = new KubeConfig();
  if (kubeconfigPath) {
    if (!existsSync(kubeconfigPath)) throw new ConfigError(`kubeconfig ${kubeconfigPath} does not exist`);
    try {
      kc.loadFromFile(kubeconfigPath);
    } catch (err) {
      throw new ConfigError(`cannot load kubeconfig ${kubeconfigPath}: ${(err as Error).message.split('\n')[0]}`);
    }
    if (!kc.getCurrentCluster()) throw new ConfigError(`kubeconfig ${kubeconfigPath} has no current cluster`);
    return kc;
  }
  if (!process.env['KUBERNETES_SERVICE_HOST'] || !process.env['KUBERNETES_SERVICE_PORT']) {
    throw new ConfigError('not running in a cluster (KUBERNETES_SERVICE_HOST/PORT unset): give --kubeconfig, or --state-file for standalone mode');
  }
  const tokenFile = `${inClusterRoot}${SERVICE_ACCOUNT_DIR}/token`;
  if (!existsSync(tokenFile)) throw new ConfigError(`in-cluster config: ${tokenFile} is missing (no service account mounted)`);
  // `inClusterRoot` prefixes the service-account paths (tests; a chroot).
  kc.loadFromCluster(inClusterRoot);
  return kc;
}

export interface KubernetesEdgeOptions {
  node: string;
  log: Logger;
  registry: Registry;
  /** The apiserver connection: a KubeConfig, or a transport (tests). */
  kubeConfig?: KubeConfig;
  transport?: KubeTransport;
  /** Status write rate limit (default 1000 ms). */
  minStatusIntervalMs?: number;
  /** The node's heartbeat Lease: where, and how often it is renewed (none when absent). */
  heartbeat?: { namespace: string; intervalMs: number };
}

export class KubernetesEdge {
  readonly transport: KubeTransport;
  readonly health: ApiserverHealth;
  readonly metrics: KubeEdgeMetrics;
  readonly writer: StatusWriter;
  readonly heartbeat: Heartbeat | undefined;
  private source: NodeStateSource | undefined;

  constructor(private readonly opts: KubernetesEdgeOptions) {
    const transport = opts.transport ?? (opts.kubeConfig ? new KubeHttpTransport(opts.kubeConfig) : undefined);
    if (!transport) throw new Error('KubernetesEdge needs a kubeConfig or a transport');
    this.transport = transport;
    const log = opts.log.child({ edge: 'kubernetes' });
    this.metrics = new KubeEdgeMetrics(opts.registry);
    this.health = new ApiserverHealth(log, this.metrics.apiserverUp);
    this.writer = new StatusWriter({ transport, node: opts.node, log, health: this.health, metrics: this.metrics, minIntervalMs: opts.minStatusIntervalMs });
    this.heartbeat = opts.heartbeat && new Heartbeat({ transport, node: opts.node, log, health: this.health, metrics: this.metrics, ...opts.heartbeat });
  }

  /** Starts the heartbeat and the watch of this node's VtepNodeState; specs go to `target` (the Agent). Returns at once. */
  start(target: SpecTarget): void {
    this.heartbeat?.start();
    this.source ??= new NodeStateSource({
      transport: this.transport,
      node: this.opts.node,
      target,
      log: this.opts.log.child({ edge: 'kubernetes' }),
      health: this.health,
      metrics: this.metrics,
      onObserved: (o) => this.writer.observe(o),
    });
    this.source.start();
  }

  /** Resolves once the node's object has been listed (whether or not it exists). */
  get listed(): Promise<void> {
    return this.source?.listed ?? Promise.resolve();
  }

  /** Stops watching, sends the last status if one is owed (bounded), closes connections. */
  async stop(flushTimeoutMs = 3000): Promise<void> {
    await this.heartbeat?.stop();
    await this.source?.stop();
    await this.writer.flush(flushTimeoutMs);
    this.transport.close();
  }
}
