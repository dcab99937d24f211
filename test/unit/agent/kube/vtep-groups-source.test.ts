/**
 * NodeStateSource with `groupsFrom: VtepGroups`: what reaches the agent
 * from its VtepNodeState, its Node and its fabric's VtepGroups (the real
 * apiserver: test/integration/agent-kube/vtep-groups.test.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { KubeApiError } from '../../../../src/agent/kube/api.js';
import { ApiserverHealth } from '../../../../src/agent/kube/apiserver-health.js';
import { NodeStateSource, NODES_PATH, VTEP_GROUPS_PATH, VTEP_NODE_STATES_PATH } from '../../../../src/agent/kube/node-state-source.js';
import { silentLogger } from '../../../../src/util/log.js';
import { FakeTransport, type OpenWatch, type RecordedRequest } from './fake-transport.js';
import { SpecTarget } from '../../../harness/spec-target.js';

type Obj = Record<string, unknown>;

function nodeState(generation: number, over: { fabric?: string; groupsFrom?: 'Spec' | 'VtepGroups'; groups?: unknown[]; localVtepIP?: string } = {}): Obj {
  return {
    apiVersion: 'evpn.ecmp.dev/v1alpha1',
    kind: 'VtepNodeState',
    metadata: { name: 'node-a', generation, resourceVersion: `vns${generation}` },
    spec: {
      fabric: over.fabric ?? 'default',
      localVtepIP: over.localVtepIP ?? '192.0.2.1',
      ovs: {},
      kernel: {},
      groupsFrom: over.groupsFrom ?? 'VtepGroups',
      ...(over.groups ? { groups: over.groups } : {}),
    },
  };
}

function vtepGroup(name: string, over: { generation?: number; fabric?: string; weight?: unknown; selector?: Obj; deleting?: boolean; macs?: string[]; vni?: unknown } = {}): Obj {
  return {
    apiVersion: 'evpn.ecmp.dev/v1alpha1',
    kind: 'VtepGroup',
    metadata: { name, generation: over.generation ?? 1, resourceVersion: String(Math.random()), ...(over.deleting ? { deletionTimestamp: '2026-12-07T10:00:00Z', finalizers: ['x'] } : {}) },
    spec: {
      fabric: over.fabric ?? 'default',
      vni: over.vni ?? 100,
      vteps: [{ ip: '198.51.100.2', weight: over.weight ?? 1 }],
      macs: over.macs ?? ['02:00:00:00:00:aa'],
      ...(over.selector ? { nodeSelector: over.selector } : {}),
    },
    status: { ready: '0/1' },
  };
}

function node(labels: Record<string, string>): Obj {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-a', labels, resourceVersion: String(Math.random()) } };
}


const turn = () => new Promise<void>((r) => setImmediate(r));

async function until(what: string, check: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe('NodeStateSource, groups read from VtepGroups', () => {
  let source: NodeStateSource | undefined;
  afterEach(async () => {
    await source?.stop();
    source = undefined;
  });

  /** Lists answered per path from `lists` (a function of the request, or held until released). */
  function setup(lists: Record<string, (req: RecordedRequest) => { rv: string; items: Obj[] } | Promise<{ rv: string; items: Obj[] }>>) {
    const api = new FakeTransport();
    const target = new SpecTarget();
    api.handler = (req) => {
      const answer = lists[req.path];
      if (!answer) throw new Error(`unexpected request ${req.method} ${req.path}`);
      return Promise.resolve(answer(req)).then((a) => ({ metadata: { resourceVersion: a.rv }, items: a.items }));
    };
    source = new NodeStateSource({ transport: api, node: 'node-a', target, log: silentLogger, health: new ApiserverHealth(silentLogger), retryMinMs: 1, retryMaxMs: 4 });
    source.start();
    const watchOf = async (path: string, nth = 0): Promise<OpenWatch> => {
      await until(`watch #${nth} of ${path}`, () => api.watches.filter((w) => w.path === path).length > nth);
      return api.watches.filter((w) => w.path === path)[nth]!;
    };
    return { api, target, watchOf };
  }

  it('hands nothing over until the VtepNodeState, the Node and the VtepGroups are all listed; then the node\'s groups with the settings, in one update', async () => {
    let releaseGroups!: () => void;
    const groupsListed = new Promise<void>((r) => (releaseGroups = r));
    const { api, target, watchOf } = setup({
      [VTEP_NODE_STATES_PATH]: () => ({ rv: '1', items: [nodeState(3)] }),
      [NODES_PATH]: (req) => {
        expect(req.options.query).toEqual({ fieldSelector: 'metadata.name=node-a' });
        return { rv: '2', items: [node({ rack: 'r1' })] };
      },
      [VTEP_GROUPS_PATH]: async (req) => {
        expect(req.options.query).toEqual({ fieldSelector: 'spec.fabric=default' });
        await groupsListed;
        return {
          rv: '3',
          items: [vtepGroup('web', { generation: 4 }), vtepGroup('r1-only', { selector: { matchLabels: { rack: 'r1' } } }), vtepGroup('r2-only', { selector: { matchLabels: { rack: 'r2' } } })],
        };
      },
    });
    await watchOf(NODES_PATH);
    await new Promise((r) => setTimeout(r, 30));
    expect(target.updates).toEqual([]);
    expect(target.specs).toEqual([]);
    releaseGroups();
    const w = await watchOf(VTEP_GROUPS_PATH);
    expect(w.options.query).toMatchObject({ fieldSelector: 'spec.fabric=default', resourceVersion: '3', allowWatchBookmarks: 'true' });
    await until('the first update', () => target.updates.length === 1);
    const u = target.updates[0]!;
    expect(u.settings?.generation).toBe(3);
    expect(u.settings?.fabric.name).toBe('default');
    expect(target.last.sort()).toEqual(['+r1-only@1', '+web@4']);
    const web = u.groups!.find((g) => g.name === 'web')!;
    expect(web).toEqual({ name: 'web', generation: 4, vni: 100, vteps: [{ vtep: '198.51.100.2', weight: 1 }], macs: ['02:00:00:00:00:aa'] });
    expect(api.requests.map((r) => r.path).sort()).toEqual([NODES_PATH, VTEP_GROUPS_PATH, VTEP_NODE_STATES_PATH]);
  });

  it('each event costs its group; a burst is one update; status-only writes and other fabrics\' news change nothing', async () => {
    const { target, watchOf } = setup({
      [VTEP_NODE_STATES_PATH]: () => ({ rv: '1', items: [nodeState(1)] }),
      [NODES_PATH]: () => ({ rv: '2', items: [node({})] }),
      [VTEP_GROUPS_PATH]: () => ({ rv: '3', items: [vtepGroup('a'), vtepGroup('b')] }),
    });
    const w = await watchOf(VTEP_GROUPS_PATH);
    await until('the first update', () => target.updates.length === 1);
    w.push({ type: 'MODIFIED', object: vtepGroup('a', { generation: 2, weight: 7 }) });
    await turn();
    expect(target.updates).toHaveLength(2);
    expect(target.last).toEqual(['+a@2']);
    expect(target.updates[1]!.settings).toBeUndefined();
    expect(target.updates[1]!.groups![0]!.vteps).toEqual([{ vtep: '198.51.100.2', weight: 7 }]);
    // The operator writing READY (same generation): dropped unread.
    w.push({ type: 'MODIFIED', object: { ...vtepGroup('a', { generation: 2, weight: 7 }), status: { ready: '1/1' } } });
    await turn();
    expect(target.updates).toHaveLength(2);
    // A burst within one turn: one update.
    for (let i = 0; i < 50; i++) w.push({ type: 'ADDED', object: vtepGroup(`n${i}`) });
    w.push({ type: 'DELETED', object: vtepGroup('b') });
    await turn();
    expect(target.updates).toHaveLength(3);
    expect(target.updates[2]!.groups).toHaveLength(50);
    expect(target.updates[2]!.removed).toEqual(['b']);
    // Being deleted (deletionTimestamp, finalizers still there): withdrawn.
    w.push({ type: 'MODIFIED', object: vtepGroup('n3', { generation: 2, deleting: true }) });
    await turn();
    expect(target.last).toEqual(['-n3']);
  });

  it('a Node label change moves groups on and off the node', async () => {
    const { target, watchOf } = setup({
      [VTEP_NODE_STATES_PATH]: () => ({ rv: '1', items: [nodeState(1)] }),
      [NODES_PATH]: () => ({ rv: '2', items: [node({ rack: 'r1' })] }),
      [VTEP_GROUPS_PATH]: () => ({ rv: '3', items: [vtepGroup('r1', { selector: { matchLabels: { rack: 'r1' } } }), vtepGroup('r2', { selector: { matchExpressions: [{ key: 'rack', operator: 'In', values: ['r2'] }] } })] }),
    });
    const n = await watchOf(NODES_PATH);
    await until('the first update', () => target.updates.length === 1);
    expect(target.last).toEqual(['+r1@1']);
    n.push({ type: 'MODIFIED', object: node({ rack: 'r2' }) });
    await turn();
    expect(target.last.sort()).toEqual(['+r2@1', '-r1']);
    // Same labels, another resourceVersion (the kubelet's status): nothing.
    n.push({ type: 'MODIFIED', object: node({ rack: 'r2' }) });
    await turn();
    expect(target.updates).toHaveLength(2);
  });

  it('a VtepGroup that fails its schema is that group Invalid, naming the field; the others apply', async () => {
    const { target, watchOf } = setup({
      [VTEP_NODE_STATES_PATH]: () => ({ rv: '1', items: [nodeState(1)] }),
      [NODES_PATH]: () => ({ rv: '2', items: [node({})] }),
      [VTEP_GROUPS_PATH]: () => ({ rv: '3', items: [vtepGroup('good'), vtepGroup('bad', { weight: 300, generation: 5 })] }),
    });
    await watchOf(VTEP_GROUPS_PATH);
    await until('the first update', () => target.updates.length === 1);
    expect(target.last.sort()).toEqual(['+bad@5!', '+good@1']);
    const bad = target.updates[0]!.groups!.find((g) => g.name === 'bad')!;
    expect(bad.invalid).toMatch(/^VtepGroup bad \(generation 5\) does not fit the schema: spec\.vteps\[0\]\.weight: must be ≤ 256/);
    // Its VNI and MACs are kept (a restarted agent finds what the kernel holds for it); nothing is written.
    expect(bad).toMatchObject({ vni: 100, vteps: [], macs: ['02:00:00:00:00:aa'] });
  });

  it('a VTEP of another family than the node\'s is that group Invalid (the per-node checks)', async () => {
    const { target, watchOf } = setup({
      [VTEP_NODE_STATES_PATH]: () => ({ rv: '1', items: [nodeState(1, { localVtepIP: '2001:db8::1' })] }),
      [NODES_PATH]: () => ({ rv: '2', items: [node({})] }),
      [VTEP_GROUPS_PATH]: () => ({ rv: '3', items: [vtepGroup('v4')] }),
    });
    await watchOf(VTEP_GROUPS_PATH);
    await until('the first update', () => target.updates.length === 1);
    expect(target.updates[0]!.groups![0]!.invalid).toMatch(/^vteps: VTEPs are IPv4 but the local VTEP 2001:db8::1 is IPv6/);
  });

  it('after 410 Gone the relist hands over only the difference', async () => {
    let lists = 0;
    const { target, watchOf } = setup({
      [VTEP_NODE_STATES_PATH]: () => ({ rv: '1', items: [nodeState(1)] }),
      [NODES_PATH]: () => ({ rv: '2', items: [node({})] }),
      [VTEP_GROUPS_PATH]: () => (++lists === 1
        ? { rv: '3', items: [vtepGroup('same'), vtepGroup('changed'), vtepGroup('gone')] }
        : { rv: '9', items: [vtepGroup('same'), vtepGroup('changed', { generation: 2, weight: 2 }), vtepGroup('new')] }),
    });
    const w = await watchOf(VTEP_GROUPS_PATH);
    await until('the first update', () => target.updates.length === 1);
    w.push({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
    await watchOf(VTEP_GROUPS_PATH, 1);
    await until('the relist update', () => target.updates.length === 2);
    expect(target.last.sort()).toEqual(['+changed@2', '+new@1', '-gone']);
  });

  it('a fabric change reads the new fabric\'s groups; the old ones run until they are listed', async () => {
    let releaseBlue!: () => void;
    const blueListed = new Promise<void>((r) => (releaseBlue = r));
    const { target, watchOf } = setup({
      [VTEP_NODE_STATES_PATH]: () => ({ rv: '1', items: [nodeState(1)] }),
      [NODES_PATH]: () => ({ rv: '2', items: [node({})] }),
      [VTEP_GROUPS_PATH]: async (req) => {
        if (req.options.query?.fieldSelector === 'spec.fabric=default') return { rv: '3', items: [vtepGroup('red'), vtepGroup('both')] };
        expect(req.options.query?.fieldSelector).toBe('spec.fabric=blue');
        await blueListed;
        return { rv: '7', items: [vtepGroup('blue', { fabric: 'blue' }), vtepGroup('both', { fabric: 'blue' })] };
      },
    });
    const vns = await watchOf(VTEP_NODE_STATES_PATH);
    const old = await watchOf(VTEP_GROUPS_PATH);
    await until('the first update', () => target.updates.length === 1);
    vns.push({ type: 'MODIFIED', object: nodeState(2, { fabric: 'blue' }) });
    await new Promise((r) => setTimeout(r, 30));
    expect(old.closed).toBe(true);
    expect(target.updates).toHaveLength(1);
    releaseBlue();
    await until('the new fabric\'s groups', () => target.updates.length === 2);
    expect(target.updates[1]!.settings?.fabric.name).toBe('blue');
    expect(target.last.sort()).toEqual(['+blue@1', '-red']);
  });

  it('switching from listed groups to VtepGroups hands over only what differs (nothing when they agree)', async () => {
    const listed = [{ name: 'web', generation: 1, vni: 100, vteps: [{ ip: '198.51.100.2', weight: 1 }], macs: ['02:00:00:00:00:aa'] }];
    const { target, watchOf } = setup({
      [VTEP_NODE_STATES_PATH]: () => ({ rv: '1', items: [nodeState(1, { groupsFrom: 'Spec', groups: listed })] }),
      [NODES_PATH]: () => ({ rv: '2', items: [node({})] }),
      [VTEP_GROUPS_PATH]: () => ({ rv: '3', items: [vtepGroup('web')] }),
    });
    const vns = await watchOf(VTEP_NODE_STATES_PATH);
    expect(target.specs).toHaveLength(1);
    vns.push({ type: 'MODIFIED', object: nodeState(2) });
    await watchOf(VTEP_GROUPS_PATH);
    await until('the switch', () => target.updates.length === 1);
    expect(target.updates[0]!.settings?.generation).toBe(2);
    expect(target.last).toEqual([]);
  });

  it('the VtepNodeState deleted: every group withdrawn, the watches of Node and VtepGroups stopped', async () => {
    const { target, watchOf } = setup({
      [VTEP_NODE_STATES_PATH]: () => ({ rv: '1', items: [nodeState(1)] }),
      [NODES_PATH]: () => ({ rv: '2', items: [node({})] }),
      [VTEP_GROUPS_PATH]: () => ({ rv: '3', items: [vtepGroup('a'), vtepGroup('b')] }),
    });
    const vns = await watchOf(VTEP_NODE_STATES_PATH);
    const groups = await watchOf(VTEP_GROUPS_PATH);
    const nodes = await watchOf(NODES_PATH);
    await until('the first update', () => target.updates.length === 1);
    vns.push({ type: 'DELETED', object: nodeState(1) });
    expect(target.last.sort()).toEqual(['-a', '-b']);
    expect(target.updates.at(-1)!.settings).toBeUndefined();
    await until('watches closed', () => groups.closed && nodes.closed);
  });

  it('a forbidden VtepGroups list (RBAC not upgraded) holds the handover and is retried until it is answered', async () => {
    let allowed = false;
    const { target, api } = setup({
      [VTEP_NODE_STATES_PATH]: () => ({ rv: '1', items: [nodeState(1)] }),
      [NODES_PATH]: () => ({ rv: '2', items: [node({})] }),
      [VTEP_GROUPS_PATH]: () => {
        if (!allowed) throw new KubeApiError('GET', VTEP_GROUPS_PATH, 403, 'Forbidden', 'cannot list vtepgroups');
        return { rv: '3', items: [vtepGroup('a')] };
      },
    });
    await until('two refused lists', () => api.requests.filter((r) => r.path === VTEP_GROUPS_PATH).length >= 2);
    expect(target.updates).toEqual([]);
    allowed = true;
    await until('the first update', () => target.updates.length === 1);
    expect(target.last).toEqual(['+a@1']);
  });
});
