import { afterEach, describe, expect, it } from 'vitest';
import { Counter, Registry } from 'prom-client';
import { AddressError, HealthChecks, HttpEndpoint, loopbackAddresses, parseListenAddress, parseListenAddresses, serveObservability } from '../../../src/util/http.js';

describe('parseListenAddress', () => {
  it.each([
    // Every address of both families, not 0.0.0.0 only (an IPv6-only node's probes would fail).
    [':8080', { host: '', port: 8080 }],
    ['127.0.0.1:9090', { host: '127.0.0.1', port: 9090 }],
    ['[::1]:0', { host: '::1', port: 0 }],
    ['localhost:1', { host: 'localhost', port: 1 }],
    ['0', undefined],
    ['', undefined],
  ])('%s', (value, expected) => {
    expect(parseListenAddress(value)).toEqual(expected);
  });

  it.each(['8080', 'host:', 'a:b', '1.2.3.4:70000', '::1:80'])('rejects %s naming the flag', (value) => {
    expect(() => parseListenAddress(value, 'metrics-addr')).toThrow(AddressError);
    expect(() => parseListenAddress(value, 'metrics-addr')).toThrow(/^--metrics-addr: invalid listen address/);
  });
});

describe('parseListenAddresses', () => {
  it('reads a comma-separated list; 0 and empty serve nothing', () => {
    expect(parseListenAddresses('127.0.0.1:8081,[::1]:8081')).toEqual([{ host: '127.0.0.1', port: 8081 }, { host: '::1', port: 8081 }]);
    expect(parseListenAddresses(loopbackAddresses(9441))).toEqual([{ host: '127.0.0.1', port: 9441 }, { host: '::1', port: 9441 }]);
    expect(parseListenAddresses('0')).toEqual([]);
    expect(parseListenAddresses('')).toEqual([]);
  });

  it.each(['127.0.0.1:1,', '127.0.0.1:1,0', 'a:b,127.0.0.1:1'])('rejects %s naming the flag', (value) => {
    expect(() => parseListenAddresses(value, 'health-addr')).toThrow(/^--health-addr: invalid listen address/);
  });
});

