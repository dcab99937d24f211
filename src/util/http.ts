/**
 * The small HTTP surface every long-running process serves: `/healthz`
 * (liveness: the process is not wedged), `/readyz` (readiness: e.g. the first
 * full sync is done) and `/metrics` (Prometheus). The same path shapes as the
 * Kubernetes components: 200 "ok", or 503 with one `[-]name failed: reason`
 * line per failing check, so `curl` shows why.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { silentLogger, type Logger } from './log.js';

export interface ListenAddress {
  /** An IP address or host name; '' for every address of both families (`:PORT`). */
  host: string;
  port: number;
}

/** A listen address that does not parse; `flag` names the flag it came from. */
export class AddressError extends Error {
  override name = 'AddressError';
  constructor(
    readonly value: string,
    readonly flag: string | undefined,
    reason: string,
  ) {
    super(`${flag ? `--${flag}: ` : ''}invalid listen address "${value}": ${reason}`);
  }
}

/**
 * Parses `host:port`, `:port` (every address, IPv4 and IPv6: Node listens
 * on `::` with IPv4-mapped addresses, or on 0.0.0.0 where the host has no
 * IPv6), `[v6]:port`. Returns undefined for `0` or the empty string, the
 * convention (controller-runtime's `--metrics-bind-address=0`) for "do not
 * serve".
 */
export function parseListenAddress(value: string, flag?: string): ListenAddress | undefined {
  if (value === '' || value === '0') return undefined;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\],]*)):(\d{1,5})$/.exec(value);
  if (!m) throw new AddressError(value, flag, 'expected HOST:PORT, :PORT or [IPv6]:PORT');
  const port = Number(m[3]);
  if (port > 65535) throw new AddressError(value, flag, 'port out of range 0-65535');
  return { host: m[1] ?? m[2] ?? '', port };
}

/**
 * A comma-separated list of listen addresses, e.g. `127.0.0.1:8081,[::1]:8081`
 * (loopback of both families: two sockets, since `::1` does not carry IPv4);
 * `0` or empty serves nothing.
 */
export function parseListenAddresses(value: string, flag?: string): ListenAddress[] {
  if (value === '' || value === '0') return [];
  return value.split(',').map((part) => {
    const address = parseListenAddress(part.trim(), flag);
    if (!address) throw new AddressError(value, flag, '"0" disables serving and cannot be listed with addresses');
    return address;
  });
}

/** The loopback addresses of both families on `port`: where a host-network process serves what only the node may reach. */
export function loopbackAddresses(port: number): string {
  return `127.0.0.1:${port},[::1]:${port}`;
}

export type CheckResult = true | string;
/** A health check: true when healthy, otherwise a one-line reason (or a thrown error). */
export type Check = () => CheckResult | Promise<CheckResult>;

/** Named liveness and readiness checks. Readiness implies liveness, as in Kubernetes. */
export class HealthChecks {
  private readonly liveness = new Map<string, Check>();
  private readonly readiness = new Map<string, Check>();

  addLiveness(name: string, check: Check): this {
    this.liveness.set(name, check);
    return this;
  }

  addReadiness(name: string, check: Check): this {
    this.readiness.set(name, check);
    return this;
  }

  async live(): Promise<CheckReport> {
    return evaluate(this.liveness);
  }

  async ready(): Promise<CheckReport> {
    return evaluate(new Map([...this.liveness, ...this.readiness]));
  }
}

export interface CheckReport {
  ok: boolean;
  lines: string[];
}

async function evaluate(checks: Map<string, Check>): Promise<CheckReport> {
  const lines: string[] = [];
  let ok = true;
  for (const [name, check] of checks) {
    let result: CheckResult;
    try {
      result = await check();
    } catch (err) {
      result = err instanceof Error ? err.message : String(err);
    }
    if (result === true) {
      lines.push(`[+]${name} ok`);
    } else {
      ok = false;
      lines.push(`[-]${name} failed: ${result}`);
    }
  }
  return { ok, lines };
}

export interface HttpResponse {
  status: number;
  contentType: string;
  body: string;
}
export type Handler = (req: IncomingMessage) => HttpResponse | Promise<HttpResponse>;
/**
 * Handlers by path. A plain `/path` key answers GET and HEAD; a key with a
 * method, `POST /path`, answers that method only (for debug actions that
 * must not be triggered by a crawler or a probe).
 */
export type Routes = Record<string, Handler>;

const text = (status: number, body: string): HttpResponse => ({ status, contentType: 'text/plain; charset=utf-8', body });

/** `/healthz` and `/readyz`; `?verbose` lists every check even when all pass. */
export function healthRoutes(checks: HealthChecks): Routes {
  const handler = (which: 'live' | 'ready'): Handler => async (req) => {
    const report = which === 'live' ? await checks.live() : await checks.ready();
    const verbose = new URL(req.url ?? '/', 'http://x').searchParams.has('verbose');
    if (report.ok && !verbose) return text(200, 'ok\n');
    const summary = report.ok ? 'ok' : `${which === 'live' ? 'healthz' : 'readyz'} check failed`;
    return text(report.ok ? 200 : 503, [...report.lines, summary, ''].join('\n'));
  };
  return { '/healthz': handler('live'), '/readyz': handler('ready') };
}

export function metricsRoutes(registry: Registry): Routes {
  return {
    '/metrics': async () => ({ status: 200, contentType: registry.contentType, body: await registry.metrics() }),
  };
}

/** One listening HTTP server with a fixed table of GET routes. */
export class HttpEndpoint {
  private constructor(
    private readonly server: Server,
    /** The bound address (the real port when 0 was asked for). */
    readonly address: ListenAddress,
  ) {}

