import { join } from 'node:path';
import { UsageError, type InspectTarget } from './command.js';
import { parseFlags } from './flags.js';
import {
  canonicalBucket,
  formatActions,
  formatFlow,
  formatGroup,
  formatInstructions,
  formatMatch,
  OFP15,
  OpenFlowClient,
  type FlowStats,
  type FlowStatsRequest,
  type GroupEntry,
} from '../lib/openflow/index.js';
import { ovsDpHashTable } from '../agent/hash-slots.js';
import { LEARNED_PRIORITY, LOCAL_PRIORITY } from '../agent/openflow/pipeline.js';

const USAGE = [
  'evpn-ecmp inspect ovs --bridge NAME [--ovs-rundir DIR] [--json] [--cookie C[/M]] [--table N]',
  '  Reads the bridge\'s groups (with group and bucket counters) and flows over',
  '  OpenFlow, from unix:DIR/NAME.mgmt, decoded as the agent decodes them; sums',
  '  up the flood groups and the local MACs (switched to their port only) per VNI.',
  '  --bridge NAME      the Open vSwitch bridge',
  '  --ovs-rundir DIR   where NAME.mgmt lives (default $OVS_RUNDIR, else /var/run/openvswitch)',
  '  --json             one JSON document (ovs-ofctl field names) instead of text',
  '  --cookie C[/M]     only flows whose cookie matches C under mask M (default mask: all ones)',
  '  --table N          only flows of table N',
  '  --timeout MS       give up after MS milliseconds (default 30000)',
].join('\n');

/** Counters stay exact in JSON: numbers when they fit, decimal strings beyond 2^53. */
type Counter = number | string;

function counter(v: bigint): Counter {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
}

/** The `inspect ovs --json` document. */
export interface OvsView {
  bridge: string;
  openflow_version: string;
  datapath_id: string;
  groups: {
    group_id: number;
    type: string;
    selection_method?: string;
    selection_method_param?: string;
    fields?: string[];
    ref_count?: number;
    packet_count?: Counter;
    byte_count?: Counter;
    buckets: { bucket_id: number; weight?: number; actions: string; packet_count?: Counter; byte_count?: Counter }[];
    /**
     * A dp_hash group's hash slots per distinct bucket action, as
     * Open vSwitch deals them (src/agent/hash-slots.ts): the share of flows
     * each destination really gets, whichever layout wrote the group.
     */
    hash_slots?: { slots: number; targets: { actions: string; slots: number }[] };
    /** The group exactly as `ovs-ofctl -O OpenFlow15 dump-groups` prints it. */
    text: string;
  }[];
  flows: {
    table: number;
    priority: number;
    cookie: string;
    match: string;
    actions: string;
    idle_timeout?: number;
    hard_timeout?: number;
    n_packets: Counter;
    n_bytes: Counter;
    /** The flow as `ovs-ofctl dump-flows` prints it, without duration and counters. */
    text: string;
  }[];
  /**
   * The flood groups of the agent's VNIs (DESIGN §4): an `all` group named
   * by a flow that matches metadata=VNI only (the VNI's lowest-priority
   * flow in the FDB table). `buckets` counts flood VTEPs and local ports.
   */
  flood: { vni: number; group_id: number; table: number; priority: number; buckets: number }[];
  /**
   * The local MACs of the agent's VNIs (DESIGN §4: known local unicast goes
   * to its port only): flows that match metadata=VNI and dl_dst only and
   * output to one port, at the agent's local priorities — 200 for a MAC
   * declared on its port (external_ids:attached-mac), 150 for one Open
   * vSwitch learned — one entry per VNI and MAC with the tables holding it
   * (T+1 for what local ports send, T+2 for what the tunnel brings).
   */
  local: { vni: number; mac: string; port: number; port_name?: string; kind: 'attached' | 'learned'; priority: number; tables: number[]; idle_timeout?: number }[];
}

export function groupView(g: GroupEntry): OvsView['groups'][number] {
  const v: OvsView['groups'][number] = {
    group_id: g.groupId,
    type: g.type,
    buckets: g.buckets.map((raw, i) => {
      // Weights are made explicit (select buckets without WEIGHT have weight 1 in OVS).
      const b = canonicalBucket(raw, i, g.type);
      const out: OvsView['groups'][number]['buckets'][number] = { bucket_id: b.bucketId!, actions: formatActions(b.actions) };
      if (b.weight !== undefined) out.weight = b.weight;
      const c = g.stats?.buckets[i];
      if (c) {
        out.packet_count = counter(c.packetCount);
        out.byte_count = counter(c.byteCount);
      }
      return out;
    }),
    text: formatGroup(g),
  };
  if (g.selectionMethod) {
    v.selection_method = g.selectionMethod.name;
    if (g.selectionMethod.param) v.selection_method_param = `0x${g.selectionMethod.param.toString(16)}`;
    if (g.selectionMethod.fields) v.fields = g.selectionMethod.fields.map((f) => (f.mask === undefined ? f.field : `${f.field}=${String(f.mask)}`));
  }
  const slots = g.type === 'select' && g.selectionMethod?.name === 'dp_hash' ? hashSlots(v.buckets) : undefined;
  if (slots) v.hash_slots = slots;
  if (g.stats) {
    v.ref_count = g.stats.refCount;
    v.packet_count = counter(g.stats.packetCount);
    v.byte_count = counter(g.stats.byteCount);
  }
  return v;
}