describe('health and metrics endpoints', () => {
  const open: HttpEndpoint[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((e) => e.close()));
  });

  it('serves /healthz, /readyz with reasons, /metrics, and 404/405', async () => {
    let synced: true | string = 'first sync not done';
    const health = new HealthChecks().addLiveness('ping', () => true).addReadiness('synced', () => synced);
    const registry = new Registry();
    new Counter({ name: 'test_things_total', help: 'things', registers: [registry] }).inc(3);
    const endpoints = await serveObservability({ metricsAddr: '127.0.0.1:0', healthAddr: '127.0.0.1:0', health, registry });
    open.push(...endpoints);
    expect(endpoints).toHaveLength(2);
    const [metrics, probes] = endpoints as [HttpEndpoint, HttpEndpoint];

    const live = await fetch(probes.url('/healthz'));
    expect([live.status, await live.text()]).toEqual([200, 'ok\n']);
    const notReady = await fetch(probes.url('/readyz'));
    expect(notReady.status).toBe(503);
    expect(await notReady.text()).toContain('[-]synced failed: first sync not done');
    synced = true;
    const ready = await fetch(probes.url('/readyz?verbose'));
    expect(ready.status).toBe(200);
    expect(await ready.text()).toContain('[+]synced ok');

    const scrape = await fetch(metrics.url('/metrics'));
    expect(scrape.headers.get('content-type')).toContain('text/plain');
    expect(await scrape.text()).toContain('test_things_total 3');
    expect((await fetch(probes.url('/metrics'))).status).toBe(404);
    expect((await fetch(probes.url('/healthz'), { method: 'POST' })).status).toBe(405);
  });

  it('serves extra routes on the health address, method-qualified ones only for their method', async () => {
    let recomputes = 0;
    const endpoints = await serveObservability({
      metricsAddr: '0',
      healthAddr: '127.0.0.1:0',
      health: new HealthChecks(),
      registry: new Registry(),
      healthExtraRoutes: {
        '/debug/engine': () => ({ status: 200, contentType: 'application/json', body: '{"nodes":3}' }),
        'POST /debug/recompute': () => ({ status: 200, contentType: 'text/plain', body: `recompute ${++recomputes}` }),
        '/debug/broken': () => {
          throw new Error('boom');
        },
      },
    });
    open.push(...endpoints);
    const e = endpoints[0]!;
    expect(await (await fetch(e.url('/debug/engine'))).json()).toEqual({ nodes: 3 });
    expect((await fetch(e.url('/debug/recompute'))).status).toBe(405); // a GET must not trigger it
    const post = await fetch(e.url('/debug/recompute'), { method: 'POST' });
    expect([post.status, await post.text()]).toEqual([200, 'recompute 1']);
    expect((await fetch(e.url('/debug/engine'), { method: 'POST' })).status).toBe(405);
    expect((await fetch(e.url('/debug/broken'))).status).toBe(500);
    expect((await fetch(e.url('/readyz'))).status).toBe(200);
    expect((await fetch(e.url('/debug/nothing'))).status).toBe(404);
  });

  it('a throwing check reports its message', async () => {
    const health = new HealthChecks().addLiveness('leader', () => {
      throw new Error('lease lost');
    });
    const endpoints = await serveObservability({ metricsAddr: '0', healthAddr: '127.0.0.1:0', health, registry: new Registry() });
    open.push(...endpoints);
    expect(endpoints).toHaveLength(1);
    const res = await fetch(endpoints[0]!.url('/healthz'));
    expect(res.status).toBe(503);
    expect(await res.text()).toContain('[-]leader failed: lease lost');
  });

  it('shares one server when both flags name the same address', async () => {
    const first = await HttpEndpoint.listen({ host: '127.0.0.1', port: 0 }, {});
    const port = first.address.port;
    await first.close();
    const endpoints = await serveObservability({ metricsAddr: `127.0.0.1:${port}`, healthAddr: `127.0.0.1:${port}`, health: new HealthChecks(), registry: new Registry() });
    open.push(...endpoints);
    expect(endpoints).toHaveLength(1);
    expect((await fetch(endpoints[0]!.url('/metrics'))).status).toBe(200);
    expect((await fetch(endpoints[0]!.url('/readyz'))).status).toBe(200);
  });

  it('serves on the loopback of both families (the agent default), and `:PORT` on IPv4 and IPv6 alike', async () => {
    const probe = await HttpEndpoint.listen({ host: '127.0.0.1', port: 0 }, {});
    const port = probe.address.port;
    await probe.close();
    const loopback = await serveObservability({ metricsAddr: '0', healthAddr: loopbackAddresses(port), health: new HealthChecks(), registry: new Registry() });
    open.push(...loopback);
    expect(loopback.map((e) => e.address)).toEqual([{ host: '127.0.0.1', port }, { host: '::1', port }]);
    for (const url of [`http://127.0.0.1:${port}/healthz`, `http://[::1]:${port}/healthz`]) expect((await fetch(url)).status).toBe(200);

    const any = await serveObservability({ metricsAddr: ':0', healthAddr: '0', health: new HealthChecks(), registry: new Registry() });
    open.push(...any);
    expect(any[0]!.address.host).toBe('::');
    for (const host of ['127.0.0.1', '[::1]']) expect((await fetch(`http://${host}:${any[0]!.address.port}/metrics`)).status).toBe(200);
  });

  it('fails to listen on an address that is not the host\'s, even in a list', async () => {
    await expect(
      serveObservability({ metricsAddr: '0', healthAddr: '127.0.0.1:0,[2001:db8::7]:0', health: new HealthChecks(), registry: new Registry() }),
    ).rejects.toThrow(/EADDRNOTAVAIL/);
  });

  it('fails to listen on a port in use, closing what it opened', async () => {
    const busy = await HttpEndpoint.listen({ host: '127.0.0.1', port: 0 }, {});
    open.push(busy);
    await expect(
      serveObservability({ metricsAddr: '127.0.0.1:0', healthAddr: `127.0.0.1:${busy.address.port}`, health: new HealthChecks(), registry: new Registry() }),
    ).rejects.toThrow(/EADDRINUSE/);
  });
});
