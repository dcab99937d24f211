/**
 * KubeHttpTransport against an in-process HTTP server on loopback that
 * plays the apiserver's wire behaviour (chunked watch streams, metav1.Status
 * errors) and its failures (streams cut mid-way, silence, garbage).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KubeApiError, KubeHttpTransport, KubeUnreachableError, WatchDecodeError, type WatchEvent } from '../../../../src/agent/kube/api.js';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

describe('KubeHttpTransport', () => {
  let server: Server;
  let handler: Handler;
  let transport: KubeHttpTransport;
  let port = 0;

  function configFor(p: number): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: `http://127.0.0.1:${p}`, skipTLSVerify: true }],
      users: [{ name: 'u', token: 'secret-token' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    return kc;
  }

  beforeEach(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => handler(req, body, res));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as AddressInfo).port;
    transport = new KubeHttpTransport(configFor(port));
  });
  afterEach(async () => {
    transport.close();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('sends the body, content type, query and bearer token; returns the parsed answer', async () => {
    let seen: { method?: string; url?: string; type?: string; auth?: string; body?: string } = {};
    handler = (req, body, res) => {
      seen = { method: req.method, url: req.url, type: req.headers['content-type'], auth: req.headers.authorization, body };
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"metadata":{"resourceVersion":"7"}}');
    };
    const out = await transport.request<{ metadata: { resourceVersion: string } }>('PATCH', '/apis/x/v1/things/a/status', {
      body: [{ op: 'add', path: '/status', value: { n: 1 } }],
      contentType: 'application/json-patch+json',
      query: { fieldManager: 'evpn-ecmp-agent', skipped: undefined },
    });
    expect(out.metadata.resourceVersion).toBe('7');
    expect(seen).toEqual({
      method: 'PATCH',
      url: '/apis/x/v1/things/a/status?fieldManager=evpn-ecmp-agent',
      type: 'application/json-patch+json',
      auth: 'Bearer secret-token',
      body: '[{"op":"add","path":"/status","value":{"n":1}}]',
    });
  });

  it('a metav1.Status error becomes a KubeApiError with its code, reason and message', async () => {
    handler = (_req, _body, res) => {
      res.writeHead(422, { 'Content-Type': 'application/json' }).end(JSON.stringify({ kind: 'Status', status: 'Failure', reason: 'Invalid', message: 'status.learned.ecmp: Invalid value: -1', code: 422 }));
    };
    const err = await transport.request('PATCH', '/p', { body: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect(err).toMatchObject({ status: 422, reason: 'Invalid', detail: 'status.learned.ecmp: Invalid value: -1' });
  });

  it('a 2xx answer that is not JSON is an InvalidResponse error, not a crash', async () => {
    handler = (_req, _body, res) => res.writeHead(200).end('<html>proxy</html>');
    await expect(transport.request('GET', '/p')).rejects.toMatchObject({ name: 'KubeApiError', reason: 'InvalidResponse' });
  });

  it('connection refused and silence are KubeUnreachableError (an outage)', async () => {
    const closed = new KubeHttpTransport(configFor(1));
    await expect(closed.request('GET', '/p')).rejects.toBeInstanceOf(KubeUnreachableError);
    closed.close();
    handler = () => undefined; // never answers
    await expect(transport.request('GET', '/p', { timeoutMs: 200 })).rejects.toBeInstanceOf(KubeUnreachableError);
  });

  it('streams watch events split anywhere across chunks; a clean end resolves', async () => {
    let url = '';
    handler = (req, _body, res) => {
      url = req.url ?? '';
      res.writeHead(200, { 'Content-Type': 'application/json' });
      const text = [
        { type: 'ADDED', object: { metadata: { name: 'a', resourceVersion: '1' } } },
        { type: 'BOOKMARK', object: { metadata: { resourceVersion: '2' } } },
        { type: 'MODIFIED', object: { metadata: { name: 'a', resourceVersion: '3' } } },
      ].map((e) => JSON.stringify(e)).join('\n') + '\n';
      // Three-byte chunks: lines never arrive whole.
      let i = 0;
      const t = setInterval(() => {
        if (i >= text.length) {
          clearInterval(t);
          res.end();
          return;
        }
        res.write(text.slice(i, i + 3));
        i += 3;
      }, 0);
    };
    const events: WatchEvent[] = [];
    await transport.watch('/apis/x/v1/things', { query: { fieldSelector: 'metadata.name=a', resourceVersion: '0' }, idleTimeoutMs: 5000 }, (e) => events.push(e));
    expect(events.map((e) => e.type)).toEqual(['ADDED', 'BOOKMARK', 'MODIFIED']);
    expect(url).toBe('/apis/x/v1/things?fieldSelector=metadata.name%3Da&resourceVersion=0&watch=true');
  });

  it('a stream cut mid-way rejects as unreachable after delivering what arrived', async () => {
    handler = (req, _body, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write(JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'a' } } }) + '\n{"type":"MODI');
      setTimeout(() => req.socket.destroy(), 20);
    };
    const events: WatchEvent[] = [];
    const err = await transport.watch('/w', { idleTimeoutMs: 5000 }, (e) => events.push(e)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeUnreachableError);
    expect(events).toHaveLength(1);
  });

  it('a silent stream is abandoned after the idle timeout', async () => {
    handler = (_req, _body, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('\n');
    };
    const started = Date.now();
    await expect(transport.watch('/w', { idleTimeoutMs: 300 }, () => undefined)).rejects.toBeInstanceOf(KubeUnreachableError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it('410 Gone on the watch request is a KubeApiError with status 410', async () => {
    handler = (_req, _body, res) => {
      res.writeHead(410, { 'Content-Type': 'application/json' }).end(JSON.stringify({ kind: 'Status', reason: 'Expired', message: 'too old resource version: 5 (90)', code: 410 }));
    };
    await expect(transport.watch('/w', { idleTimeoutMs: 5000 }, () => undefined)).rejects.toMatchObject({ status: 410, reason: 'Expired' });
  });

  it('a garbage line fails the stream with WatchDecodeError naming the line', async () => {
    handler = (_req, _body, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write(JSON.stringify({ type: 'ADDED', object: {} }) + '\n' + '{"type":"ADDED","object":[]}\n');
    };
    const err = await transport.watch('/w', { idleTimeoutMs: 5000 }, () => undefined).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WatchDecodeError);
    expect(err).toMatchObject({ line: 2, field: 'object' });
  });

  it('aborting the signal ends the watch quietly', async () => {
    handler = (_req, _body, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('\n');
    };
    const abort = new AbortController();
    const watching = transport.watch('/w', { idleTimeoutMs: 5000, signal: abort.signal }, () => undefined);
    setTimeout(() => abort.abort(), 50);
    await expect(watching).resolves.toBeUndefined();
  });
});
