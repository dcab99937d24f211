/**
 * A byte relay between a TCP port and a unix socket — how an agent inside a
 * lab node's network namespace reaches the apiserver without any link
 * between that namespace and the machine's. A unix socket is a file, so it
 * is reachable from every namespace: the lab runs one relay in the host
 * namespace (unix socket → apiserver's loopback port) and one per node
 * inside the node's namespace (the same loopback port there → the unix
 * socket). TLS passes through untouched: the agent still verifies the
 * apiserver's certificate for 127.0.0.1.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { rmSync } from 'node:fs';

export type Endpoint = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

/** `unix:/path` or `tcp:HOST:PORT`. */
export function parseEndpoint(text: string): Endpoint {
  if (text.startsWith('unix:') && text.length > 5) return { kind: 'unix', path: text.slice(5) };
  const m = /^tcp:(.+):(\d{1,5})$/.exec(text);
  const port = Number(m?.[2]);
  if (m?.[1] && port >= 1 && port <= 65535) return { kind: 'tcp', host: m[1], port };
  throw new Error(`"${text}" is not unix:PATH or tcp:HOST:PORT`);
}

export function endpointText(e: Endpoint): string {
  return e.kind === 'unix' ? `unix:${e.path}` : `tcp:${e.host}:${e.port}`;
}

function connect(e: Endpoint): Socket {
  return e.kind === 'unix' ? createConnection(e.path) : createConnection(e.port, e.host);
}

/** Listens on `listen` and pipes every connection to a fresh one to `target`. */
export async function startRelay(listen: Endpoint, target: Endpoint): Promise<Server> {
  const server = createServer((client) => {
    const upstream = connect(target);
    // Either side failing or closing ends both: no half-open pairs pile up.
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  if (listen.kind === 'unix') rmSync(listen.path, { force: true }); // a stale socket file of a dead relay
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if (listen.kind === 'unix') server.listen(listen.path, resolve);
    else server.listen(listen.port, listen.host, resolve);
  });
  return server;
}
