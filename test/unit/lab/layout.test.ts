import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LabLayout, exportedMacs, nodeIndex, nodeName, nodeRole, underlayAddress, workloadPorts, type LabRecord } from '../../../src/lab/layout.js';
import { workloadExternalIds } from '../../../src/lab/node.js';

const record: LabRecord = {
  version: 1,
  netnsPrefix: 'evpn-lab-',
  cli: ['/usr/bin/node', '/repo/bin/evpn-ecmp.js'],
  nodes: ['node-a', 'node-b', 'node-c'],
  apiserverPort: 6443,
  operatorHealthPort: 8081,
  operatorMetricsPort: 8080,
  createdAt: '2026-11-21T06:00:00.000Z',
};

describe('lab layout', () => {
  const dirs: string[] = [];
  const tempLayout = () => {
    const d = mkdtempSync(join(tmpdir(), 'evpn-labunit-'));
    dirs.push(d);
    return new LabLayout(d);
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('names nodes a..z, gives each a VTEP address in 192.0.2.0/24 and a role', () => {
    expect([0, 1, 2, 25].map(nodeName)).toEqual(['node-a', 'node-b', 'node-c', 'node-z']);
    expect(['node-a', 'node-c', 'node-z'].map(nodeIndex)).toEqual([0, 2, 25]);
    expect(['node-a', 'node-b', 'node-z'].map(underlayAddress)).toEqual(['192.0.2.1', '192.0.2.2', '192.0.2.26']);
    expect(['node-a', 'node-b', 'node-c'].map(nodeRole)).toEqual(['client', 'server', 'server']);
  });

  it('matches the sample manifests: node-a holds the client MAC, every node the anycast service MAC', () => {
    const a = workloadPorts('node-a');
    const b = workloadPorts('node-b');
    expect(a.find((p) => p.name === 'vm1')).toEqual({ name: 'vm1', vni: 100, mac: '02:00:00:00:0a:01', attached: true, exported: true });
    expect(a.find((p) => p.name === 'web')?.mac).toBe('02:00:00:00:01:00');
    expect(b.find((p) => p.name === 'web')?.mac).toBe('02:00:00:00:01:00');
    // Per-node MACs differ between nodes.
    expect(b.find((p) => p.name === 'vm1')?.mac).not.toBe(a.find((p) => p.name === 'vm1')?.mac);
  });

  it("exports each node's own MACs and never a MAC several nodes host (the anycast and the multihomed service)", () => {
    expect(exportedMacs('node-b').map((p) => [p.name, p.mac])).toEqual([['vm1', '02:00:00:00:0b:01'], ['db', '02:00:00:00:0b:02']]);
    // What the agent reads from each port's OVS Interface.
    const ids = Object.fromEntries(workloadPorts('node-b').map((p) => [p.name, workloadExternalIds(p)]));
    expect(ids).toEqual({
      vm1: { 'evpn-vni': '100', 'attached-mac': '02:00:00:00:0b:01' },
      web: { 'evpn-vni': '100', 'evpn-export': 'false' },
      db: { 'evpn-vni': '200', 'attached-mac': '02:00:00:00:0b:02' },
      mh: { 'evpn-vni': '100', 'evpn-export': 'false' },
    });
  });

  it('writes lab.json and reads it back; no file reads as no lab', () => {
    const layout = tempLayout();
    expect(layout.read()).toBeUndefined();
    layout.write(record);
    expect(layout.read()).toEqual(record);
  });

  it('rejects a malformed lab.json with the file and the field named', () => {
    const layout = tempLayout();
    writeFileSync(layout.recordFile, '{"version": 1, ');
    expect(() => layout.read()).toThrow(/lab\.json: not JSON/);
    writeFileSync(layout.recordFile, JSON.stringify({ ...record, nodes: ['node-a', 'Node B'] }));
    expect(() => layout.read()).toThrow(/lab\.json: field nodes\.1:/);
    writeFileSync(layout.recordFile, JSON.stringify({ ...record, apiserverPort: 70000 }));
    expect(() => layout.read()).toThrow(/field apiserverPort:/);
  });

  it('keeps every unix socket path of a lab under the 108-byte sun_path limit for a typical directory', () => {
    const layout = new LabLayout('/root/.local/state/evpn-ecmp/lab');
    const longest = [layout.apiserverRelaySocket, layout.fabricSocket('node-z'), join(layout.nodeOvsDir('node-z'), 'br-underlay.mgmt'), join(layout.nodeOvsDir('node-z'), 'ovs-vswitchd.ctl')];
    for (const p of longest) expect(Buffer.byteLength(p)).toBeLessThan(108);
  });
});
