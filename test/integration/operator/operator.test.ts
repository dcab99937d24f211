/**
 * The operator against a real kube-apiserver + etcd (+ kube-controller-manager
 * for garbage collection), run as a process. Nodes are plain objects; the
 * agent's side is played by writing VtepNodeState status with kubectl, for
 * the groups an agent would take (the fabric's VtepGroups whose selector
 * picks its Node).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlPlane, missingControlPlane } from '../../harness/kube.js';
import { OperatorProcess, eventually } from './operator-process.js';
import { FABRIC, apply, createNode, degradedOf, eventsFor, find, getJson, groupYaml, groupsOfNode, nodeStateWrites, readyColumn, reportProgrammed, rolledUp as rolledUpIn } from './objects.js';

const skip = missingControlPlane();

describe.skipIf(skip)('evpn-ecmp operator', () => {
  let cp: ControlPlane;
  let op: OperatorProcess;

  beforeAll(async () => {
    cp = await ControlPlane.start({ controllerManager: true });
    await cp.applyCrds();
    op = await OperatorProcess.start(cp);
  }, 180_000);

  afterAll(async () => {
    const code = op ? await op.stop() : 0;
    await cp?.stop();
    // A clean SIGTERM shutdown exits 0.
    expect(code).toBe(0);
  }, 60_000);

  const rolledUp = (group: string) => rolledUpIn(cp, group);

  it('serves /healthz, /readyz (once its caches synced) and Prometheus /metrics', async () => {
    await eventually('ready', async () => (await fetch(`${op.healthUrl}/readyz`)).status === 200);
    expect((await fetch(`${op.healthUrl}/healthz`)).status).toBe(200);
    const text = await op.metrics();
    expect(text).toMatch(/^evpn_operator_leader 1$/m); // no leader election: always active
    expect(text).toContain('# TYPE workqueue_depth gauge');
    expect(text).toContain('# TYPE evpn_operator_reconcile_total counter');
    expect(text).toMatch(/^process_cpu_seconds_total /m);
    // Structured logs: every line is a JSON object with ts, level, msg.
    expect(op.lines.length).toBeGreaterThan(0);
    expect(op.stderrText).toEqual([]);
    for (const l of op.lines) expect(l).toMatchObject({ ts: expect.any(String), level: expect.any(String), msg: expect.any(String), component: 'operator' });
  });

  it('renders one VtepNodeState per selected node (the fabric resolved, groupsFrom VtepGroups), counts group nodes by label, and Node deletion garbage-collects it', async () => {
    await apply(cp, FABRIC);
    await apply(cp, groupYaml('web', 100, ['02:00:00:00:00:aa', '02:00:00:00:00:ab'], [{ ip: '198.51.100.2', weight: 3 }, { ip: '198.51.100.3' }]));
    await apply(cp, groupYaml('db', 200, ['02:00:00:00:00:bb'], [{ ip: '198.51.100.4' }], '  nodeSelector: {matchLabels: {role: db}}'));
    await createNode(cp, 'node-a', '192.0.2.1', { evpn: 'on', role: 'db' });
    await createNode(cp, 'node-b', '192.0.2.2', { evpn: 'on' });
    await createNode(cp, 'node-c', '192.0.2.3', { evpn: 'on' });
    await createNode(cp, 'node-off', '192.0.2.9', {}); // not selected by the fabric

    await eventually('three VtepNodeStates', async () => (await getJson(cp, 'vns')).items.length === 3);
    expect(await find(cp, 'vns', 'node-off')).toBeUndefined();
    const a = await getJson(cp, 'vns', 'node-a');
    const nodeA = await getJson(cp, 'node', 'node-a');
    expect(a.spec).toMatchObject({
      fabric: 'default',
      localVtepIP: '192.0.2.1',
      vxlan: { port: 4789, deviceTemplate: 'evpn-{vni}' },
      ovs: { bridge: 'br-evpn', groupIdRange: { start: 65536, size: 65536 }, selectionMethod: 'dp_hash', bucketLayout: 'slots' },
      kernel: { manage: true, protocol: 236 },
      groupsFrom: 'VtepGroups',
    });
    expect(a.spec.groups ?? []).toEqual([]);
    expect(a.metadata.ownerReferences).toEqual([{ apiVersion: 'v1', kind: 'Node', name: 'node-a', uid: nodeA.metadata.uid, controller: true }]);
    const managed = await getJson(cp, 'vns', 'node-a', '--show-managed-fields');
    expect(managed.metadata.managedFields).toContainEqual(expect.objectContaining({ manager: 'evpn-ecmp-operator', operation: 'Apply' }));
    // Which nodes a group applies to is its status: READY's denominator.
    await eventually('web on 3 nodes, db on 1', async () => (await rolledUp('web')) === '0/3' && (await rolledUp('db')) === '0/1');

    // Label a node out of the group's selector, then out of the fabric's.
    await cp.kubectl('label', 'node', 'node-a', 'role-');
    await eventually('db on no node', async () => (await rolledUp('db')) === '0/0');
    await cp.kubectl('label', 'node', 'node-c', 'evpn-');
    await eventually('node-c VtepNodeState removed', async () => (await find(cp, 'vns', 'node-c')) === undefined);
    await eventually('web on 2 nodes', async () => (await rolledUp('web')) === '0/2');

    // The owner reference lets the garbage collector remove the VtepNodeState
    // of a deleted Node, even with no operator running.
    await op.stop();
    await cp.kubectl('delete', 'node', 'node-b');
    await eventually('node-b VtepNodeState garbage-collected', async () => (await find(cp, 'vns', 'node-b')) === undefined, 60_000);
    op = await OperatorProcess.start(cp);
    await eventually('web on node-a only', async () => (await rolledUp('web')) === '0/1');
  });

  it('rolls node status up into READY only at the current generation; a weight change writes the group status and no VtepNodeState', async () => {
    // Fresh nodes for this test; node-a from the first test keeps serving "web".
    await createNode(cp, 'node-d', '192.0.2.4', { evpn: 'on' });
    await createNode(cp, 'node-e', '192.0.2.5', { evpn: 'on' });
    await eventually('specs for node-d and node-e', async () => (await find(cp, 'vns', 'node-d')) !== undefined && (await find(cp, 'vns', 'node-e')) !== undefined);
    await eventually('web 0/3', async () => (await readyColumn(cp, 'vg', 'web')) === '0/3');

    await reportProgrammed(cp, 'node-a');
    await reportProgrammed(cp, 'node-d');
    await eventually('web 2/3', async () => (await readyColumn(cp, 'vg', 'web')) === '2/3');
    let web = await getJson(cp, 'vg', 'web');
    expect(web.status.conditions.find((c: { type: string }) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'Progressing' });

    await reportProgrammed(cp, 'node-e');
    await eventually('web 3/3', async () => (await readyColumn(cp, 'vg', 'web')) === '3/3');
    web = await getJson(cp, 'vg', 'web');
    expect(web.status).toMatchObject({ observedGeneration: 1, nodesReady: 3, nodesTotal: 3, vtepCount: 2, macCount: 2 });
    expect(web.status.conditions.find((c: { type: string }) => c.type === 'Ready')).toMatchObject({ status: 'True', reason: 'Programmed', observedGeneration: 1 });
    const { stdout } = await cp.kubectl('get', 'vg', 'web');
    expect(stdout).toMatch(/^web\s+default\s+100\s+2\s+2\s+3\/3\s/m);
    await eventually('fabric 3/3', async () => (await readyColumn(cp, 'ef', 'default')) === '3/3');
    expect((await eventsFor(cp, 'VtepGroup', 'web')).some((e) => e.reason === 'Ready' && e.type === 'Normal')).toBe(true);

    // A new generation: no node has it until the agents report again; the
    // agents read it from the VtepGroup, so no node's object is written.
    const versions = async () => Object.fromEntries((await getJson<{ items: Array<{ metadata: { name: string; resourceVersion: string } }> }>(cp, 'vns')).items.map((v) => [v.metadata.name, v.metadata.resourceVersion]));
    const versionsBefore = await versions();
    const writesBefore = await nodeStateWrites(op);
    await cp.kubectl('patch', 'vg', 'web', '--type=merge', '-p', JSON.stringify({ spec: { vteps: [{ ip: '198.51.100.2', weight: 1 }, { ip: '198.51.100.3' }] } }));
    await eventually('web 0/3 at generation 2', async () => (await rolledUp('web')) === '0/3');
    web = await getJson(cp, 'vg', 'web');
    expect(web.status.observedGeneration).toBe(2);
    expect(web.status.conditions.find((c: { type: string }) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'Progressing', observedGeneration: 2 });
    await new Promise((r) => setTimeout(r, 2_000)); // anything trailing would show by now
    expect(await nodeStateWrites(op)).toBe(writesBefore);
    expect(await versions()).toEqual(versionsBefore);
    for (const n of ['node-a', 'node-d', 'node-e']) {
      const taken = (await groupsOfNode(cp, n)).find((g) => g.name === 'web');
      expect(taken).toMatchObject({ generation: 2, vteps: [{ ip: '198.51.100.2', weight: 1 }, { ip: '198.51.100.3', weight: 1 }] });
      await reportProgrammed(cp, n);
    }
    await eventually('web 3/3 again', async () => (await readyColumn(cp, 'vg', 'web')) === '3/3');
  });

  it('coalesces status writes when many nodes report at once', async () => {
    const nodes = Array.from({ length: 12 }, (_, i) => `burst-${i}`);
    await apply(cp, FABRIC);
    await apply(cp, groupYaml('burst', 500, ['02:00:00:00:05:01'], [{ ip: '198.51.100.50' }], '  nodeSelector: {matchLabels: {burst: "yes"}}'));
    await Promise.all(nodes.map((n, i) => createNode(cp, n, `192.0.2.${100 + i}`, { evpn: 'on', burst: 'yes' })));
    await eventually('burst 0/12', async () => (await readyColumn(cp, 'vg', 'burst')) === '0/12', 60_000);
    const writesOf = () => op.lines.filter((l) => l.msg === 'updated VtepGroup status' && l.group === 'burst').length;
    await new Promise((r) => setTimeout(r, 1_500)); // let the coalescing interval of the last write pass
    const before = writesOf();
    const started = Date.now();
    await Promise.all(nodes.map((n) => reportProgrammed(cp, n, (g) => g === 'burst')));
    await eventually('burst 12/12', async () => (await readyColumn(cp, 'vg', 'burst')) === '12/12', 30_000);
    const seconds = (Date.now() - started) / 1000;
    const writes = writesOf() - before;
    // Twelve reports, one write per second at most (plus the first, immediate one).
    expect(writes).toBeGreaterThanOrEqual(1);
    expect(writes).toBeLessThanOrEqual(Math.ceil(seconds) + 1);
    expect(writes).toBeLessThan(nodes.length);
    for (const n of nodes) await cp.kubectl('delete', 'node', n, '--wait=false');
    await cp.kubectl('delete', 'vg', 'burst');
    await eventually('burst nodes gone', async () => (await getJson(cp, 'vns')).items.every((v: { metadata: { name: string } }) => !v.metadata.name.startsWith('burst-')), 60_000);
  }, 120_000);

  it('waits one coalescing interval before a new group\'s first status write, so its nodes\' first reports can be in it', async () => {
    const writes = () => op.lines.filter((l) => l.msg === 'updated VtepGroup status' && l.group === 'fresh');
    const before = Date.now();
    await apply(cp, groupYaml('fresh', 310, ['02:00:00:00:03:10'], [{ ip: '198.51.100.9' }]));
    // The three nodes report it at once, as agents watching VtepGroups do.
    await Promise.all(['node-a', 'node-d', 'node-e'].map((n) => reportProgrammed(cp, n)));
    await eventually('fresh 3/3', async () => (await readyColumn(cp, 'vg', 'fresh')) === '3/3');
    const first = writes()[0]!;
    // Never before the interval (1 s) from the create, whatever the machine's speed.
    expect(Date.parse(first.ts as string) - before).toBeGreaterThanOrEqual(1_000);
    await cp.kubectl('delete', 'vg', 'fresh');
  });

  it('rolls up what nodes refuse (a MAC two groups claim on that node) as Degraded with conditions and Events; groups that share no node do not conflict', async () => {
    await apply(cp, groupYaml('shop', 300, ['02:00:00:00:03:01', '02:00:00:00:03:02'], [{ ip: '198.51.100.7' }]));
    await apply(cp, groupYaml('shop-dup', 300, ['02:00:00:00:03:02', '02:00:00:00:03:03'], [{ ip: '198.51.100.8' }]));
    const degraded = (name: string) => degradedOf(cp, name);
    // The operator does not compare groups: whether they collide is each node's business.
    await eventually('shop and shop-dup rolled up', async () => (await rolledUp('shop')) === '0/3' && (await rolledUp('shop-dup')) === '0/3');
    expect((await degraded('shop'))?.status).toBe('False');

    // node-a's agent withholds the contested MAC from both and says so; the others program them.
    const conflict = { state: 'Invalid' as const, message: 'MacConflict: MAC 02:00:00:00:03:02 on VNI 300 claimed by two groups: withheld from both; the other 1 MAC(s) are programmed' };
    await reportProgrammed(cp, 'node-a', undefined, 3600, (g) => (g.startsWith('shop') ? conflict : undefined));
    await reportProgrammed(cp, 'node-d');
    await reportProgrammed(cp, 'node-e');
    for (const name of ['shop', 'shop-dup']) {
      const c = await eventually(`${name} Degraded`, async () => {
        const d = await degraded(name);
        return d?.status === 'True' ? d : undefined;
      });
      expect(c.reason).toBe('MacConflict');
      expect(c.message).toBe(`1 of 3 node(s) report the group Invalid: MacConflict on 1 (node-a): ${conflict.message.slice('MacConflict: '.length)}`);
      await eventually(`${name} 2/3`, async () => (await readyColumn(cp, 'vg', name)) === '2/3');
      const events = await eventually(`${name} MacConflict event`, async () => {
        const ev = await eventsFor(cp, 'VtepGroup', name);
        return ev.some((e) => e.reason === 'MacConflict') ? ev : undefined;
      });
      expect(events.find((e) => e.reason === 'MacConflict')!.type).toBe('Warning');
    }
    // Other groups are unaffected.
    expect((await degraded('web'))?.status).toBe('False');
    expect(await readyColumn(cp, 'vg', 'web')).toBe('3/3');

    // Resolved on the node: the condition clears, with an Event.
    await cp.kubectl('patch', 'vg', 'shop-dup', '--type=merge', '-p', JSON.stringify({ spec: { macs: ['02:00:00:00:03:03'] } }));
    await reportProgrammed(cp, 'node-a');
    await eventually('shop recovered', async () => (await degraded('shop'))?.status === 'False');
    expect((await eventsFor(cp, 'VtepGroup', 'shop')).some((e) => e.reason === 'Recovered')).toBe(true);

    // One MAC in one VNI for two groups that never share a node: no conflict anywhere.
    await cp.kubectl('label', 'node', 'node-a', 'pin=a');
    await cp.kubectl('label', 'node', 'node-d', 'pin=d');
    await apply(cp, groupYaml('solo-a', 310, ['02:00:00:00:03:10'], [{ ip: '198.51.100.9' }], '  nodeSelector: {matchLabels: {pin: a}}'));
    await apply(cp, groupYaml('solo-d', 310, ['02:00:00:00:03:10'], [{ ip: '198.51.100.10' }], '  nodeSelector: {matchLabels: {pin: d}}'));
    await reportProgrammed(cp, 'node-a');
    await reportProgrammed(cp, 'node-d');
    await eventually('solo-a and solo-d 1/1', async () => (await rolledUp('solo-a')) === '1/1' && (await rolledUp('solo-d')) === '1/1');
    expect((await degraded('solo-a'))?.status).toBe('False');
    expect((await degraded('solo-d'))?.status).toBe('False');
  });

  it('reports a group of a missing fabric and a node without a VTEP address instead of failing', async () => {
    await apply(cp, groupYaml('lost', 400, ['02:00:00:00:04:01'], [{ ip: '198.51.100.9' }]).replace('fabric: default', 'fabric: nope'));
    await eventually('lost FabricNotFound', async () => {
      const vg = await getJson(cp, 'vg', 'lost');
      return (vg.status?.conditions ?? []).some((c: { type: string; reason: string; status: string }) => c.type === 'Degraded' && c.status === 'True' && c.reason === 'FabricNotFound');
    });
    await createNode(cp, 'node-noip', undefined, { evpn: 'on' });
    const ev = await eventually('VtepAddressMissing event on the Node', async () => {
      const events = await eventsFor(cp, 'Node', 'node-noip');
      return events.find((e) => e.reason === 'VtepAddressMissing');
    });
    expect(ev.type).toBe('Warning');
    await eventually('fabric Degraded', async () => {
      const ef = await getJson(cp, 'ef', 'default');
      const c = (ef.status?.conditions ?? []).find((x: { type: string }) => x.type === 'Degraded');
      return c?.status === 'True' && c.reason === 'VtepAddressMissing' && String(c.message).includes('node-noip');
    });
    expect(await find(cp, 'vns', 'node-noip')).toBeUndefined();
    expect(op.running).toBe(true);
  });

  it('makes no writes while nothing changes', async () => {
    // Settle: nothing queued and no write for a few seconds.
    const writes = () => Promise.all(['create', 'update', 'patch', 'apply', 'delete'].map((verb) => op.counter('evpn_operator_api_requests_total', { verb }))).then((xs) => xs.reduce((a, b) => a + b, 0));
    let last = -1;
    await eventually('writes to settle', async () => {
      const now = await writes();
      const settled = now === last;
      last = now;
      return settled;
    }, 30_000, 3_000);
    const versions = async () => {
      const out: Record<string, string> = {};
      for (const r of ['ef', 'vg', 'vns', 'events']) {
        const list = await getJson<{ items: Array<{ kind: string; metadata: { name: string; resourceVersion: string } }> }>(cp, r, ...(r === 'events' ? ['-n', 'default'] : []));
        for (const o of list.items) out[`${r}/${o.metadata.name}`] = o.metadata.resourceVersion;
      }
      return out;
    };
    const before = await versions();
    const writesBefore = await writes();
    const reconcilesBefore = await op.counter('evpn_operator_reconcile_total');
    await new Promise((r) => setTimeout(r, 30_000));
    expect(await versions()).toEqual(before);
    expect(await writes()).toBe(writesBefore);
    // The loop is alive (not just stuck): a change still gets through.
    await cp.kubectl('label', 'node', 'node-d', 'evpn-');
    await eventually('node-d VtepNodeState removed', async () => (await find(cp, 'vns', 'node-d')) === undefined);
    expect(await op.counter('evpn_operator_reconcile_total')).toBeGreaterThan(reconcilesBefore);
  }, 90_000);

  it('rides out an apiserver outage: stays up, then its watches resume (a group and a Node created afterwards are rendered)', async () => {
    await cp.stopApiserver();
    try {
      // Longer than a watch's reconnect backoff: the informers see refused connections for a while.
      await new Promise((r) => setTimeout(r, 8_000));
      expect(op.running).toBe(true);
      expect((await fetch(`${op.healthUrl}/healthz`)).status).toBe(200);
    } finally {
      await cp.restartApiserver();
    }
    // A group created after the outage is rolled up over every selected node ...
    await apply(cp, groupYaml('after-outage', 500, ['02:00:00:00:05:01'], [{ ip: '198.51.100.5' }]));
    await eventually('after-outage rolled up over node-a and node-e', async () => (await rolledUp('after-outage')) === '0/2', 60_000);
    // ... and a Node labelled after it is selected, so the Node watch resumed too.
    await createNode(cp, 'node-after', '192.0.2.50', { evpn: 'on' });
    await eventually('node-after VtepNodeState', async () => (await find(cp, 'vns', 'node-after')) !== undefined, 60_000);
    await eventually('after-outage over node-after too', async () => (await rolledUp('after-outage')) === '0/3', 60_000);
    expect(op.running).toBe(true);
    expect(op.stderrText).toEqual([]);
  }, 120_000);
});
