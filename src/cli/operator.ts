import type { Command } from './command.js';
import { UsageError } from './command.js';
import { logLevelFrom, parseDuration, parseFlags } from './flags.js';
import { Logger } from '../util/log.js';
import { parseListenAddresses } from '../util/http.js';
import { onShutdownSignals } from '../util/shutdown.js';
import { defaultIdentity, defaultLeaseNamespace, runOperator } from '../operator/main.js';

const usage = `Usage: evpn-ecmp operator [flags]

Watches EvpnFabrics, VtepGroups, Nodes and VtepNodeStates; renders one
VtepNodeState spec per selected node and rolls node status up into
VtepGroup and EvpnFabric status.

Flags:
  --kubeconfig FILE              kubeconfig (default: $KUBECONFIG, ~/.kube/config, or in-cluster)
  --metrics-addr ADDRS           serve /metrics on ADDRS (default :8080, every address of both families; 0 disables)
  --health-addr ADDRS            serve /healthz and /readyz on ADDRS (default :8081; 0 disables)
                                 ADDRS: HOST:PORT, [IPv6]:PORT or :PORT, comma-separated
  --leader-elect                 run only while holding the leader Lease
  --leader-elect-namespace NS    namespace of the Lease (default $POD_NAMESPACE or the service account's)
  --leader-elect-id NAME         name of the Lease (default evpn-ecmp-operator)
  --lease-duration DURATION      how long a Lease lasts without renewal (default 15s)
  --renew-deadline DURATION      how long the leader retries renewing before giving up (default 10s)
  --retry-period DURATION        interval between Lease attempts (default 2s)
  --heartbeat-namespace NS       namespace of the agents' heartbeat Leases (default $POD_NAMESPACE or the
                                 service account's); a node whose agent stops renewing its Lease for the
                                 Lease's duration (three of the agent's intervals) is marked not Ready
  --agent-grace-period DURATION  how long a node whose agent never renewed a Lease may stay silent (default 30s)
  --workers N                    concurrent reconciles, hence writes in flight (default 16)
  --log-level LEVEL              debug | info | warn | error (default $EVPN_ECMP_LOG_LEVEL or info)`;

export { parseDuration };

export const operatorCommand: Command = {
  name: 'operator',
  usage,
  async run(args) {
    const { values } = parseFlags(args, {
      kubeconfig: { type: 'string' },
      'metrics-addr': { type: 'string', default: ':8080' },
      'health-addr': { type: 'string', default: ':8081' },
      'leader-elect': { type: 'boolean', default: false },
      'leader-elect-namespace': { type: 'string' },
      'leader-elect-id': { type: 'string', default: 'evpn-ecmp-operator' },
      'lease-duration': { type: 'string', default: '15s' },
      'renew-deadline': { type: 'string', default: '10s' },
      'retry-period': { type: 'string', default: '2s' },
      workers: { type: 'string', default: '16' },
      'heartbeat-namespace': { type: 'string' },
      'agent-grace-period': { type: 'string', default: '30s' },
      'log-level': { type: 'string' },
    });
    const level = logLevelFrom(values['log-level']);
    for (const flag of ['metrics-addr', 'health-addr'] as const) {
      try {
        parseListenAddresses(values[flag], flag);
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
    }
    const workers = Number(values.workers);
    if (!Number.isInteger(workers) || workers < 1 || workers > 64) throw new UsageError(`--workers: expected an integer 1-64, got "${values.workers}"`);
    const leaseDurationMs = parseDuration(values['lease-duration'], 'lease-duration');
    const renewDeadlineMs = parseDuration(values['renew-deadline'], 'renew-deadline');
    const retryPeriodMs = parseDuration(values['retry-period'], 'retry-period');
    const agentGraceMs = parseDuration(values['agent-grace-period'], 'agent-grace-period');
    if (!(leaseDurationMs > renewDeadlineMs && renewDeadlineMs > retryPeriodMs)) {
      throw new UsageError('leader election needs --lease-duration > --renew-deadline > --retry-period');
    }

    const log = new Logger({ level, fields: { component: 'operator' } });
    const shutdown = onShutdownSignals(log);
    try {
      return await runOperator(
        {
          kubeconfig: values.kubeconfig,
          metricsAddr: values['metrics-addr'],
          healthAddr: values['health-addr'],
          leaderElect: values['leader-elect'],
          leaseName: values['leader-elect-id'],
          leaseNamespace: values['leader-elect-namespace'] ?? defaultLeaseNamespace(),
          leaseDurationMs,
          renewDeadlineMs,
          retryPeriodMs,
          identity: defaultIdentity(),
          workers,
          heartbeatNamespace: values['heartbeat-namespace'] ?? defaultLeaseNamespace(),
          agentGraceMs,
        },
        log,
        shutdown.signal,
      );
    } finally {
      shutdown.dispose();
    }
  },
};
