import { afterEach, describe, expect, it } from 'vitest';
import { KubeApiError, KubeUnreachableError } from '../../../../src/agent/kube/api.js';
import { ApiserverHealth } from '../../../../src/agent/kube/apiserver-health.js';
import { Reflector, type KubeObject } from '../../../../src/agent/kube/reflector.js';
import { silentLogger } from '../../../../src/util/log.js';
import { FakeTransport, type OpenWatch } from './fake-transport.js';

const PATH = '/apis/evpn.ecmp.dev/v1alpha1/vtepgroups';

function group(name: string, rv: string, generation = 1): KubeObject {
  return { metadata: { name, resourceVersion: rv, generation }, spec: { fabric: 'default' } };
}

/** What the sink saw, in order: `replace a,b` or `MODIFIED a@rv`. */
class Sink {
  readonly seen: string[] = [];
  failOn: string | undefined;
  replace(objects: KubeObject[]): void {
    this.seen.push(`replace ${objects.map((o) => (o.metadata as { name: string }).name).join(',')}`);
  }
  event(type: string, obj: KubeObject): void {
    const { name, resourceVersion } = obj.metadata as { name: string; resourceVersion: string };
    if (name === this.failOn) throw new Error(`sink refuses ${name}`);
    this.seen.push(`${type} ${name}@${resourceVersion}`);
  }
}

describe('Reflector (list, then watch from the list\'s version)', () => {
  let reflector: Reflector | undefined;
  afterEach(async () => {
    await reflector?.stop();
    reflector = undefined;
  });

  function setup(lists: Array<{ rv: string; items: KubeObject[] } | Error>, retry = { retryMinMs: 1, retryMaxMs: 4 }) {
    const api = new FakeTransport();
    const sink = new Sink();
    const health = new ApiserverHealth(silentLogger);
    let listCount = 0;
    api.handler = (req) => {
      expect(req).toMatchObject({ method: 'GET', path: PATH, options: { query: { fieldSelector: 'spec.fabric=default' } } });
      const answer = lists[Math.min(listCount++, lists.length - 1)]!;
      if (answer instanceof Error) throw answer;
      return { metadata: { resourceVersion: answer.rv }, items: answer.items };
    };
    let counted = 0;
    reflector = new Reflector({ transport: api, path: PATH, fieldSelector: 'spec.fabric=default', resource: 'vtepgroups', sink, log: silentLogger, health, onList: () => counted++, ...retry });
    reflector.start();
    return { api, sink, health, lists: () => listCount, counted: () => counted };
  }

  it('hands the list over whole, then each event; bookmarks move the version and reach no sink', async () => {
    const { api, sink, counted } = setup([{ rv: '10', items: [group('a', '5'), group('b', '6')] }]);
    const w = await api.watchNumber(0);
    expect(reflector!.synced).toBe(true);
    expect(w.options.query).toMatchObject({ fieldSelector: 'spec.fabric=default', resourceVersion: '10', allowWatchBookmarks: 'true' });
    w.push({ type: 'MODIFIED', object: group('a', '11', 2) });
    w.push({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '20' } } });
    w.push({ type: 'DELETED', object: group('b', '21') });
    expect(sink.seen).toEqual(['replace a,b', 'MODIFIED a@11', 'DELETED b@21']);
    // Resumed from the last version seen (the deletion), with no list in between.
    w.fail(new KubeUnreachableError('GET', PATH, new Error('ECONNRESET')));
    const w1 = await api.watchNumber(1);
    expect(w1.options.query?.resourceVersion).toBe('21');
    w1.push({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '30' } } });
    w1.end();
    expect((await api.watchNumber(2)).options.query?.resourceVersion).toBe('30');
    expect(counted()).toBe(1);
  });

  it.each([
    ['an ERROR event with code 410', (w: OpenWatch) => w.push({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' } })],
    ['an HTTP 410 answer', (w: OpenWatch) => w.fail(new KubeApiError('GET', PATH, 410, 'Gone', 'too old'))],
  ])('on %s lists again and hands the new whole set over, then watches from it', async (_what, gone) => {
    const { api, sink, lists } = setup([
      { rv: '10', items: [group('a', '5')] },
      { rv: '50', items: [group('a', '45', 3), group('c', '49')] },
    ]);
    gone(await api.watchNumber(0));
    const w1 = await api.watchNumber(1);
    expect(lists()).toBe(2);
    expect(w1.options.query?.resourceVersion).toBe('50');
    expect(sink.seen).toEqual(['replace a', 'replace a,c']);
  });

  it('a sink that fails on an event starts over from a list (the event is not lost), after a pause', async () => {
    const { api, sink, lists } = setup([
      { rv: '10', items: [group('a', '5')] },
      { rv: '12', items: [group('a', '5'), group('bad', '11')] },
    ]);
    sink.failOn = 'bad';
    const w0 = await api.watchNumber(0);
    w0.push({ type: 'ADDED', object: group('bad', '11') });
    await api.watchNumber(1);
    expect(lists()).toBe(2);
    expect(sink.seen).toEqual(['replace a', 'replace a,bad']);
  });

  it('an apiserver down at start: retried with backoff, health says so, never thrown', async () => {
    const down = new KubeUnreachableError('GET', PATH, new Error('connect ECONNREFUSED'));
    const { api, health, lists, sink } = setup([down, down, { rv: '10', items: [] }]);
    expect(reflector!.synced).toBe(false);
    await api.watchNumber(0);
    expect(lists()).toBe(3);
    expect(health.reachable).toBe(true);
    expect(sink.seen).toEqual(['replace ']);
  });

  it('stopped: no more events reach the sink, the stream is closed, listed resolves', async () => {
    const { api, sink } = setup([{ rv: '10', items: [] }]);
    const w = await api.watchNumber(0);
    await reflector!.stop();
    await reflector!.listed;
    expect(w.closed).toBe(true);
    expect(sink.seen).toEqual(['replace ']);
  });

  it('stopped just after its watch opened: stop returns at once, not after a backoff', async () => {
    // The aborted watch ends like a stream closed early; that must not be
    // taken for a proxy cutting streams and waited out (it held the agent's
    // shutdown past its SIGKILL grace).
    const { api } = setup([{ rv: '10', items: [] }], { retryMinMs: 60_000, retryMaxMs: 60_000 });
    await api.watchNumber(0);
    const stopped = await Promise.race([reflector!.stop().then(() => 'stopped'), new Promise((r) => setTimeout(() => r('still waiting'), 1_000))]);
    expect(stopped).toBe('stopped');
  });
});
