/**
 * A node's VtepNodeState against etcd's request limit, with a real
 * kube-apiserver + etcd: the operator's size estimate is checked against
 * what the apiserver really stores, and a node whose spec would not fit is
 * reported instead of written.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlPlane, missingControlPlane } from '../../harness/kube.js';
import { estimateStoredBytes } from '../../../src/operator/spec-size.js';
import type { VtepNodeStateSpec } from '../../../src/operator/model.js';
import { OperatorProcess, eventually } from './operator-process.js';
import { FABRIC, apply, createNode, eventsFor, find, getJson, groupYaml } from './objects.js';

const skip = missingControlPlane();

const mac = (i: number) => `02:00:${((i >> 24) & 255).toString(16).padStart(2, '0')}:${((i >> 16) & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;

/** A node spec of `groups` groups with `macs` MACs and `vteps` VTEPs each, as the operator renders one. */
function nodeSpec(groups: number, macs: number, vteps: number, v6: boolean): VtepNodeStateSpec {
  let m = 0;
  return {
    fabric: 'default',
    localVtepIP: v6 ? '2001:db8::1' : '192.0.2.1',
    vxlan: { port: 4789, mode: 'PerVni', deviceTemplate: 'evpn-{vni}', bridgeTemplate: 'evpnbr-{vni}', device: 'evpn0', bridge: 'evpnbr0' },
    ovs: { bridge: 'br-evpn', tunnelPort: 'evpn-vxlan', tableBase: 0, groupIdRange: { start: 65536, size: 65536 }, selectionMethod: 'dp_hash', bucketLayout: 'slots', cookie: '0x45564e0000000000', cookieMask: '0xffffffff00000000' },
    kernel: { manage: true, mirrorLearned: true, protocol: 236, nexthopIdRange: { start: 3959422976, size: 1048576 }, exportLocalMacs: true },
    groupsFrom: 'Spec',
    groups: Array.from({ length: groups }, (_, g) => ({
      name: `group-${String(g).padStart(5, '0')}`,
      generation: 12,
      vni: 100 + g,
      vteps: Array.from({ length: vteps }, (_, v) => ({ ip: v6 ? `2001:db8:ffff:${g.toString(16)}::${(v + 2).toString(16)}` : `198.51.${100 + (g % 100)}.${v + 2}`, weight: 256 })),
      macs: Array.from({ length: macs }, () => mac(m++)),
    })),
  };
}

/** A status as an agent writes it once everything is programmed: every group with its paths, five conditions. */
function agentStatus(spec: VtepNodeStateSpec): unknown {
  const at = '2026-11-21T06:00:00Z';
  return {
    observedGeneration: 1,
    conditions: ['Ready', 'KernelSynced', 'OvsConnected', 'OvsSynced', 'DataplaneDrift'].map((type) => ({ type, status: type === 'DataplaneDrift' ? 'False' : 'True', reason: 'Synced', message: 'kernel and Open vSwitch hold the desired state', lastTransitionTime: at, observedGeneration: 1 })),
    summary: { groups: spec.groups.length, paths: 1_000_000, macs: 1_000_000, invalid: 0 },
    groups: spec.groups.map((g, i) => ({
      name: g.name, vni: g.vni, appliedGeneration: g.generation, nexthopGroupId: 3959422976 + i, ofGroupId: 65536 + i,
      paths: g.vteps.slice(1).map((v) => ({ vtep: v.ip, weight: v.weight, slots: 256 })),
      // The node's own VTEP in the group: not a path.
      droppedPaths: g.vteps.slice(0, 1).map((v) => v.ip),
      macs: g.macs.length, state: 'Programmed', message: '',
    })),
    learned: { ecmp: 100_000, singlePath: 100, invalid: { UnknownNexthop: 1 } },
    flood: [...new Set(spec.groups.map((g) => g.vni))].map((vni, i) => ({ vni, vteps: 4, ofGroupId: 131072 + i })),
    local: [...new Set(spec.groups.map((g) => g.vni))].map((vni) => ({ vni, ports: 12, macs: 40, exported: 40 })),
    lastSyncTime: at,
  };
}