  static async listen(address: ListenAddress, routes: Routes, log: Logger = silentLogger): Promise<HttpEndpoint> {
    const server = createServer((req, res) => {
      void respond(routes, req, res, log);
    });
    // Probes and scrapes are short; a client that stalls must not pin sockets.
    server.requestTimeout = 10_000;
    server.headersTimeout = 10_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      const listening = () => {
        server.off('error', reject);
        resolve();
      };
      if (address.host === '') server.listen(address.port, listening);
      else server.listen(address.port, address.host, listening);
    });
    server.on('error', (err) => log.error('http server error', { err }));
    const bound = server.address() as AddressInfo;
    return new HttpEndpoint(server, { host: bound.address, port: bound.port });
  }

  /** URL of this endpoint (for logs and tests). */
  url(path = '/'): string {
    const host = this.address.host.includes(':') ? `[${this.address.host}]` : this.address.host;
    return `http://${host}:${this.address.port}${path}`;
  }

  async close(): Promise<void> {
    this.server.closeIdleConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

async function respond(routes: Routes, req: IncomingMessage, res: ServerResponse, log: Logger): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  const method = req.method ?? 'GET';
  const readOnly = method === 'GET' || method === 'HEAD';
  const handler = Object.hasOwn(routes, `${method} ${path}`)
    ? routes[`${method} ${path}`]
    : readOnly && Object.hasOwn(routes, path)
      ? routes[path]
      : undefined;
  let response: HttpResponse;
  if (handler) {
    try {
      response = await handler(req);
    } catch (err) {
      log.error('http handler failed', { path, method, err });
      response = text(500, 'internal error\n');
    }
  } else if (Object.hasOwn(routes, path) || Object.keys(routes).some((k) => k.endsWith(` ${path}`))) {
    response = text(405, 'method not allowed\n');
  } else {
    response = text(404, 'not found\n');
  }
  res.writeHead(response.status, { 'Content-Type': response.contentType, 'Content-Length': Buffer.byteLength(response.body) });
  res.end(method === 'HEAD' ? undefined : response.body);
}

export interface ObservabilityOptions {
  /** `--metrics-addr` value (a list, see parseListenAddresses); `0`/empty disables. */
  metricsAddr: string;
  /** `--health-addr` value (a list); `0`/empty disables. */
  healthAddr: string;
  health: HealthChecks;
  registry: Registry;
  log?: Logger;
  /** More routes served on the health addresses (e.g. an agent's /debug/engine). */
  healthExtraRoutes?: Routes;
}

/**
 * `::1` cannot be bound because the host runs without IPv6
 * (`ipv6.disable=1` or `disable_ipv6` on lo): EAFNOSUPPORT or EADDRNOTAVAIL.
 * Only the IPv6 loopback gets this leniency; any other address that does
 * not bind is a configuration error.
 */
function ipv6LoopbackMissing(address: ListenAddress, err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return address.host === '::1' && (code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT');
}

/**
 * Serves metrics and health on their addresses; an address both name gets
 * one server with all three paths. Address errors are thrown as
 * AddressError before anything listens. Of a flag that lists several
 * addresses, `[::1]` on a host without IPv6 is skipped with a warning as
 * long as another of them is served (the agent's default names both
 * loopbacks).
 */
export async function serveObservability(options: ObservabilityOptions): Promise<HttpEndpoint[]> {
  const metrics = parseListenAddresses(options.metricsAddr, 'metrics-addr');
  const health = parseListenAddresses(options.healthAddr, 'health-addr');
  const log = options.log ?? silentLogger;
  const plan: Array<{ address: ListenAddress; routes: Routes; flags: Set<string> }> = [];
  for (const address of metrics) plan.push({ address, routes: metricsRoutes(options.registry), flags: new Set(['metrics-addr']) });
  for (const address of health) {
    const same = plan.find((p) => p.address.host === address.host && p.address.port === address.port && address.port !== 0);
    const routes = { ...healthRoutes(options.health), ...options.healthExtraRoutes };
    if (same) {
      Object.assign(same.routes, routes);
      same.flags.add('health-addr');
    } else {
      plan.push({ address, routes, flags: new Set(['health-addr']) });
    }
  }
  const listed = { 'metrics-addr': metrics.length, 'health-addr': health.length } as Record<string, number>;
  const endpoints: HttpEndpoint[] = [];
  const skipped: Array<{ flags: Set<string>; address: ListenAddress; err: unknown }> = [];
  try {
    for (const p of plan) {
      let endpoint: HttpEndpoint;
      try {
        endpoint = await HttpEndpoint.listen(p.address, p.routes, log);
      } catch (err) {
        if (ipv6LoopbackMissing(p.address, err) && [...p.flags].every((f) => (listed[f] ?? 0) > 1)) {
          skipped.push({ flags: p.flags, address: p.address, err });
          continue;
        }
        throw err;
      }
      log.info('serving http', { url: endpoint.url(), paths: Object.keys(p.routes) });
      endpoints.push(endpoint);
    }
    for (const s of skipped) {
      for (const flag of s.flags) {
        const served = plan.some((p) => p.flags.has(flag) && !skipped.some((x) => x.address === p.address));
        if (!served) throw s.err;
      }
      log.warn('listen address skipped: the host has no IPv6', { address: `${s.address.host}:${s.address.port}`, error: (s.err as Error).message });
    }
  } catch (err) {
    await Promise.all(endpoints.map((e) => e.close()));
    throw err;
  }
  return endpoints;
}
