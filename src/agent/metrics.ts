/**
 * The agent's Prometheus metrics (prefix evpn_agent_). Engine counters are
 * read from the engine at scrape time.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Engine } from './engine/engine.js';

type NodeStats = ReturnType<Engine['nodeStats']>[string];

export class AgentMetrics {
  readonly convergence: Histogram;
  readonly engineRun: Histogram;
  readonly groupRemap: Histogram;
  readonly ofGroupMods: Counter<'command'>;
  readonly ofFlowMods: Counter<'command'>;
  readonly ofBundles: Counter;
  readonly ofErrors: Counter;
  readonly ovsReconnects: Counter;
  readonly kernelWrites: Counter<'op'>;
  readonly kernelErrors: Counter;
  readonly kernelResyncs: Counter<'reason'>;
  readonly drift: Counter<'dataplane'>;
  readonly programmed: Gauge<'kind'>;
  readonly floodVteps: Gauge<'vni'>;
  readonly learned: Gauge<'kind'>;
  readonly invalid: Gauge<'reason'>;
  readonly idRangeExhausted: Gauge<'range'>;
  readonly stateFileErrors: Counter;
  readonly statusBytes: Gauge;

  constructor(registry: Registry, engine: Pick<Engine, 'nodeStats'>) {
    const registers = [registry];
    this.convergence = new Histogram({
      name: 'evpn_agent_convergence_seconds',
      help: 'From a kernel event or spec change to the OVS barrier reply confirming the resulting OpenFlow changes.',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.engineRun = new Histogram({
      name: 'evpn_agent_engine_run_seconds',
      help: 'Duration of one run of the incremental engine (every node that had news, handlers or recomputes).',
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.groupRemap = new Histogram({
      name: 'evpn_agent_group_remap_ratio',
      help: "Per committed modification of a dp_hash select group: the share of its hash slots, so of its flows, sent to another VTEP (Open vSwitch's slot table before and after).",
      buckets: [0, 0.05, 0.1, 0.2, 0.25, 0.34, 0.5, 0.75, 1],
      registers,
    });
    this.ofGroupMods = new Counter({ name: 'evpn_agent_openflow_group_mods_total', help: 'OpenFlow group mods committed, by command.', labelNames: ['command'], registers });
    this.ofFlowMods = new Counter({ name: 'evpn_agent_openflow_flow_mods_total', help: 'OpenFlow flow mods committed, by command.', labelNames: ['command'], registers });
    this.ofBundles = new Counter({ name: 'evpn_agent_openflow_bundles_total', help: 'OpenFlow bundles committed.', registers });
    this.ofErrors = new Counter({ name: 'evpn_agent_openflow_errors_total', help: 'OpenFlow commits or reads that failed.', registers });
    this.ovsReconnects = new Counter({ name: 'evpn_agent_ovs_reconnects_total', help: 'Connections to Open vSwitch (OpenFlow + OVSDB) established after the first.', registers });
    this.kernelWrites = new Counter({ name: 'evpn_agent_kernel_writes_total', help: 'Kernel writes acknowledged, by operation.', labelNames: ['op'], registers });
    this.kernelErrors = new Counter({ name: 'evpn_agent_kernel_errors_total', help: 'Kernel writes the kernel refused.', registers });
    this.kernelResyncs = new Counter({ name: 'evpn_agent_kernel_resyncs_total', help: 'Full kernel re-dumps diffed into the engine, by reason: overflow (ENOBUFS), malformed (undecodable notification), write-failed (a refused write).', labelNames: ['reason'], registers });
    this.drift = new Counter({ name: 'evpn_agent_drift_repairs_total', help: 'Differences found by the periodic audit and repaired.', labelNames: ['dataplane'], registers });
    this.programmed = new Gauge({ name: 'evpn_agent_programmed', help: 'Objects programmed in OVS: groups (select), floodGroups (all), flows, paths (distinct VTEPs of each select group), buckets (of select groups).', labelNames: ['kind'], registers });
    this.floodVteps = new Gauge({ name: 'evpn_agent_flood_vteps', help: 'Remote VTEPs in the flood list of each VNI (all-zeros FDB entries honoured).', labelNames: ['vni'], registers });
    this.learned = new Gauge({ name: 'evpn_agent_learned_entries', help: 'Kernel FDB entries mirrored that the agent did not write, by kind.', labelNames: ['kind'], registers });
    this.invalid = new Gauge({ name: 'evpn_agent_invalid_entries', help: 'Kernel FDB entries refused, by reason.', labelNames: ['reason'], registers });
    this.idRangeExhausted = new Gauge({
      name: 'evpn_agent_id_range_exhausted',
      help: 'Objects that found no free id, by range: nexthopIdRange (spec groups without a kernel nexthop group), groupIdRange (kernel groups without an OpenFlow select group, VNIs without a flood group). Non-zero means traffic the spec asks for is not forwarded.',
      labelNames: ['range'],
      registers,
    });
    this.statusBytes = new Gauge({
      name: 'evpn_agent_status_bytes',
      help: 'Size of the last status handed out, as JSON. Past 1 MiB Programmed groups are listed in short form (status.groupDetail Compact); etcd refuses objects over 1.5 MiB.',
      registers,
    });
    this.stateFileErrors = new Counter({ name: 'evpn_agent_state_errors_total', help: 'Desired states refused (unreadable or invalid); the previous one stays applied.', registers });

    // Counters read from the engine at scrape time. The label is `engine_node`
    // (a node of the engine's graph, e.g. ofDesired): `node` means a
    // Kubernetes node in every other metric a cluster collects.
    const stat = (name: string, help: string, pick: (s: NodeStats) => number) =>
      new Counter({
        name,
        help,
        labelNames: ['engine_node'],
        registers,
        collect() {
          this.reset();
          for (const [node, s] of Object.entries(engine.nodeStats())) this.inc({ engine_node: node }, pick(s));
        },
      });
    stat('evpn_agent_engine_recomputes_total', 'Engine node full recomputes.', (s) => s.recompute);
    stat('evpn_agent_engine_incremental_runs_total', 'Engine node runs completed by change handlers.', (s) => s.incremental);
    stat('evpn_agent_engine_unchanged_runs_total', 'Engine runs that left a node untouched.', (s) => s.unchanged);
    stat('evpn_agent_engine_seconds_total', 'Time spent in an engine node.', (s) => s.timeMs / 1000);
  }
}
