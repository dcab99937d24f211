import { EventEmitter } from 'node:events';
import {
  fromOvsdbMap,
  fromOvsdbOptional,
  fromOvsdbSet,
  ovsdbMap,
  OvsdbError,
  type MonitorRequest,
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
  const { created, updated } = await configureTunnelPort(db, opts);
  const ofport = await waitForOfport(db, opts.port, opts.timeoutMs ?? 10_000);
  return { ofport, created, updated };
}

/**
 * The database half of `ensureTunnelPort`: writes the port and its options
 * when they are missing or differ, and returns without waiting for
 * ovs-vswitchd. For callers that follow the Interface row through a monitor
 * anyway (and want to report `Interface:error` rather than fail when the
 * port cannot be created).
 */
export async function configureTunnelPort(db: OvsdbClient, opts: Omit<TunnelPortOptions, 'timeoutMs'>): Promise<{ created: boolean; updated: boolean }> {
  const options = tunnelPortOptions(opts.dstPort);
  const [bridges, ifaces] = await db.transact(
    OVS_DB,
    { op: 'select', table: 'Bridge', where: [['name', '==', opts.bridge]], columns: ['_uuid', 'ports'] },
    { op: 'select', table: 'Interface', where: [['name', '==', opts.port]], columns: ['_uuid', 'type', 'options'] },
  );
  const bridge = bridges?.rows?.[0];
  if (!bridge) throw new OvsdbError(`bridge ${opts.bridge} does not exist`);
  const iface = ifaces?.rows?.[0];
  if (!iface) {
    await db.transact(
      OVS_DB,
      { op: 'insert', table: 'Interface', row: { name: opts.port, type: 'vxlan', options: ovsdbMap(options) }, 'uuid-name': 'iface' },
      { op: 'insert', table: 'Port', row: { name: opts.port, interfaces: ['named-uuid', 'iface'] }, 'uuid-name': 'port' },
      { op: 'mutate', table: 'Bridge', where: [['_uuid', '==', bridge._uuid!]], mutations: [['ports', 'insert', ['set', [['named-uuid', 'port']]]]] },
    );
    return { created: true, updated: false };
  }
  if (iface.type === 'vxlan' && sameMap(withoutDefaultDstPort(fromOvsdbMap(iface.options)), options)) return { created: false, updated: false };
  await db.transact(OVS_DB, { op: 'update', table: 'Interface', where: [['_uuid', '==', iface._uuid!]], row: { type: 'vxlan', options: ovsdbMap(options) } });
  return { created: false, updated: true };
}

/** An explicit `dst_port=4789` configures what its absence does (OVS lib/netdev-vport.c): not a difference worth a rewrite. */
function withoutDefaultDstPort(options: Record<string, string>): Record<string, string> {
  if (options.dst_port !== String(VXLAN_DEFAULT_PORT)) return options;
  const rest = { ...options };
  delete rest.dst_port;
  return rest;
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
  /** Interface:error: why ovs-vswitchd could not create the port (absent while it works). */
  error?: string;
}

export interface InterfaceMonitorEvents {
  /** Rows added or changed (new state), and rows removed (last known state). */
  change: [{ upserted: InterfaceInfo[]; removed: InterfaceInfo[] }];
}

export interface InterfaceMonitorOptions {
  /**
   * Only the interfaces of this bridge's ports (Bridge:ports →
   * Port:interfaces); an interface that joins or leaves the bridge is
   * reported as upserted or removed. Absent: every interface of the database.
   */
  bridge?: string;
}

const INTERFACE_COLUMNS = ['name', 'ofport', 'external_ids', 'error'];

/**
 * Keeps an up-to-date view of Interface {name, ofport, external_ids, error}
 * through an OVSDB monitor, so the agent learns which ports carry
 * `external_ids:evpn-vni`, their ofports, and why a port is unusable.
 */
export class InterfaceMonitor extends EventEmitter<InterfaceMonitorEvents> {
  private rows = new Map<string, InterfaceInfo>();
  /** Bridge uuid → {name, port uuids}; Port uuid → interface uuids. Kept only with a bridge filter. */
  private bridges = new Map<string, { name: string; ports: string[] }>();
  private ports = new Map<string, string[]>();
  private readonly monitorId = `interfaces-${Math.random().toString(36).slice(2)}`;
  private readonly onUpdate = (id: unknown, updates: TableUpdates) => {
    if (id === this.monitorId) this.apply(updates);
  };

  private constructor(
    private readonly db: OvsdbClient,
    private readonly bridge: string | undefined,
  ) {
    super();
  }

  static async start(db: OvsdbClient, opts: InterfaceMonitorOptions = {}): Promise<InterfaceMonitor> {
    const m = new InterfaceMonitor(db, opts.bridge);
    // Updates that arrive before the initial contents are applied are held
    // back and applied after them, in order. The reply and the first update
    // often come in one read: the update is dispatched at once, the reply's
    // continuation only afterwards, and applying the (older) initial
    // contents last would undo it (e.g. lose the ofport ovs-vswitchd just
    // assigned to a new port, for good).
    const early: TableUpdates[] = [];
    const hold = (id: unknown, updates: TableUpdates): void => {
      if (id === m.monitorId) early.push(updates);
    };
    db.on('update', hold);
    try {
      // One monitor over the three tables: its initial contents are one
      // consistent snapshot, and later changes to membership and rows arrive
      // in the same update (RFC 7047 §4.1.5).
      const requests: Record<string, MonitorRequest> = { Interface: { columns: INTERFACE_COLUMNS } };
      if (opts.bridge !== undefined) {
        requests.Bridge = { columns: ['name', 'ports'] };
        requests.Port = { columns: ['interfaces'] };
      }
      const initial = await db.monitor(OVS_DB, m.monitorId, requests);
      m.apply(initial);
      for (const updates of early) m.apply(updates);
      db.on('update', m.onUpdate);
    } finally {
      db.off('update', hold);
    }
    return m;
  }