describe.skipIf(skip)('VtepNodeState size', () => {
  let cp: ControlPlane;
  let op: OperatorProcess | undefined;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'evpn-spec-size-'));
    cp = await ControlPlane.start();
    await cp.applyCrds();
  }, 180_000);

  afterAll(async () => {
    await op?.stop();
    await cp?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it.each([
    ['one group of 10,000 MACs', 1, 10_000, 4, false],
    ['1,000 groups of one MAC and 4 VTEPs', 1000, 1, 4, false],
    ['100 groups of 64 IPv6 VTEPs', 100, 5, 64, true],
    ['1,500 groups of one VTEP', 1500, 0, 1, false],
  ])('the estimate is never below what the apiserver stores (spec, status, managedFields): %s', async (_what, groups, macs, vteps, v6) => {
    const name = `size-${groups}-${macs}-${vteps}`;
    const spec = nodeSpec(groups, macs, vteps, v6);
    const object = { apiVersion: 'evpn.ecmp.dev/v1alpha1', kind: 'VtepNodeState', metadata: { name, ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name, uid: '6f1c1a9e-8d3a-4a8e-9d3c-0123456789ab', controller: true }] }, spec };
    // As the operator writes spec (server-side apply) and the agent status (JSON patch).
    writeFileSync(join(dir, 'object.json'), JSON.stringify(object));
    await cp.kubectl('apply', '--server-side', '--field-manager=evpn-ecmp-operator', '--force-conflicts', '-f', join(dir, 'object.json'));
    writeFileSync(join(dir, 'status.json'), JSON.stringify([{ op: 'add', path: '/status', value: agentStatus(spec) }]));
    await cp.kubectl('patch', 'vtepnodestate', name, '--subresource=status', '--type=json', '--field-manager=evpn-ecmp-agent', '--patch-file', join(dir, 'status.json'));
    const { stdout } = await cp.kubectl('get', '--raw', `/apis/evpn.ecmp.dev/v1alpha1/vtepnodestates/${name}`);
    const stored = JSON.parse(stdout) as { metadata: { managedFields?: unknown[] }; status?: { groups?: unknown[] } };
    // Whole: the apiserver drops managedFields to make a too-large update fit; here nothing was dropped.
    expect(stored.metadata.managedFields).toHaveLength(2);
    expect(stored.status?.groups).toHaveLength(groups);
    const estimate = estimateStoredBytes(name, spec).bytes;
    expect(estimate).toBeGreaterThanOrEqual(Buffer.byteLength(stdout));
    // ... and not so far above that nodes are refused for nothing.
    expect(estimate).toBeLessThan(Buffer.byteLength(stdout) * 1.35);
  }, 60_000);

  it('reports SpecTooLarge on the node, its fabric and the groups held up, writes nothing, and recovers when the spec fits again', async () => {
    op = await OperatorProcess.start(cp);
    await apply(cp, FABRIC);
    await createNode(cp, 'node-a', '192.0.2.1', { evpn: 'on' });
    await createNode(cp, 'node-b', '192.0.2.2', { evpn: 'on' });
    await apply(cp, groupYaml('small', 100, ['02:aa:00:00:00:01'], [{ ip: '198.51.100.2' }]));
    await eventually('node-a rendered', async () => (await find(cp, 'vns', 'node-a'))?.spec.groups.length === 1);
    const before = await getJson(cp, 'vns', 'node-a');

    // Four groups of 10,000 MACs for the nodes labelled role=big: ~2 MiB stored on one node, over etcd's 1.5 MiB.
    for (let i = 0; i < 4; i++) {
      const macs = Array.from({ length: 10_000 }, (_, j) => mac(i * 10_000 + j));
      // `create`, not `apply`: apply would keep a second copy in last-applied-configuration.
      await cp.kubectlInput(groupYaml(`big-${i}`, 200 + i, macs, [{ ip: '198.51.100.3' }, { ip: '198.51.100.4' }], '  nodeSelector: {matchLabels: {role: big}}'), 'create', '-f', '-');
    }
    // Only now does node-a qualify for them: its spec grows by all four at once.
    await cp.kubectl('label', 'node', 'node-a', 'role=big');
    const degraded = await eventually('big-0 Degraded', async () => {
      const vg = await getJson(cp, 'vg', 'big-0');
      const c = (vg.status?.conditions ?? []).find((x: { type: string }) => x.type === 'Degraded');
      return c?.reason === 'SpecTooLarge' ? c : undefined;
    }, 60_000);
    expect(degraded.message).toMatch(/^generation 1 cannot reach 1 node\(s\) \(node-a\): node node-a's VtepNodeState would take ~\d+ KiB in etcd, over the 1280 KiB it allows; largest groups: big-\d/);
    const fabric = await getJson(cp, 'ef', 'default');
    expect(fabric.status.conditions.find((c: { type: string }) => c.type === 'Degraded')).toMatchObject({ status: 'True', reason: 'SpecTooLarge' });
    expect(fabric.status.nodesTotal).toBe(2);
    await eventually('an Event on node-a', async () => (await eventsFor(cp, 'Node', 'node-a')).some((e) => e.reason === 'SpecTooLarge' && e.type === 'Warning'));
    // Nothing was written to node-a's object: same spec, same resourceVersion; node-b untouched.
    const after = await getJson(cp, 'vns', 'node-a');
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    expect((await getJson(cp, 'vns', 'node-b')).spec.groups.map((g: { name: string }) => g.name)).toEqual(['small']);
    // The operator did not run into etcd's refusal (it never tried).
    expect(op.lines.filter((l) => /too large/i.test(JSON.stringify(l)) && l.level === 'error')).toEqual([]);

    // Two groups fewer: it fits, node-a gets them, the problem clears.
    await cp.kubectl('delete', 'vg', 'big-2', 'big-3');
    await eventually('node-a rendered with big-0 and big-1', async () => {
      const vns = await find(cp, 'vns', 'node-a');
      return vns?.spec.groups.map((g: { name: string }) => g.name).join(',') === 'big-0,big-1,small';
    }, 60_000);
    await eventually('big-0 no longer SpecTooLarge', async () => {
      const vg = await getJson(cp, 'vg', 'big-0');
      return (vg.status?.conditions ?? []).find((x: { type: string }) => x.type === 'Degraded')?.reason !== 'SpecTooLarge';
    });
  }, 180_000);
});
