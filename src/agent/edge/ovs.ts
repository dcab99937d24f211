/**
 * OvsPort on src/lib/openflow (the bridge's `<rundir>/<bridge>.mgmt`) and
 * src/lib/ovsdb (`<rundir>/db.sock`, through ovsdb-session.ts): reads back
 * only the agent's groups (inside groupIdRange) and flows (cookie under
 * cookieMask), commits plans (select and flood groups, flows) as one
 * atomic ordered bundle, and recovers the nhid → group id mapping from the
 * ECMP flows' cookies and each VNI's flood group from its flood flow. Neither library
 * client reconnects by itself: a lost connection is reported once, and the
 * agent reconnects and re-reads the bridge.
 */
import { join } from 'node:path';
import { OFPG, OpenFlowClient, type BundleMessage, type GroupDesc } from '../../lib/openflow/index.js';
import type { OfFlow, OfGroup, OvsInterface } from '../model.js';
import { floodFlowVni, floodGroupMod, fromFloodGroupDesc } from '../flood-openflow.js';
import type { FloodChange, FloodPlan } from '../sync/flood-plan.js';
import type { OvsInstalled, OvsPort, OvsSettingsForPort } from '../ports.js';
import { flowKey } from '../openflow-text.js';
import type { OfChange } from '../sync/of-plan.js';
import { bundleSource, fromFlowStats, fromGroupDesc } from './openflow.js';
import { inRange } from '../ownership.js';
import { silentLogger, type Logger } from '../../util/log.js';

/** The OVSDB operations the agent needs (RFC 7047, Open_vSwitch schema). */
export interface OvsdbSession {
  /** Ensures a Port+Interface `name` of type vxlan with remote_ip=flow, key=flow, dst_port on `bridge`. */
  ensureTunnelPort(bridge: string, name: string, dstPort: number): Promise<void>;
  /** The bridge's interfaces with their ofport and external_ids:evpn-vni. */
  interfaces(bridge: string): Promise<OvsInterface[]>;
  /** Calls back with the bridge's full interface list whenever it changes. */
  monitorInterfaces(bridge: string, cb: (interfaces: OvsInterface[]) => void): Promise<void>;
  onClose(cb: (reason: string) => void): void;
  /** A malformed message from the server, dropped (the session goes on). */
  onProtocolError?(cb: (err: Error) => void): void;
  close(): void;
}

export type OvsdbConnector = (socketPath: string) => Promise<OvsdbSession>;

export class OvsBridge implements OvsPort {
  private of: OpenFlowClient | undefined;
  private db: OvsdbSession | undefined;
  private interfaceListeners: Array<(ifaces: OvsInterface[]) => void> = [];
  private disconnectListeners: Array<(reason: string) => void> = [];
  private generation = 0;
  private bridgeName = '';

  constructor(
    private readonly rundir: string,
    private readonly connectOvsdb: OvsdbConnector,
    private readonly log: Logger = silentLogger,
  ) {}

  async connect(settings: OvsSettingsForPort): Promise<void> {
    this.close();
    const generation = ++this.generation;
    this.bridgeName = settings.bridge;
    const lost = (reason: string) => {
      if (generation !== this.generation) return;
      this.generation++;
      for (const cb of this.disconnectListeners) cb(reason);
    };
    const mgmt = join(this.rundir, `${settings.bridge}.mgmt`);
    // The agent reconnects by itself (and re-reads the bridge), so the
    // client must not reconnect behind its back.
    const of = await OpenFlowClient.connect(`unix:${mgmt}`, { reconnect: false });
    this.of = of;
    of.on('disconnected', (ev) => lost(`OpenFlow connection to ${mgmt} lost${ev.error ? `: ${ev.error.message}` : ''}`));
    // A malformed message from the switch is dropped by the client; never fatal.
    of.on('protocolError', (err) => this.log.warn('malformed OpenFlow message from the switch dropped', { error: err.message }));
    const db = await this.connectOvsdb(join(this.rundir, 'db.sock'));
    this.db = db;
    db.onClose((reason) => lost(`OVSDB connection lost: ${reason}`));
    db.onProtocolError?.((err) => this.log.warn('malformed OVSDB message from the server dropped', { error: err.message }));
  }

