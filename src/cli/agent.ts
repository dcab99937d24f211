import { existsSync } from 'node:fs';
import type { Command } from './command.js';
import { UsageError } from './command.js';
import { logLevelFrom, parseDuration, parseFlags } from './flags.js';
import { Agent } from '../agent/agent.js';
import { RtnetlinkKernel } from '../agent/edge/kernel.js';
import { OvsBridge } from '../agent/edge/ovs.js';
import { connectOvsdb } from '../agent/edge/ovsdb-session.js';
import { DEFAULT_STATE_FILE_MAX_BYTES, StateFileSource, StatusFileWriter } from '../agent/standalone.js';
import { podNamespace } from '../kube/namespace.js';
import { HealthChecks, loopbackAddresses, parseListenAddresses, serveObservability, type Routes } from '../util/http.js';
import { Logger } from '../util/log.js';
import { createMetricsRegistry } from '../util/metrics.js';
import { aborted, onShutdownSignals } from '../util/shutdown.js';

const DEFAULT_HEALTH_ADDR = loopbackAddresses(8081);
const DEFAULT_METRICS_ADDR = loopbackAddresses(8080);

const USAGE = `Usage: evpn-ecmp agent --node NAME [--kubeconfig FILE] [flags]
       evpn-ecmp agent --node NAME --state-file STATE.yaml --status-file STATUS.json [flags]

Programs one node: fdb nexthops, nexthop groups and FDB entries in the kernel,
and weighted OpenFlow select groups mirroring every ECMP FDB entry in Open vSwitch.

Kubernetes mode (default): the desired state is this node's VtepNodeState (watched
by name), its status is written back at most once per second, only when it changed.
Credentials come from --kubeconfig, else from the Pod's service account (in-cluster).

Standalone mode (no Kubernetes): the desired state is read from --state-file (a
VtepNodeState object, YAML or JSON, re-applied when it changes) and the status
is written to --status-file (rewritten atomically on every change). Replace the
state file atomically (write a temporary file in its directory, then rename it
over the state file): a file changed in place is read only once it has been
left alone for half a second and did not change while being read.

Flags:
  --node NAME              this node's name (must equal the state's metadata.name)
  --kubeconfig FILE        Kubernetes credentials (default: in-cluster service account)
  --heartbeat-namespace NS namespace of this node's heartbeat Lease (default $POD_NAMESPACE, the service
                           account's namespace, or "default"); the operator must watch the same one
  --heartbeat-interval DUR how often the Lease is renewed (default 10s); the operator calls the node not
                           Ready after three intervals without a renewal
  --state-file FILE        VtepNodeState to apply (YAML or JSON; replace it by rename, see below)
  --state-file-max-bytes N largest state file read (default 8388608); a larger one is refused
  --status-file FILE       where the VtepNodeState status is written
  --ovs-rundir DIR         holds <bridge>.mgmt and db.sock (default $OVS_RUNDIR or /var/run/openvswitch)
  --health-addr ADDRS      /healthz and /readyz (default ${DEFAULT_HEALTH_ADDR}; 0 = off)
  --metrics-addr ADDRS     Prometheus /metrics (default ${DEFAULT_METRICS_ADDR}; 0 = off)
                           ADDRS: HOST:PORT, [IPv6]:PORT or :PORT (every address), comma-separated.
                           The defaults are the loopback addresses of both families: with the host's
                           network (the chart's DaemonSet) anything wider is reachable by every
                           neighbour of the node.
  --debug-endpoints        also serve GET /debug/engine and POST /debug/recompute on the health
                           addresses (off by default: unauthenticated, and a recompute costs seconds
                           of CPU at scale)
  --audit-interval SEC     drift audit period in seconds (default 30; 0 = off)
  --netlink-rcvbuf BYTES   receive buffer of the kernel notification socket (default 16 MiB)
  --log-level LEVEL        debug, info, warn, error (default $EVPN_ECMP_LOG_LEVEL or info)`;

