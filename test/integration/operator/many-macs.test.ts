/**
 * A node that takes 40,000 MACs from VtepGroups, with a real kube-apiserver
 * + etcd and the operator as a process. This replaces the SpecTooLarge suite
 * (issue 20): node specs no longer copy groups (groupsFrom VtepGroups, the
 * agents read the VtepGroups themselves), so what a node takes no longer
 * grows its VtepNodeState towards etcd's 1.5 MiB request limit, and the
 * operator writes nothing to a node's object when groups come to it. What is
 * left to the operator is membership and the roll-up (READY), checked here
 * with the agent played as in operator.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlPlane, missingControlPlane } from '../../harness/kube.js';
import { OperatorProcess, eventually } from './operator-process.js';
import { FABRIC, apply, createNode, degradedOf, getJson, groupYaml, groupsOfNode, nodeStateWrites, reportProgrammed, rolledUp as rolledUpIn } from './objects.js';

const skip = missingControlPlane();

const mac = (i: number) => `02:00:${((i >> 24) & 255).toString(16).padStart(2, '0')}:${((i >> 16) & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;

describe.skipIf(skip)('operator: a node with 40,000 MACs from VtepGroups', () => {
  let cp: ControlPlane;
  let op: OperatorProcess;

  beforeAll(async () => {
    cp = await ControlPlane.start({ crds: true });
    op = await OperatorProcess.start(cp);
  }, 180_000);

  afterAll(async () => {
    await op?.stop();
    await cp?.stop();
  }, 60_000);

  const rolledUp = (group: string) => rolledUpIn(cp, group);

  it('keeps the VtepNodeState as it was (no write) while four groups of 10,000 MACs come to the node, and rolls them up from its report', async () => {
    await apply(cp, FABRIC);
    await createNode(cp, 'node-a', '192.0.2.1', { evpn: 'on' });
    await createNode(cp, 'node-b', '192.0.2.2', { evpn: 'on' });
    await apply(cp, groupYaml('small', 100, ['02:aa:00:00:00:01'], [{ ip: '198.51.100.2' }]));
    await eventually('small on both nodes', async () => (await rolledUp('small')) === '0/2');
    const before = await getJson(cp, 'vns', 'node-a');
    const writesBefore = await nodeStateWrites(op);

    // Four groups of 10,000 MACs for the nodes labelled role=big: ~2 MiB as
    // groups copied into one node's spec (over etcd's limit before issue 20).
    for (let i = 0; i < 4; i++) {
      const macs = Array.from({ length: 10_000 }, (_, j) => mac(i * 10_000 + j));
      // `create`, not `apply`: apply would keep a second copy in last-applied-configuration.
      await cp.kubectlInput(groupYaml(`big-${i}`, 200 + i, macs, [{ ip: '198.51.100.3' }, { ip: '198.51.100.4' }], '  nodeSelector: {matchLabels: {role: big}}'), 'create', '-f', '-');
    }
    await eventually('the big groups select no node yet', async () => (await Promise.all([0, 1, 2, 3].map((i) => rolledUp(`big-${i}`)))).every((r) => r === '0/0'), 60_000);
    // Only now does node-a qualify for them: it takes all four at once.
    await cp.kubectl('label', 'node', 'node-a', 'role=big');
    await eventually('the big groups on node-a', async () => (await Promise.all([0, 1, 2, 3].map((i) => rolledUp(`big-${i}`)))).every((r) => r === '0/1'), 60_000);

    // node-a's object is as it was: same spec, no write by the operator.
    const after = await getJson(cp, 'vns', 'node-a');
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    expect(after.spec).toEqual(before.spec);
    expect(after.spec.groupsFrom).toBe('VtepGroups');
    expect(await nodeStateWrites(op)).toBe(writesBefore);
    const { stdout } = await cp.kubectl('get', '--raw', '/apis/evpn.ecmp.dev/v1alpha1/vtepnodestates/node-a');
    expect(Buffer.byteLength(stdout)).toBeLessThan(8 * 1024);

    // What node-a's agent takes is read from the VtepGroups: 40,001 MACs.
    const taken = await groupsOfNode(cp, 'node-a');
    expect(taken.map((g) => g.name)).toEqual(['big-0', 'big-1', 'big-2', 'big-3', 'small']);
    expect(taken.reduce((n, g) => n + g.macs.length, 0)).toBe(40_001);

    // The agent reports them: READY 1/1, nothing Degraded (no SpecTooLarge or other refusal of the operator's own).
    await reportProgrammed(cp, 'node-a');
    await eventually('the big groups 1/1', async () => (await Promise.all([0, 1, 2, 3].map((i) => rolledUp(`big-${i}`)))).every((r) => r === '1/1'), 60_000);
    for (let i = 0; i < 4; i++) expect(await degradedOf(cp, `big-${i}`)).toMatchObject({ status: 'False', reason: 'AsExpected' });
    expect((await getJson(cp, 'vg', 'big-0')).status.macCount).toBe(10_000);
    // node-b does not take them and reports only its own group.
    await reportProgrammed(cp, 'node-b');
    await eventually('small 2/2', async () => (await rolledUp('small')) === '2/2');
    expect((await getJson(cp, 'vns', 'node-b')).status.groups.map((g: { name: string }) => g.name)).toEqual(['small']);
    expect(op.lines.filter((l) => l.level === 'error')).toEqual([]);
  }, 240_000);
});
