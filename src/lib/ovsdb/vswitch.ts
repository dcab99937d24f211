import { EventEmitter } from 'node:events';
import {
  fromOvsdbMap,
  fromOvsdbOptional,
  ovsdbMap,
  OvsdbError,
  type OvsdbClient,
  type OvsdbRow,
  type OvsdbValue,
  type TableUpdates,
} from './client.js';

/**
 * Open_vSwitch database operations the agent needs: a bridge, its
 * flow-based VXLAN port, and a watch on Interface rows (name, ofport,
 * external_ids). Schema: OVS vswitchd/vswitch.ovsschema.
 */
export const OVS_DB = 'Open_vSwitch';
/** IANA VXLAN port; OVS uses it when options:dst_port is absent. */
export const VXLAN_DEFAULT_PORT = 4789;

export interface EnsureBridgeOptions {
  bridge: string;
  /** e.g. `dummy` in tests, `netdev` for DPDK; absent = OVS default (system). */
  datapathType?: string;
  /** Default: OpenFlow13 and OpenFlow15. */
  protocols?: string[];
  failMode?: 'secure' | 'standalone';
}

/** Creates the bridge (with its internal port) if it does not exist; returns true when it created it. */
export async function ensureBridge(db: OvsdbClient, opts: EnsureBridgeOptions): Promise<boolean> {
  const [found] = await db.transact(OVS_DB, { op: 'select', table: 'Bridge', where: [['name', '==', opts.bridge]], columns: ['_uuid'] });
  if ((found?.rows?.length ?? 0) > 0) return false;
  const row: OvsdbRow = {
    name: opts.bridge,
    ports: ['named-uuid', 'port'],
    protocols: ['set', opts.protocols ?? ['OpenFlow13', 'OpenFlow15']],
  };
  if (opts.datapathType) row.datapath_type = opts.datapathType;
  if (opts.failMode) row.fail_mode = opts.failMode;
  await db.transact(
    OVS_DB,
    { op: 'insert', table: 'Interface', row: { name: opts.bridge, type: 'internal' }, 'uuid-name': 'iface' },
    { op: 'insert', table: 'Port', row: { name: opts.bridge, interfaces: ['named-uuid', 'iface'] }, 'uuid-name': 'port' },
    { op: 'insert', table: 'Bridge', row, 'uuid-name': 'bridge' },
    // Open_vSwitch has exactly one row; `includes`-free where selects it.
    { op: 'mutate', table: 'Open_vSwitch', where: [], mutations: [['bridges', 'insert', ['set', [['named-uuid', 'bridge']]]]] },
  );
  return true;
}

export interface TunnelPortOptions {
  bridge: string;
  /** Port and interface name. */
  port: string;
  /** UDP destination port; omitted from options when it is 4789 (OVS's default). */
  dstPort?: number;
  /** How long to wait for ovs-vswitchd to assign an ofport. Default 10 s. */
  timeoutMs?: number;
}

/** The options of a flow-based VXLAN port: remote and key come from each flow's tun_dst/tun_id. */
export function tunnelPortOptions(dstPort = VXLAN_DEFAULT_PORT): Record<string, string> {
  // No options:local_ip: with it, OVS 3.1 native tunnel routing on the dummy datapath fails.
  const options: Record<string, string> = { remote_ip: 'flow', key: 'flow' };
  if (dstPort !== VXLAN_DEFAULT_PORT) options.dst_port = String(dstPort);
  return options;
}

/**
 * Makes sure `bridge` has a flow-based VXLAN port `port` (type vxlan,
 * options remote_ip=flow, key=flow, dst_port unless 4789) and resolves with
 * its OpenFlow port number once ovs-vswitchd has assigned one. An existing
 * interface of that name with other settings is corrected in place.
 */
export async function ensureTunnelPort(db: OvsdbClient, opts: TunnelPortOptions): Promise<{ ofport: number; created: boolean; updated: boolean }> {
  const options = tunnelPortOptions(opts.dstPort);
  const [bridges, ifaces] = await db.transact(
    OVS_DB,
    { op: 'select', table: 'Bridge', where: [['name', '==', opts.bridge]], columns: ['_uuid', 'ports'] },
    { op: 'select', table: 'Interface', where: [['name', '==', opts.port]], columns: ['_uuid', 'type', 'options'] },
  );
  const bridge = bridges?.rows?.[0];
  if (!bridge) throw new OvsdbError(`bridge ${opts.bridge} does not exist`);
  const iface = ifaces?.rows?.[0];
  let created = false;
  let updated = false;
  if (!iface) {
    await db.transact(
      OVS_DB,
      { op: 'insert', table: 'Interface', row: { name: opts.port, type: 'vxlan', options: ovsdbMap(options) }, 'uuid-name': 'iface' },
      { op: 'insert', table: 'Port', row: { name: opts.port, interfaces: ['named-uuid', 'iface'] }, 'uuid-name': 'port' },
      { op: 'mutate', table: 'Bridge', where: [['_uuid', '==', bridge._uuid!]], mutations: [['ports', 'insert', ['set', [['named-uuid', 'port']]]]] },
    );
    created = true;
  } else if (iface.type !== 'vxlan' || !sameMap(fromOvsdbMap(iface.options), options)) {
    await db.transact(OVS_DB, { op: 'update', table: 'Interface', where: [['_uuid', '==', iface._uuid!]], row: { type: 'vxlan', options: ovsdbMap(options) } });
    updated = true;
  }
  const ofport = await waitForOfport(db, opts.port, opts.timeoutMs ?? 10_000);
  return { ofport, created, updated };
}

