import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { endpointText, parseEndpoint, startRelay } from '../../../src/lab/relay.js';

describe('relay endpoints', () => {
  it('parses unix:PATH and tcp:HOST:PORT, and prints them back', () => {
    for (const text of ['unix:/tmp/x.sock', 'tcp:127.0.0.1:6443', 'tcp:localhost:1']) expect(endpointText(parseEndpoint(text))).toBe(text);
    expect(parseEndpoint('tcp:127.0.0.1:6443')).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 6443 });
  });

  it('rejects anything else, naming the text', () => {
    for (const bad of ['', 'unix:', 'tcp:127.0.0.1', 'tcp:127.0.0.1:0', 'tcp:127.0.0.1:65536', 'udp:1.2.3.4:5', '/tmp/x.sock']) {
      expect(() => parseEndpoint(bad)).toThrow(`"${bad}" is not unix:PATH or tcp:HOST:PORT`);
    }
  });
});

describe('relay', () => {
  it('carries bytes both ways between a unix socket and a TCP server, and closes both ends together', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'evpn-relay-unit-'));
    // Echoes, and hangs up on "bye".
    const echo = createServer((s) => s.on('data', (d) => (d.toString() === 'bye' ? s.destroy() : s.write(Buffer.concat([Buffer.from('echo:'), d])))));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    const port = (echo.address() as AddressInfo).port;
    const sock = join(dir, 'relay.sock');
    const relay = await startRelay({ kind: 'unix', path: sock }, { kind: 'tcp', host: '127.0.0.1', port });
    try {
      const client = createConnection(sock);
      const reply = await new Promise<string>((resolve, reject) => {
        client.once('error', reject);
        client.once('data', (d) => resolve(d.toString()));
        client.write('hello');
      });
      expect(reply).toBe('echo:hello');
      // The upstream side hanging up closes the client's connection too.
      const closed = new Promise<void>((r) => client.once('close', () => r()));
      client.write('bye');
      await closed;
      expect(client.destroyed).toBe(true);
    } finally {
      relay.close();
      echo.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('closes the client when the target refuses', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'evpn-relay-unit-'));
    const sock = join(dir, 'relay.sock');
    const relay = await startRelay({ kind: 'unix', path: sock }, { kind: 'unix', path: join(dir, 'nobody.sock') });
    try {
      const client = createConnection(sock);
      client.on('error', () => undefined);
      await new Promise<void>((r) => client.once('close', () => r()));
      expect(client.destroyed).toBe(true);
    } finally {
      relay.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
