/**
 * The agent's OVSDB session (ovs.ts: OvsdbSession) on src/lib/ovsdb: the
 * library speaks RFC 7047 and the Open_vSwitch schema; this adapter turns
 * its Interface rows into the agent's OvsInterface (external_ids:evpn-vni
 * read as a VNI) and its connection loss into one close reason.
 *
 * One session per connection: the library client does not reconnect, the
 * agent does (it re-reads the bridge after every reconnect).
 */
import { configureTunnelPort, InterfaceMonitor, OvsdbClient, type InterfaceInfo } from '../../lib/ovsdb/index.js';
import type { OvsInterface } from '../model.js';
import type { OvsdbSession } from './ovs.js';

const VNI_MAX = 16_777_215;
/** RFC 7047 requests the agent waits on: a monitor's initial contents, a small transaction. */
const REQUEST_TIMEOUT_MS = 20_000;

class LibOvsdbSession implements OvsdbSession {
  private monitor: Promise<InterfaceMonitor> | undefined;
  private reporter: (() => void) | undefined;
  private closed = false;

  constructor(private readonly db: OvsdbClient) {}

  async ensureTunnelPort(bridge: string, name: string, dstPort: number): Promise<void> {
    // Without waiting for the ofport: the Interface monitor reports it, or
    // Interface:error when ovs-vswitchd cannot create the port, which the
    // agent then shows in status instead of failing the connection.
    await configureTunnelPort(this.db, { bridge, port: name, dstPort });
  }

  async interfaces(bridge: string): Promise<OvsInterface[]> {
    return toOvsInterfaces((await this.watch(bridge)).interfaces().values());
  }

  async monitorInterfaces(bridge: string, cb: (interfaces: OvsInterface[]) => void): Promise<void> {
    const monitor = await this.watch(bridge);
    // One subscriber, as asked last: a second call replaces the first.
    if (this.reporter) monitor.off('change', this.reporter);
    this.reporter = () => cb(toOvsInterfaces(monitor.interfaces().values()));
    monitor.on('change', this.reporter);
  }

  onClose(cb: (reason: string) => void): void {
    this.db.on('disconnected', (err) => {
      if (!this.closed) cb(err?.message ?? 'connection closed');
    });
  }

  onProtocolError(cb: (err: Error) => void): void {
    this.db.on('protocolError', cb);
  }

  close(): void {
    this.closed = true;
    // No report after close, even from an update already read off the socket.
    void this.monitor?.then((m) => m.removeAllListeners(), () => undefined);
    this.db.close();
  }

  /**
   * One monitor of the bridge's interfaces per session (the bridge of the
   * first call; the agent opens a new session per connect): its initial
   * contents and its updates form one ordered stream, so a change made
   * right after the first read (ovs-vswitchd assigning the tunnel port its
   * ofport) is reported, never missed.
   */
  private watch(bridge: string): Promise<InterfaceMonitor> {
    this.monitor ??= InterfaceMonitor.start(this.db, { bridge });
    return this.monitor;
  }
}

export async function connectOvsdb(path: string): Promise<OvsdbSession> {
  return new LibOvsdbSession(await OvsdbClient.connect(`unix:${path}`, { timeoutMs: REQUEST_TIMEOUT_MS }));
}

/** A unicast MAC, any case, as the workload's; anything else is ignored (the port's MACs are learned instead). */
function attachedMacOf(text: string | undefined): { attachedMac?: string } {
  if (text === undefined || !/^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/i.test(text)) return {};
  const mac = text.toLowerCase();
  const unicast = (parseInt(mac.slice(0, 2), 16) & 1) === 0 && mac !== '00:00:00:00:00:00';
  return unicast ? { attachedMac: mac } : {};
}

function toOvsInterfaces(rows: Iterable<InterfaceInfo>): OvsInterface[] {
  const out: OvsInterface[] = [];
  for (const row of rows) {
    const vniText = row.externalIds['evpn-vni'];
    const vni = vniText !== undefined && /^\d+$/.test(vniText) ? Number(vniText) : undefined;
    out.push({
      name: row.name,
      // No ofport yet (ovs-vswitchd has not added the port) reads as -1, as OVS writes for a failed one.
      ofport: row.ofport ?? -1,
      ...(vni !== undefined && vni >= 1 && vni <= VNI_MAX ? { vni } : {}),
      ...attachedMacOf(row.externalIds['attached-mac']),
      ...(row.externalIds['evpn-export'] === 'false' ? { noExport: true } : {}),
      ...(row.error ? { error: row.error } : {}),
    });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
