/** Where an OpenFlow (or OVSDB) peer listens: `unix:PATH` or `tcp:HOST:PORT` (OVS's own spelling). */
export type StreamTarget = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

export function parseTarget(text: string): StreamTarget {
  if (text.startsWith('unix:')) return { kind: 'unix', path: text.slice(5) };
  if (text.startsWith('/')) return { kind: 'unix', path: text };
  const tcp = /^tcp:(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(text);
  if (tcp) {
    const port = Number(tcp[3]);
    if (port > 0 && port < 65536) return { kind: 'tcp', host: (tcp[1] ?? tcp[2])!, port };
  }
  throw new Error(`bad connection target "${text}": expected unix:PATH or tcp:HOST:PORT`);
}

export function formatTarget(t: StreamTarget): string {
  return t.kind === 'unix' ? `unix:${t.path}` : `tcp:${t.host.includes(':') ? `[${t.host}]` : t.host}:${t.port}`;
}
