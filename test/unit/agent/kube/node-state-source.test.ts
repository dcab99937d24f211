import { afterEach, describe, expect, it } from 'vitest';
import { KubeApiError, KubeUnreachableError, WatchDecodeError, decodeWatchLine } from '../../../../src/agent/kube/api.js';
import { ApiserverHealth } from '../../../../src/agent/kube/apiserver-health.js';
import { NodeStateSource, VTEP_NODE_STATES_PATH, type ObservedNodeState } from '../../../../src/agent/kube/node-state-source.js';
import { silentLogger } from '../../../../src/util/log.js';
import { FakeTransport } from './fake-transport.js';
import { SpecTarget } from '../../../harness/spec-target.js';

function nodeState(generation: number, rv: string, weight = 1, status?: unknown): Record<string, unknown> {
  return {
    apiVersion: 'evpn.ecmp.dev/v1alpha1',
    kind: 'VtepNodeState',
    metadata: { name: 'node-a', generation, resourceVersion: rv, uid: 'u1', managedFields: [{ manager: 'evpn-ecmp-operator' }] },
    spec: {
      fabric: 'default',
      localVtepIP: '192.0.2.1',
      vxlan: { port: 4789, deviceTemplate: 'evpn-{vni}' },
      ovs: { bridge: 'br-evpn', tunnelPort: 'evpn-vxlan' },
      kernel: {},
      groups: [{ name: 'web', generation, vni: 100, vteps: [{ ip: '198.51.100.2', weight }], macs: ['02:00:00:00:00:aa'] }],
    },
    ...(status === undefined ? {} : { status }),
  };
}


const until = async (what: string, check: () => boolean, timeoutMs = 2000) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
};