function hashSlots(buckets: OvsView['groups'][number]['buckets']): OvsView['groups'][number]['hash_slots'] {
  const table = ovsDpHashTable(buckets.map((b) => b.weight ?? 1));
  if (!table) return undefined;
  // In bucket order: every destination listed, even one dealt no slot.
  const counts = new Map<string, number>(buckets.map((b) => [b.actions, 0]));
  for (const i of table) counts.set(buckets[i]!.actions, counts.get(buckets[i]!.actions)! + 1);
  return { slots: table.length, targets: [...counts].map(([actions, n]) => ({ actions, slots: n })) };
}

export function flowView(f: FlowStats): OvsView['flows'][number] {
  const v: OvsView['flows'][number] = {
    table: f.tableId,
    priority: f.priority,
    cookie: `0x${f.cookie.toString(16)}`,
    match: formatMatch(f.match),
    actions: formatInstructions(f.instructions),
    n_packets: counter(f.packetCount),
    n_bytes: counter(f.byteCount),
    text: formatFlow(f),
  };
  if (f.idleTimeout) v.idle_timeout = f.idleTimeout;
  if (f.hardTimeout) v.hard_timeout = f.hardTimeout;
  return v;
}

/** Reads one bridge's groups (joined with their stats) and flows over OpenFlow. */
export async function readOvsView(client: OpenFlowClient, bridge: string, filter: FlowStatsRequest = {}): Promise<OvsView> {
  const [groups, flows, ports] = await Promise.all([client.dumpGroups({ stats: true }), client.dumpFlows(filter), client.dumpPorts()]);
  groups.sort((a, b) => a.groupId - b.groupId);
  flows.sort((a, b) => a.tableId - b.tableId || b.priority - a.priority);
  return {
    bridge,
    openflow_version: client.version === OFP15 ? '1.5' : '1.3',
    datapath_id: `0x${(client.connection?.datapathId ?? 0n).toString(16).padStart(16, '0')}`,
    groups: groups.map(groupView),
    flows: flows.map(flowView),
    flood: floodGroups(groups, flows),
    local: localMacs(flows, new Map(ports.map((p) => [p.portNo, p.name]))),
  };
}

/** VNI → local MAC → its port, read from the local MAC flows (see OvsView.local). */
export function localMacs(flows: readonly FlowStats[], portNames: ReadonlyMap<number, string>): OvsView['local'] {
  const byMac = new Map<string, OvsView['local'][number]>();
  for (const f of flows) {
    const kind = f.priority === LOCAL_PRIORITY ? 'attached' : f.priority === LEARNED_PRIORITY ? 'learned' : undefined;
    if (kind === undefined) continue;
    const fields = Object.entries(f.match).filter(([, v]) => v !== undefined).map(([k]) => k).sort();
    if (fields.join() !== 'ethDst,metadata' || typeof f.match.metadata !== 'bigint' || typeof f.match.ethDst !== 'string') continue;
    const [only, ...rest] = f.instructions;
    const out = only?.type === 'applyActions' && only.actions.length === 1 ? only.actions[0] : undefined;
    if (rest.length > 0 || out?.type !== 'output') continue;
    const vni = Number(f.match.metadata);
    const mac = f.match.ethDst.toLowerCase();
    const key = `${vni}/${mac}/${kind}/${out.port}`;
    let entry = byMac.get(key);
    if (!entry) {
      entry = { vni, mac, port: out.port, kind, priority: f.priority, tables: [] };
      const name = portNames.get(out.port);
      if (name !== undefined) entry.port_name = name;
      if (f.idleTimeout) entry.idle_timeout = f.idleTimeout;
      byMac.set(key, entry);
    }
    entry.tables.push(f.tableId);
  }
  for (const e of byMac.values()) e.tables.sort((a, b) => a - b);
  return [...byMac.values()].sort((a, b) => a.vni - b.vni || (a.mac < b.mac ? -1 : a.mac > b.mac ? 1 : 0) || a.priority - b.priority);
}

/** VNI → `all` group, read from the flows that send a VNI's unmatched traffic to one. */
export function floodGroups(groups: readonly GroupEntry[], flows: readonly FlowStats[]): OvsView['flood'] {
  const all = new Map(groups.filter((g) => g.type === 'all').map((g) => [g.groupId, g]));
  const out: OvsView['flood'] = [];
  for (const f of flows) {
    const fields = Object.entries(f.match).filter(([, v]) => v !== undefined).map(([k]) => k);
    if (fields.length !== 1 || fields[0] !== 'metadata' || typeof f.match.metadata !== 'bigint') continue;
    for (const ins of f.instructions) {
      if (ins.type !== 'applyActions') continue;
      for (const a of ins.actions) {
        const g = a.type === 'group' ? all.get(a.groupId) : undefined;
        if (g) out.push({ vni: Number(f.match.metadata), group_id: g.groupId, table: f.tableId, priority: f.priority, buckets: g.buckets.length });
      }
    }
  }
  return out.sort((a, b) => a.vni - b.vni || a.group_id - b.group_id);
}