function sameMap(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k] === b[k]);
}

/**
 * Resolves with the interface's ofport once ovs-vswitchd has set it
 * (it writes -1 and the `error` column when the port cannot be created).
 */
export async function waitForOfport(db: OvsdbClient, iface: string, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [res] = await db.transact(OVS_DB, { op: 'select', table: 'Interface', where: [['name', '==', iface]], columns: ['ofport', 'error'] });
    const row = res?.rows?.[0];
    const ofport = fromOvsdbOptional<number>(row?.ofport);
    if (typeof ofport === 'number' && ofport > 0) return ofport;
    const error = fromOvsdbOptional<string>(row?.error);
    if (ofport === -1 && error) throw new OvsdbError(`interface ${iface} could not be added: ${error}`);
    if (Date.now() > deadline) throw new OvsdbError(`interface ${iface} got no ofport within ${timeoutMs} ms${error ? `: ${error}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** One Interface row as the agent cares about it. */
export interface InterfaceInfo {
  uuid: string;
  name: string;
  /** Absent until ovs-vswitchd assigns it; -1 when the port failed. */
  ofport?: number;
  externalIds: Record<string, string>;
}

export interface InterfaceMonitorEvents {
  /** Rows added or changed (new state), and names of rows removed. */
  change: [{ upserted: InterfaceInfo[]; removed: InterfaceInfo[] }];
}

/**
 * Keeps an up-to-date view of Interface {name, ofport, external_ids}
 * through an OVSDB monitor, so the agent learns which ports carry
 * `external_ids:evpn-vni` and their ofports.
 */
export class InterfaceMonitor extends EventEmitter<InterfaceMonitorEvents> {
  private rows = new Map<string, InterfaceInfo>();
  private readonly monitorId = `interfaces-${Math.random().toString(36).slice(2)}`;
  private readonly onUpdate = (id: unknown, updates: TableUpdates) => {
    if (id === this.monitorId) this.apply(updates);
  };

  private constructor(private readonly db: OvsdbClient) {
    super();
  }

  static async start(db: OvsdbClient): Promise<InterfaceMonitor> {
    const m = new InterfaceMonitor(db);
    db.on('update', m.onUpdate);
    try {
      const initial = await db.monitor(OVS_DB, m.monitorId, { Interface: { columns: ['name', 'ofport', 'external_ids'] } });
      m.apply(initial);
    } catch (err) {
      db.off('update', m.onUpdate);
      throw err;
    }
    return m;
  }

  /** Current rows, by interface name. */
  interfaces(): Map<string, InterfaceInfo> {
    return new Map([...this.rows.values()].map((r) => [r.name, r]));
  }

  async stop(): Promise<void> {
    this.db.off('update', this.onUpdate);
    if (this.db.isOpen) await this.db.monitorCancel(this.monitorId).catch(() => undefined);
  }

  private apply(updates: TableUpdates): void {
    const upserted: InterfaceInfo[] = [];
    const removed: InterfaceInfo[] = [];
    // Server input is untrusted: anything that is not shaped like table-updates is skipped.
    const table: unknown = typeof updates === 'object' && updates !== null ? updates.Interface : undefined;
    if (typeof table !== 'object' || table === null) return;
    for (const [uuid, change] of Object.entries(table as Record<string, unknown>)) {
      if (typeof change !== 'object' || change === null) continue;
      const next = (change as { new?: unknown }).new;
      if (next === undefined || next === null) {
        const old = this.rows.get(uuid);
        if (old) removed.push(old);
        this.rows.delete(uuid);
        continue;
      }
      if (typeof next !== 'object') continue;
      // A modify may carry only the changed columns in `new`: merge into what we had.
      const prev = this.rows.get(uuid);
      const row: InterfaceInfo = prev ? { ...prev } : { uuid, name: '', externalIds: {} };
      const n = next as Record<string, OvsdbValue>;
      if (typeof n.name === 'string') row.name = n.name;
      if (n.external_ids !== undefined) row.externalIds = fromOvsdbMap(n.external_ids);
      if (n.ofport !== undefined) {
        const ofport = fromOvsdbOptional<number>(n.ofport);
        if (typeof ofport === 'number') row.ofport = ofport;
        else delete row.ofport;
      }
      this.rows.set(uuid, row);
      upserted.push(row);
    }
    if (upserted.length > 0 || removed.length > 0) this.emit('change', { upserted, removed });
  }
}

