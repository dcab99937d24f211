import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OvsSandbox } from '../../harness/ovs.js';
import { missingPrerequisites, OVS_TOOLS } from '../../harness/prereq.js';
import { configureTunnelPort, ensureBridge, ensureTunnelPort, InterfaceMonitor, OvsdbClient, OvsdbError, type InterfaceInfo } from '../../../src/lib/ovsdb/index.js';
import { OpenFlowClient } from '../../../src/lib/openflow/index.js';

const skip = missingPrerequisites(OVS_TOOLS);

async function until<T>(what: string, f: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.skipIf(skip)('OVSDB client against ovsdb-server + ovs-vswitchd', () => {
  let ovs: OvsSandbox;
  let db: OvsdbClient | undefined;

  beforeEach(async () => {
    ovs = await OvsSandbox.start();
  });
  afterEach(async () => {
    db?.close();
    db = undefined;
    await ovs.stop();
  });

  it('lists databases and reports a failing transaction with the operation', async () => {
    db = await OvsdbClient.connect(`unix:${ovs.dbSocket}`);
    expect(await db.listDbs()).toContain('Open_vSwitch');
    const err = await db
      .transact('Open_vSwitch', { op: 'select', table: 'Bridge', where: [] }, { op: 'insert', table: 'Port', row: { name: 'x', no_such_column: 1 } })
      .then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(OvsdbError);
    expect((err as OvsdbError).operationIndex).toBe(1);
    expect((err as Error).message).toMatch(/operation 1 \(insert Port\)/);
  });

  it('ensures a bridge and a flow-based VXLAN port, idempotently, and returns its ofport', async () => {
    db = await OvsdbClient.connect(`unix:${ovs.dbSocket}`);
    expect(await ensureBridge(db, { bridge: 'br-evpn', datapathType: 'dummy', failMode: 'secure' })).toBe(true);
    expect(await ensureBridge(db, { bridge: 'br-evpn', datapathType: 'dummy' })).toBe(false);
    const first = await ensureTunnelPort(db, { bridge: 'br-evpn', port: 'evpn-vxlan', dstPort: 4790 });
    expect(first.created).toBe(true);
    expect(first.ofport).toBeGreaterThan(0);
    expect(first.ofport).toBe(await ovs.ofport('evpn-vxlan'));

    const { stdout: type } = await ovs.vsctl('get', 'Interface', 'evpn-vxlan', 'type');
    expect(type.trim()).toBe('vxlan');
    const { stdout: options } = await ovs.vsctl('get', 'Interface', 'evpn-vxlan', 'options');
    expect(options.trim()).toBe('{dst_port="4790", key=flow, remote_ip=flow}');
    const { stdout: ports } = await ovs.vsctl('list-ports', 'br-evpn');
    expect(ports.trim().split('\n')).toEqual(['evpn-vxlan']);

    const again = await ensureTunnelPort(db, { bridge: 'br-evpn', port: 'evpn-vxlan', dstPort: 4790 });
    expect(again).toEqual({ ofport: first.ofport, created: false, updated: false });

    // Back to the default port: dst_port disappears from the options.
    const changed = await ensureTunnelPort(db, { bridge: 'br-evpn', port: 'evpn-vxlan', dstPort: 4789 });
    expect(changed.updated).toBe(true);
    const { stdout: options2 } = await ovs.vsctl('get', 'Interface', 'evpn-vxlan', 'options');
    expect(options2.trim()).toBe('{key=flow, remote_ip=flow}');

    // The bridge speaks OpenFlow 1.5 on its management socket.
    const of = await OpenFlowClient.connect(`unix:${ovs.mgmtSocket('br-evpn')}`);
    try {
      expect(of.version).toBe(0x06);
      expect((await of.dumpPorts()).find((p) => p.name === 'evpn-vxlan')?.portNo).toBe(first.ofport);
    } finally {
      of.close();
    }
  });

  it('rejects a tunnel port on a bridge that does not exist', async () => {
    db = await OvsdbClient.connect(`unix:${ovs.dbSocket}`);
    await expect(ensureTunnelPort(db, { bridge: 'nope', port: 'vx' })).rejects.toThrow(/bridge nope does not exist/);
  });

  it('watches Interface name, ofport and external_ids through a monitor', async () => {
    await ovs.addBridge('br0');
    await ovs.addDummyPort('br0', 'p1', { ofport: 11, externalIds: { 'evpn-vni': '100' } });
    db = await OvsdbClient.connect(`unix:${ovs.dbSocket}`);
    const monitor = await InterfaceMonitor.start(db);
    const changes: InterfaceInfo[][] = [];
    monitor.on('change', (c) => changes.push(c.upserted));

    const p1 = await until('p1 with ofport', () => {
      const r = monitor.interfaces().get('p1');
      return r?.ofport === 11 ? r : undefined;
    });
    expect(p1.externalIds).toEqual({ 'evpn-vni': '100' });

    await ovs.addDummyPort('br0', 'p2', { ofport: 12 });
    await ovs.vsctl('set', 'Interface', 'p2', 'external_ids:evpn-vni=200');
    const p2 = await until('p2 tagged', () => {
      const r = monitor.interfaces().get('p2');
      return r?.externalIds['evpn-vni'] === '200' && r.ofport === 12 ? r : undefined;
    });
    expect(p2.name).toBe('p2');
    expect(changes.length).toBeGreaterThan(0);

    await ovs.vsctl('del-port', 'br0', 'p1');
    await until('p1 gone', () => (monitor.interfaces().has('p1') ? undefined : true));
    await monitor.stop();
  });

  it('watches one bridge\'s interfaces, configures a tunnel port without waiting, and reports why a port failed', async () => {
    await ovs.addBridge('br-evpn');
    await ovs.addBridge('br-other');
    await ovs.addDummyPort('br-other', 'q1', { ofport: 21, externalIds: { 'evpn-vni': '100' } });
    db = await OvsdbClient.connect(`unix:${ovs.dbSocket}`);
    const monitor = await InterfaceMonitor.start(db, { bridge: 'br-evpn' });

    // A port written by hand with the explicit default dst_port is already right.
    await ovs.vsctl('add-port', 'br-evpn', 'evpn-vxlan', '--', 'set', 'Interface', 'evpn-vxlan', 'type=vxlan', 'options:remote_ip=flow', 'options:key=flow', 'options:dst_port=4789');
    expect(await configureTunnelPort(db, { bridge: 'br-evpn', port: 'evpn-vxlan', dstPort: 4789 })).toEqual({ created: false, updated: false });
    const tunnel = await until('tunnel ofport', () => {
      const r = monitor.interfaces().get('evpn-vxlan');
      return r?.ofport !== undefined && r.ofport > 0 ? r : undefined;
    });
    expect(tunnel.ofport).toBe(await ovs.ofport('evpn-vxlan'));
    expect(tunnel.error).toBeUndefined();
    expect([...monitor.interfaces().keys()].sort()).toEqual(['br-evpn', 'evpn-vxlan']);

    // A second flow-based VXLAN port on the same UDP port is refused by
    // ovs-vswitchd (ofport -1, Interface:error); configure returns at once,
    // the monitor carries the reason, the waiting variant rejects with it.
    expect(await configureTunnelPort(db, { bridge: 'br-evpn', port: 'evpn-vxlan2', dstPort: 4789 })).toEqual({ created: true, updated: false });
    const refused = await until('refused port', () => {
      const r = monitor.interfaces().get('evpn-vxlan2');
      return r?.error ? r : undefined;
    });
    expect(refused.ofport).toBe(-1);
    expect(refused.error).toMatch(/evpn-vxlan2/);
    await expect(ensureTunnelPort(db, { bridge: 'br-evpn', port: 'evpn-vxlan2', dstPort: 4789, timeoutMs: 2000 })).rejects.toThrow(/could not be added/);

    // q1 of the other bridge stayed out of view; once it is a port of this one, it is in.
    expect(monitor.interfaces().has('q1')).toBe(false);
    await ovs.vsctl('del-port', 'br-other', 'q1');
    await ovs.addDummyPort('br-evpn', 'q1', { ofport: 22, externalIds: { 'evpn-vni': '100' } });
    const q1 = await until('q1 in br-evpn', () => (monitor.interfaces().get('q1')?.ofport === 22 ? monitor.interfaces().get('q1') : undefined));
    expect(q1.externalIds).toEqual({ 'evpn-vni': '100' });
    await monitor.stop();
  });

  it('reports the connection going away', async () => {
    db = await OvsdbClient.connect(`unix:${ovs.dbSocket}`);
    const gone = new Promise<void>((resolve) => db!.once('disconnected', () => resolve()));
    await ovs.stop();
    await gone;
    expect(db.isOpen).toBe(false);
    await expect(db.listDbs()).rejects.toThrow(/closed/);
    ovs = await OvsSandbox.start();
  });
});
