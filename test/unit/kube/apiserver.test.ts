/**
 * The shared apiserver request helper (src/kube/apiserver.ts) and the
 * operator's KubeClient on top of it, against an in-process HTTP server on
 * loopback. The agent's transport on the same helper is covered by
 * test/unit/agent/kube/http-transport.test.ts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { apiError, ApiserverConnection, KubeApiError, parseJsonBody, readResponse } from '../../../src/kube/apiserver.js';
import { KubeClient, KubeApiError as OperatorKubeApiError } from '../../../src/operator/kube/client.js';
import { KubeApiError as AgentKubeApiError } from '../../../src/agent/kube/api.js';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

function configFor(server: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server, skipTLSVerify: true }],
    users: [{ name: 'u', token: 'secret-token' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

describe('apiserver requests shared by the operator and the agent', () => {
  let server: Server;
  let handler: Handler;
  let base = '';
  const sockets = new Set<unknown>();

  beforeEach(async () => {
    sockets.clear();
    server = createServer((req, res) => {
      sockets.add(req.socket);
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => handler(req, body, res));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('joins the path under the server URL\'s own path, applies the token, and reuses one keep-alive connection', async () => {
    const seen: Array<{ url?: string; auth?: string; type?: string; length?: string; body: string }> = [];
    handler = (req, body, res) => {
      seen.push({ url: req.url, auth: req.headers.authorization, type: req.headers['content-type'], length: req.headers['content-length'], body });
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    };
    const conn = new ApiserverConnection(configFor(`${base}/proxy/`));
    try {
      const body = '{"a":"é"}';
      const first = await readResponse(await conn.open('POST', '/api/v1/things', { body, query: { dryRun: 'All', none: undefined }, timeoutMs: 5000 }), body);
      const second = await readResponse(await conn.open('GET', '/api/v1/things/a', { timeoutMs: 5000 }), undefined);
      expect([first, second]).toEqual([{ statusCode: 200, text: '{}' }, { statusCode: 200, text: '{}' }]);
      expect(seen).toEqual([
        { url: '/proxy/api/v1/things?dryRun=All', auth: 'Bearer secret-token', type: 'application/json', length: String(Buffer.byteLength(body)), body },
        { url: '/proxy/api/v1/things/a', auth: 'Bearer secret-token', type: undefined, length: undefined, body: '' },
      ]);
      expect(sockets.size).toBe(1);
    } finally {
      conn.close();
    }
  });

  it('names a silent apiserver with the caller\'s timeout error, or "no answer" by default', async () => {
    handler = () => undefined;
    const conn = new ApiserverConnection(configFor(base));
    try {
      await expect(readResponse(await conn.open('GET', '/x', { timeoutMs: 100 }), undefined)).rejects.toThrow('no answer for 100 ms');
      await expect(readResponse(await conn.open('GET', '/x', { timeoutMs: 100, timeoutError: () => new Error('GET /x: timed out') }), undefined)).rejects.toThrow('GET /x: timed out');
    } finally {
      conn.close();
    }
  });

  it('reads reason and message from a metav1.Status, and falls back to the HTTP status text and body', () => {
    expect(apiError('GET', '/x', 404, JSON.stringify({ kind: 'Status', reason: 'NotFound', message: 'things "a" not found' }))).toMatchObject({ status: 404, reason: 'NotFound', detail: 'things "a" not found' });
    const proxy = apiError('GET', '/x', 502, '<html>bad gateway</html>');
    expect(proxy).toMatchObject({ reason: 'Bad Gateway', detail: '<html>bad gateway</html>' });
    expect(proxy.message).toBe('GET /x: 502 Bad Gateway: <html>bad gateway</html>');
    expect(apiError('GET', '/x', 500, '{"reason":""}').reason).toBe('Internal Server Error');
    expect([parseJsonBody(''), parseJsonBody('{'), parseJsonBody('[1]')]).toEqual([undefined, undefined, [1]]);
    // One error type for both users: a catch in shared code sees either side's errors.
    expect(OperatorKubeApiError).toBe(KubeApiError);
    expect(AgentKubeApiError).toBe(KubeApiError);
  });

  it('the operator client: observes every request with its status, accepts an empty 2xx, refuses a non-JSON one', async () => {
    const observed: Array<[string, string, number]> = [];
    const client = new KubeClient(configFor(base), (verb, resource, status) => observed.push([verb, resource, status]));
    try {
      handler = (req, _body, res) => {
        if (req.url === '/empty') res.writeHead(200).end();
        else if (req.url === '/html') res.writeHead(200).end('<html/>');
        else res.writeHead(409, { 'Content-Type': 'application/json' }).end(JSON.stringify({ reason: 'AlreadyExists', message: 'leases "l" already exists' }));
      };
      expect(await client.request('DELETE', '/empty', { verb: 'delete', resource: 'things' })).toBeUndefined();
      await expect(client.request('GET', '/html', { verb: 'get', resource: 'things' })).rejects.toMatchObject({ reason: 'InvalidResponse' });
      await expect(client.request('POST', '/conflict', { verb: 'create', resource: 'leases', body: {} })).rejects.toMatchObject({ status: 409, reason: 'AlreadyExists' });
      expect(observed).toEqual([
        ['delete', 'things', 200],
        ['get', 'things', 200],
        ['create', 'leases', 409],
      ]);
    } finally {
      client.close();
    }
  });
});