  async ensureTunnelPort(settings: OvsSettingsForPort): Promise<void> {
    await this.requireDb().ensureTunnelPort(settings.bridge, settings.tunnelPort, settings.vxlanPort);
  }

  async interfaces(): Promise<OvsInterface[]> {
    const db = this.requireDb();
    const bridge = this.bridgeName;
    // Monitor first, then read the monitor's view: a change in between
    // (ovs-vswitchd assigning the new tunnel port its ofport) is then
    // reported, never missed.
    await db.monitorInterfaces(bridge, (ifaces) => {
      for (const cb of this.interfaceListeners) cb(ifaces);
    });
    return db.interfaces(bridge);
  }

  onInterfaces(cb: (interfaces: OvsInterface[]) => void): void {
    this.interfaceListeners.push(cb);
  }

  onDisconnect(cb: (reason: string) => void): void {
    this.disconnectListeners.push(cb);
  }

  async readInstalled(settings: OvsSettingsForPort): Promise<OvsInstalled> {
    this.bridgeName = settings.bridge;
    const of = this.requireOf();
    const groups = new Map<number, OfGroup>();
    const allGroups: GroupDesc[] = [];
    for (const g of await of.dumpGroupDescs(OFPG.ALL)) {
      // Another controller's groups (outside our range) are not ours to see.
      if (!inRange(g.groupId, settings.groupIdRange)) continue;
      if (g.type === 'all') allGroups.push(g);
      else groups.set(g.groupId, fromGroupDesc(g));
    }
    const flows = new Map<string, OfFlow>();
    const adopted = new Map<number, number>();
    const vniOfFloodGroup = new Map<number, number>();
    for (const stats of await of.dumpFlows({ cookie: settings.cookie, cookieMask: settings.cookieMask })) {
      const flow = fromFlowStats(stats);
      flows.set(flowKey(flow), flow);
      const groupAction = flow.actions.find((a) => a.type === 'group');
      if (groupAction?.type !== 'group' || !inRange(groupAction.groupId, settings.groupIdRange)) continue;
      const vni = floodFlowVni(flow, settings.tableBase);
      const nhid = Number(flow.cookie & ~settings.cookieMask & 0xffffffffn);
      if (vni !== undefined) vniOfFloodGroup.set(groupAction.groupId, vni);
      else if (nhid > 0 && flow.table === settings.tableBase + 1) adopted.set(nhid, groupAction.groupId);
    }
    const flood = new Map(allGroups.map((g) => [g.groupId, fromFloodGroupDesc(g, vniOfFloodGroup.get(g.groupId) ?? 0)]));
    // A flood flow naming anything but one of our `all` groups adopts nothing.
    const adoptedFlood = new Map([...vniOfFloodGroup].filter(([id]) => flood.has(id)).map(([id, vni]) => [vni, id]));
    return { groups, flows, adopted, flood, adoptedFlood };
  }

  async commit(changes: readonly OfChange[], settings: OvsSettingsForPort, flood: FloodPlan = { before: [], after: [] }): Promise<void> {
    const main = bundleSource(changes, settings);
    const { before, after } = flood;
    const floodMessage = (c: FloodChange): BundleMessage => ({ type: 'groupMod', groupMod: floodGroupMod(c.command, c.group) });
    await this.requireOf().applyBundle({
      length: before.length + main.length + after.length,
      at: (i) =>
        i < before.length ? floodMessage(before[i]!)
        : i < before.length + main.length ? main.at(i - before.length)
        : i < before.length + main.length + after.length ? floodMessage(after[i - before.length - main.length]!)
        : undefined,
    });
  }

  close(): void {
    this.generation++;
    this.of?.removeAllListeners();
    this.of?.close();
    this.of = undefined;
    this.db?.close();
    this.db = undefined;
  }

  private requireOf(): OpenFlowClient {
    if (!this.of) throw new Error('not connected to the OpenFlow bridge');
    return this.of;
  }

  private requireDb(): OvsdbSession {
    if (!this.db) throw new Error('not connected to OVSDB');
    return this.db;
  }
}