describe('NodeStateSource (this node\'s VtepNodeState: list + watch)', () => {
  let source: NodeStateSource | undefined;
  afterEach(async () => {
    await source?.stop();
    source = undefined;
  });

  function setup(listAnswers: Array<{ rv: string; items: unknown[] } | Error>, retryMinMs = 1) {
    const api = new FakeTransport();
    const target = new SpecTarget();
    const observed: ObservedNodeState[] = [];
    const health = new ApiserverHealth(silentLogger);
    let lists = 0;
    api.handler = (req) => {
      expect(req.method).toBe('GET');
      expect(req.path).toBe(VTEP_NODE_STATES_PATH);
      expect(req.options.query).toEqual({ fieldSelector: 'metadata.name=node-a' });
      const answer = listAnswers[Math.min(lists++, listAnswers.length - 1)]!;
      if (answer instanceof Error) throw answer;
      return { metadata: { resourceVersion: answer.rv }, items: answer.items };
    };
    source = new NodeStateSource({ transport: api, node: 'node-a', target, log: silentLogger, health, onObserved: (o) => observed.push(o), retryMinMs, retryMaxMs: retryMinMs * 4 });
    source.start();
    return { api, target, observed, health, lists: () => lists };
  }

  it('applies the listed object, then watches from the list\'s resourceVersion by name, with bookmarks', async () => {
    const { api, target, observed } = setup([{ rv: '10', items: [nodeState(1, '9')] }]);
    const w = await api.watchNumber(0);
    expect(target.specs).toHaveLength(1);
    expect(target.specs[0]!.generation).toBe(1);
    expect(target.specs[0]!.groups[0]!.macs).toEqual(['02:00:00:00:00:aa']);
    expect(w.options.query).toMatchObject({ fieldSelector: 'metadata.name=node-a', resourceVersion: '10', allowWatchBookmarks: 'true' });
    const timeout = Number(w.options.query?.timeoutSeconds);
    expect(timeout).toBeGreaterThanOrEqual(300);
    expect(timeout).toBeLessThan(600);
    expect(w.options.idleTimeoutMs).toBe((timeout + 30) * 1000);
    expect(observed).toEqual([{ exists: true, resourceVersion: '9', status: undefined }]);
  });

  it('a status-only change (our own write coming back) is not news for the engine; a new generation is', async () => {
    const { api, target, observed } = setup([{ rv: '10', items: [nodeState(1, '9')] }]);
    const w = await api.watchNumber(0);
    w.push({ type: 'MODIFIED', object: nodeState(1, '11', 1, { observedGeneration: 1 }) });
    expect(target.specs).toHaveLength(1);
    expect(observed.at(-1)).toEqual({ exists: true, resourceVersion: '11', status: { observedGeneration: 1 } });
    w.push({ type: 'MODIFIED', object: nodeState(2, '12', 4) });
    expect(target.specs).toHaveLength(2);
    expect(target.specs[1]!.groups[0]!.vteps).toEqual([{ vtep: '198.51.100.2', weight: 4 }]);
  });

  it('resumes a dropped watch from the last resourceVersion seen (bookmarks included) without listing again', async () => {
    const { api, health, lists } = setup([{ rv: '10', items: [nodeState(1, '9')] }]);
    const w0 = await api.watchNumber(0);
    w0.push({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '15' } } });
    w0.fail(new KubeUnreachableError('GET', VTEP_NODE_STATES_PATH, new Error('ECONNRESET')));
    const w1 = await api.watchNumber(1);
    expect(health.reachable).toBe(false);
    expect(w1.options.query?.resourceVersion).toBe('15');
    w1.push({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '16' } } });
    expect(health.reachable).toBe(true);
    // A clean end (the server's timeoutSeconds) resumes too.
    w1.end();
    const w2 = await api.watchNumber(2);
    expect(w2.options.query?.resourceVersion).toBe('16');
    expect(lists()).toBe(1);
  });

  it.each([
    ['an ERROR event with code 410', (w: import('./fake-transport.js').OpenWatch) => w.push({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' } })],
    ['an HTTP 410 answer', (w: import('./fake-transport.js').OpenWatch) => w.fail(new KubeApiError('GET', VTEP_NODE_STATES_PATH, 410, 'Gone', 'too old'))],
  ])('relists after %s and watches from the new list', async (_what, gone) => {
    const { api, target, lists } = setup([
      { rv: '10', items: [nodeState(1, '9')] },
      { rv: '50', items: [nodeState(3, '49', 7)] },
    ]);
    gone(await api.watchNumber(0));
    const w1 = await api.watchNumber(1);
    expect(lists()).toBe(2);
    expect(w1.options.query?.resourceVersion).toBe('50');
    expect(target.specs.map((s) => s.generation)).toEqual([1, 3]);
  });

  it('keeps retrying with backoff while the apiserver is down at start, never throwing', async () => {
    const down = new KubeUnreachableError('GET', VTEP_NODE_STATES_PATH, new Error('connect ECONNREFUSED'));
    const { api, target, health, lists } = setup([down, down, down, { rv: '10', items: [nodeState(1, '9')] }]);
    await api.watchNumber(0);
    expect(lists()).toBe(4);
    expect(health.reachable).toBe(true);
    expect(target.specs).toHaveLength(1);
  });

  it('streams that end as soon as they open are resumed with backoff, not in a tight loop', async () => {
    const { api } = setup([{ rv: '10', items: [nodeState(1, '9')] }], 40);
    const started = Date.now();
    for (let i = 0; i < 3; i++) (await api.watchNumber(i)).end();
    await api.watchNumber(3);
    // 40 + 80 + 160 ms of backoff between the four watches.
    expect(Date.now() - started).toBeGreaterThanOrEqual(270);
    expect(api.watches.slice(1).map((w) => w.options.query?.resourceVersion)).toEqual(['10', '10', '10']);
  });

  it('an unexpected answer (403) starts over from a list', async () => {
    const { api, lists } = setup([{ rv: '10', items: [nodeState(1, '9')] }]);
    api.watchRefusal = () => (api.watches.length === 1 ? new KubeApiError('GET', VTEP_NODE_STATES_PATH, 403, 'Forbidden', 'no') : undefined);
    await api.watchNumber(1);
    expect(lists()).toBe(2);
  });

  it('a spec that fails validation is refused with the field\'s path; the previous one stays', async () => {
    const { api, target } = setup([{ rv: '10', items: [nodeState(1, '9')] }]);
    const w = await api.watchNumber(0);
    const bad = nodeState(2, '11', 300);
    w.push({ type: 'MODIFIED', object: bad });
    expect(target.specs).toHaveLength(1);
    expect(target.rejections).toHaveLength(1);
    expect(target.rejections[0]).toMatch(/generation 2/);
    expect(target.rejections[0]).toMatch(/spec\.groups\[0\]\.vteps\[0\]\.weight/);
  });

  it('a status another writer left behind does not make a good spec fail', async () => {
    const { api, target } = setup([{ rv: '10', items: [nodeState(1, '9', 1, { bogus: true, groups: 'not a list' })] }]);
    await api.watchNumber(0);
    expect(target.rejections).toEqual([]);
    expect(target.specs).toHaveLength(1);
  });

  it('no object yet: waits; ADDED applies it; DELETED withdraws the groups and keeps the fabric settings', async () => {
    const { api, target, observed } = setup([{ rv: '10', items: [] }]);
    const w = await api.watchNumber(0);
    expect(target.specs).toEqual([]);
    expect(observed).toEqual([{ exists: false }]);
    w.push({ type: 'ADDED', object: nodeState(1, '11') });
    expect(target.specs).toHaveLength(1);
    w.push({ type: 'DELETED', object: nodeState(1, '12') });
    expect(target.specs).toHaveLength(2);
    expect(target.specs[1]!.groups).toEqual([]);
    expect(target.specs[1]!.fabric).toEqual(target.specs[0]!.fabric);
    expect(observed.at(-1)).toEqual({ exists: false });
    // Re-created by the operator: applied again.
    w.push({ type: 'ADDED', object: nodeState(1, '13') });
    expect(target.specs).toHaveLength(3);
    expect(target.specs[2]!.groups).toHaveLength(1);
  });

  it('a malformed watch line fails the stream (then relists) instead of crashing', async () => {
    const { api, lists } = setup([{ rv: '10', items: [nodeState(1, '9')] }]);
    const w = await api.watchNumber(0);
    w.fail(new WatchDecodeError(3, 'type', 'unknown event type "NOPE"'));
    await api.watchNumber(1);
    await until('relist', () => lists() === 2);
  });
});

describe('decodeWatchLine', () => {
  it('decodes an event', () => {
    expect(decodeWatchLine('{"type":"ADDED","object":{"metadata":{"name":"a"}}}', 1)).toEqual({ type: 'ADDED', object: { metadata: { name: 'a' } } });
  });
  it.each([
    ['{"type":"ADDED"', 4, '(line)', /not JSON/],
    ['[1,2]', 2, '(line)', /not an object/],
    ['{"type":"NOPE","object":{}}', 7, 'type', /unknown event type "NOPE"/],
    ['{"type":"MODIFIED","object":null}', 9, 'object', /missing/],
  ])('rejects %s with its line and field', (text, line, field, message) => {
    let err: unknown;
    try {
      decodeWatchLine(text, line);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(WatchDecodeError);
    expect(err).toMatchObject({ line, field });
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).toContain(`line ${line}`);
  });
});
