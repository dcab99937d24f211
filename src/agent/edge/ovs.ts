/**
 * OvsPort on src/lib/openflow (the bridge's `<rundir>/<bridge>.mgmt`) and
 * src/lib/ovsdb (`<rundir>/db.sock`, through ovsdb-session.ts): dumps,
 * atomic bundles and the Interface monitor, in OpenFlow terms (what the
 * flows and groups mean is openflow/pipeline.ts's). Neither library client
 * reconnects by itself: a lost connection is reported once, and ofctrl
 * reconnects and re-reads the bridge.
 */
import { join } from 'node:path';
import { OFPG, OpenFlowClient, type BundleSource, type FlowStats, type GroupDesc } from '../../lib/openflow/index.js';
import type { OvsInterface } from '../model.js';
import type { BridgeSettings, OvsPort } from '../ports.js';
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

  async connect(bridge: string): Promise<void> {
    this.close();
    const generation = ++this.generation;
    this.bridgeName = bridge;
    const lost = (reason: string) => {
      if (generation !== this.generation) return;
      this.generation++;
      for (const cb of this.disconnectListeners) cb(reason);
    };
    const mgmt = join(this.rundir, `${bridge}.mgmt`);
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

  async ensureTunnelPort(settings: BridgeSettings): Promise<void> {
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

  dumpGroups(): Promise<GroupDesc[]> {
    return this.requireOf().dumpGroupDescs(OFPG.ALL);
  }

  dumpFlows(cookie: bigint, cookieMask: bigint): Promise<FlowStats[]> {
    return this.requireOf().dumpFlows({ cookie, cookieMask });
  }

  async commit(messages: BundleSource): Promise<void> {
    await this.requireOf().applyBundle(messages);
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