  /** Current rows (of the bridge, when filtered), by interface name. */
  interfaces(): Map<string, InterfaceInfo> {
    const visible = this.visible();
    return new Map([...this.rows.values()].filter((r) => visible.has(r.uuid)).map((r) => [r.name, r]));
  }

  async stop(): Promise<void> {
    this.db.off('update', this.onUpdate);
    if (this.db.isOpen) await this.db.monitorCancel(this.monitorId).catch(() => undefined);
  }

  /** Uuids of the interfaces in view: all of them, or those reachable from the bridge's ports. */
  private visible(): Set<string> {
    if (this.bridge === undefined) return new Set(this.rows.keys());
    const out = new Set<string>();
    for (const b of this.bridges.values()) {
      if (b.name !== this.bridge) continue;
      for (const port of b.ports) for (const iface of this.ports.get(port) ?? []) out.add(iface);
    }
    return out;
  }

  private apply(updates: TableUpdates): void {
    const before = this.visible();
    const changed = new Set<string>();
    const gone = new Map<string, InterfaceInfo>();
    // Server input is untrusted: anything that is not shaped like table-updates is skipped.
    for (const [uuid, next] of rowChanges(updates, 'Interface')) {
      if (next === undefined) {
        const old = this.rows.get(uuid);
        if (old) gone.set(uuid, old);
        this.rows.delete(uuid);
        continue;
      }
      // A modify may carry only the changed columns in `new`: merge into what we had.
      const prev = this.rows.get(uuid);
      const row: InterfaceInfo = prev ? { ...prev } : { uuid, name: '', externalIds: {} };
      if (typeof next.name === 'string') row.name = next.name;
      if (next.external_ids !== undefined) row.externalIds = fromOvsdbMap(next.external_ids);
      if (next.ofport !== undefined) {
        const ofport = fromOvsdbOptional<number>(next.ofport);
        if (typeof ofport === 'number') row.ofport = ofport;
        else delete row.ofport;
      }
      if (next.error !== undefined) {
        const error = fromOvsdbOptional<string>(next.error);
        if (typeof error === 'string' && error !== '') row.error = error;
        else delete row.error;
      }
      this.rows.set(uuid, row);
      changed.add(uuid);
    }
    if (this.bridge !== undefined) {
      for (const [uuid, next] of rowChanges(updates, 'Bridge')) {
        if (next === undefined) this.bridges.delete(uuid);
        else {
          const prev = this.bridges.get(uuid);
          this.bridges.set(uuid, {
            name: typeof next.name === 'string' ? next.name : (prev?.name ?? ''),
            ports: next.ports !== undefined ? uuidsOf(next.ports) : (prev?.ports ?? []),
          });
        }
      }
      for (const [uuid, next] of rowChanges(updates, 'Port')) {
        if (next === undefined) this.ports.delete(uuid);
        else if (next.interfaces !== undefined) this.ports.set(uuid, uuidsOf(next.interfaces));
      }
    }
    const after = this.visible();
    const upserted = [...after].filter((u) => changed.has(u) || !before.has(u)).flatMap((u) => this.rows.get(u) ?? []);
    const removed = [...before].filter((u) => !after.has(u)).flatMap((u) => this.rows.get(u) ?? gone.get(u) ?? []);
    if (upserted.length > 0 || removed.length > 0) this.emit('change', { upserted, removed });
  }
}

/** The rows of one table in a table-updates object: uuid → new row, or undefined when deleted. Misshapen entries are skipped. */
function rowChanges(updates: TableUpdates, table: string): Array<[string, Record<string, OvsdbValue> | undefined]> {
  const t: unknown = typeof updates === 'object' && updates !== null ? updates[table] : undefined;
  if (typeof t !== 'object' || t === null) return [];
  const out: Array<[string, Record<string, OvsdbValue> | undefined]> = [];
  for (const [uuid, change] of Object.entries(t as Record<string, unknown>)) {
    if (typeof change !== 'object' || change === null) continue;
    const next = (change as { new?: unknown }).new;
    if (next === undefined || next === null) out.push([uuid, undefined]);
    else if (typeof next === 'object' && !Array.isArray(next)) out.push([uuid, next as Record<string, OvsdbValue>]);
  }
  return out;
}

/** The uuids of a reference column (a single ["uuid", u] or a set of them); anything else is dropped. */
function uuidsOf(v: OvsdbValue): string[] {
  const atoms: unknown = fromOvsdbSet(v);
  if (!Array.isArray(atoms)) return [];
  return (atoms as OvsdbValue[]).flatMap((a) => (Array.isArray(a) && a[0] === 'uuid' && typeof a[1] === 'string' ? [a[1]] : []));
}
