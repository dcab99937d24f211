import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OvsSandbox } from '../../harness/ovs.js';
import { missingPrerequisites, OVS_TOOLS } from '../../harness/prereq.js';
import { ensureBridge, ensureTunnelPort, InterfaceMonitor, OvsdbClient, OvsdbError, type InterfaceInfo } from '../../../src/lib/ovsdb/index.js';
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