function textOf(view: OvsView): string {
  const lines = [`bridge ${view.bridge}: OpenFlow ${view.openflow_version}, datapath_id ${view.datapath_id}`, `groups (${view.groups.length}):`];
  for (const g of view.groups) {
    lines.push(` ${g.text}`);
    if (g.hash_slots) {
      const { slots, targets } = g.hash_slots;
      const shares = targets.map((t) => `${t.slots} (${((100 * t.slots) / slots).toFixed(1)} %) ${t.actions}`);
      lines.push(`   hash slots ${slots}: ${shares.join('; ')}`);
    }
    if (g.packet_count !== undefined) {
      const buckets = g.buckets.map((b) => `bucket_id:${b.bucket_id}:packet_count=${b.packet_count ?? '?'},byte_count=${b.byte_count ?? '?'}`);
      lines.push(`   ref_count=${g.ref_count},packet_count=${g.packet_count},byte_count=${g.byte_count}${buckets.length ? `,${buckets.join(',')}` : ''}`);
    }
  }
  lines.push(`flood groups (${view.flood.length}):`);
  for (const f of view.flood) lines.push(` vni=${f.vni} group_id=${f.group_id} buckets=${f.buckets} (table=${f.table},priority=${f.priority})`);
  lines.push(`local MACs (${view.local.length}):`);
  for (const l of view.local) {
    const port = l.port_name === undefined ? `output:${l.port}` : `output:${l.port} (${l.port_name})`;
    const ageing = l.idle_timeout === undefined ? '' : `,idle_timeout=${l.idle_timeout}`;
    lines.push(` vni=${l.vni} dl_dst=${l.mac} ${port} ${l.kind} (tables=${l.tables.join(',')},priority=${l.priority}${ageing})`);
  }
  lines.push(`flows (${view.flows.length}):`);
  for (const f of view.flows) {
    lines.push(` ${f.text.replace(/^(cookie=\S+, table=\d+, )/, `$1n_packets=${f.n_packets}, n_bytes=${f.n_bytes}, `)}`);
  }
  return lines.join('\n');
}

function flowFilter(cookie: string | undefined, table: string | undefined): FlowStatsRequest {
  const filter: FlowStatsRequest = {};
  if (cookie !== undefined) {
    const m = /^(0x[0-9a-f]{1,16}|\d+)(?:\/(0x[0-9a-f]{1,16}|\d+))?$/i.exec(cookie);
    if (!m) throw new UsageError(`--cookie: "${cookie}" is not VALUE or VALUE/MASK`);
    filter.cookie = BigInt(m[1]!);
    filter.cookieMask = m[2] === undefined ? 0xffffffffffffffffn : BigInt(m[2]);
    if (filter.cookie > 0xffffffffffffffffn || filter.cookieMask > 0xffffffffffffffffn) throw new UsageError(`--cookie: "${cookie}" does not fit in 64 bits`);
  }
  if (table !== undefined) {
    const n = Number(table);
    if (!Number.isInteger(n) || n < 0 || n > 254) throw new UsageError(`--table: "${table}" is not a table number (0-254)`);
    filter.tableId = n;
  }
  return filter;
}

export const inspectOvsTarget: InspectTarget = {
  name: 'ovs',
  summary: "Open vSwitch groups, bucket counters and flows of a bridge, read over OpenFlow",
  usage: USAGE,
  async run(args) {
    const { values } = parseFlags(args, {
      bridge: { type: 'string' },
      'ovs-rundir': { type: 'string' },
      json: { type: 'boolean', default: false },
      timeout: { type: 'string' },
      cookie: { type: 'string' },
      table: { type: 'string' },
    });
    if (!values.bridge) throw new UsageError('--bridge is required');
    const timeoutMs = values.timeout === undefined ? 30_000 : Number(values.timeout);
    if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new UsageError(`--timeout: "${values.timeout}" is not a positive number of milliseconds`);
    const filter = flowFilter(values.cookie, values.table);
    const rundir = values['ovs-rundir'] ?? process.env.OVS_RUNDIR ?? '/var/run/openvswitch';
    const client = await OpenFlowClient.connect(`unix:${join(rundir, `${values.bridge}.mgmt`)}`, {
      reconnect: false,
      handshakeTimeoutMs: timeoutMs,
      requestTimeoutMs: timeoutMs,
    });
    try {
      const view = await readOvsView(client, values.bridge, filter);
      process.stdout.write((values.json ? JSON.stringify(view, null, 2) : textOf(view)) + '\n');
      return 0;
    } finally {
      client.close();
    }
  },
};