export const agentCommand: Command = {
  name: 'agent',
  usage: USAGE,
  async run(args) {
    const { values } = parseFlags(args, {
      node: { type: 'string' },
      'state-file': { type: 'string' },
      'state-file-max-bytes': { type: 'string', default: String(DEFAULT_STATE_FILE_MAX_BYTES) },
      'status-file': { type: 'string' },
      kubeconfig: { type: 'string' },
      'ovs-rundir': { type: 'string' },
      'health-addr': { type: 'string', default: DEFAULT_HEALTH_ADDR },
      'metrics-addr': { type: 'string', default: DEFAULT_METRICS_ADDR },
      'debug-endpoints': { type: 'boolean', default: false },
      'heartbeat-namespace': { type: 'string' },
      'heartbeat-interval': { type: 'string', default: '10s' },
      'audit-interval': { type: 'string', default: '30' },
      'netlink-rcvbuf': { type: 'string' },
      'log-level': { type: 'string' },
    });
    const node = values.node;
    if (!node) throw new UsageError('--node is required');
    const stateFile = values['state-file'];
    const statusFile = values['status-file'];
    const standalone = stateFile !== undefined || statusFile !== undefined;
    if (standalone && (!stateFile || !statusFile)) throw new UsageError('standalone mode needs both --state-file and --status-file');
    if (standalone && values.kubeconfig !== undefined) throw new UsageError('--kubeconfig and --state-file exclude each other (Kubernetes or standalone mode)');
    if (standalone && values['heartbeat-namespace'] !== undefined) throw new UsageError('--heartbeat-namespace is for Kubernetes mode (a standalone agent has no Lease)');
    const heartbeatIntervalMs = parseDuration(values['heartbeat-interval'], 'heartbeat-interval');
    if (heartbeatIntervalMs < 1000) throw new UsageError(`--heartbeat-interval: "${values['heartbeat-interval']}" is below 1s (the Lease counts whole seconds)`);
    const audit = Number(values['audit-interval']);
    if (!Number.isFinite(audit) || audit < 0) throw new UsageError(`--audit-interval: "${values['audit-interval']}" is not a number of seconds`);
    const stateMaxBytes = Number(values['state-file-max-bytes']);
    if (!Number.isInteger(stateMaxBytes) || stateMaxBytes <= 0) throw new UsageError(`--state-file-max-bytes: "${values['state-file-max-bytes']}" is not a positive number of bytes`);
    const rcvbuf = values['netlink-rcvbuf'] === undefined ? undefined : Number(values['netlink-rcvbuf']);
    if (rcvbuf !== undefined && (!Number.isInteger(rcvbuf) || rcvbuf <= 0)) throw new UsageError(`--netlink-rcvbuf: "${values['netlink-rcvbuf']}" is not a positive number of bytes`);
    const level = logLevelFrom(values['log-level']);
    // Check the addresses before anything starts, so a typo is a usage error.
    try {
      parseListenAddresses(values['health-addr'], 'health-addr');
      parseListenAddresses(values['metrics-addr'], 'metrics-addr');
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const rundir = values['ovs-rundir'] ?? process.env['OVS_RUNDIR'] ?? '/var/run/openvswitch';
    if (!existsSync(rundir)) throw new UsageError(`--ovs-rundir: ${rundir} does not exist`);

    const log = new Logger({ level, fields: { component: 'agent', node } });
    const registry = createMetricsRegistry({ defaultLabels: { component: 'agent' } });
    // Kubernetes mode: the credentials are checked now, so a bad kubeconfig is a one-line exit.
    // The Kubernetes client (~30 MiB of heap) is loaded only in Kubernetes mode.
    const kubeEdge = standalone ? undefined : await import('../agent/kube/edge.js');
    const kube =
      kubeEdge &&
      new kubeEdge.KubernetesEdge({
        kubeConfig: kubeEdge.loadKubeConfig(values.kubeconfig),
        node,
        log,
        registry,
        heartbeat: { namespace: values['heartbeat-namespace'] ?? podNamespace(), intervalMs: heartbeatIntervalMs },
      });
    const statusWriter = statusFile ? new StatusFileWriter(statusFile, log) : undefined;
    const kernel = new RtnetlinkKernel({ ...(rcvbuf ? { receiveBufferSize: rcvbuf } : {}), warn: (message) => log.warn(message) });
    const agent = new Agent({
      kernel,
      ovs: new OvsBridge(rundir, connectOvsdb, log),
      logger: log,
      registry,
      onStatus: (status) => (kube ? kube.writer.write(status) : statusWriter?.write(status)),
      auditIntervalMs: audit * 1000,
    });

    const health = new HealthChecks()
      .addLiveness('engine', () => true)
      .addReadiness('first-sync', () => (agent.ready ? true : `not synced yet: ${agent.status?.conditions?.find((c) => c.type === 'Ready')?.message ?? 'starting'}`));
    const debugRoutes: Routes = {
      '/debug/engine': () => ({ status: 200, contentType: 'application/json', body: JSON.stringify(agent.debugEngine(), null, 2) + '\n' }),
      'POST /debug/recompute': async () => {
        agent.forceRecompute();
        await agent.nextIteration();
        return { status: 200, contentType: 'application/json', body: JSON.stringify(agent.debugEngine().stats, null, 2) + '\n' };
      },
    };
    const shutdown = onShutdownSignals(log);
    const endpoints = await serveObservability({
      metricsAddr: values['metrics-addr'],
      healthAddr: values['health-addr'],
      health,
      registry,
      log,
      healthExtraRoutes: values['debug-endpoints'] ? debugRoutes : undefined,
    });
    const source = stateFile ? new StateFileSource(stateFile, node, agent, log, { maxBytes: stateMaxBytes }) : undefined;
    try {
      await agent.start();
      await source?.start();
      kube?.start(agent);
      log.info('agent running', kube ? { mode: 'kubernetes', kubeconfig: values.kubeconfig ?? 'in-cluster', ovsRundir: rundir } : { stateFile, statusFile, ovsRundir: rundir });
      await aborted(shutdown.signal);
    } finally {
      source?.stop();
      await agent.stop();
      await statusWriter?.flush();
      await kube?.stop();
      await Promise.all(endpoints.map((e) => e.close()));
      shutdown.dispose();
      log.info('agent stopped');
    }
    return 0;
  },
};
