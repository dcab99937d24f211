/**
 * The agent's connection to the kube-apiserver: plain requests and a
 * streaming watch, over the credentials of a KubeConfig
 * (`@kubernetes/client-node` resolves kubeconfig files and in-cluster
 * service-account files; this module only sends requests).
 *
 * The agent needs exactly three calls — list one object by field selector,
 * watch it, patch its status — and needs to tell an outage (connection
 * refused, reset, timed out: retry) from an answer (403, 404, 410, 422: act
 * on it). Both are surfaced as typed errors, never as crashes.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

/** A non-2xx answer from the apiserver, with its metav1.Status reason and message. */
export class KubeApiError extends Error {
  override name = 'KubeApiError';
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly reason: string,
    readonly detail: string,
  ) {
    super(`${method} ${path}: ${status} ${reason}: ${detail}`);
  }
}

/** The apiserver could not be reached or stopped answering (outage, not an answer). */
export class KubeUnreachableError extends Error {
  override name = 'KubeUnreachableError';
  constructor(
    readonly method: string,
    readonly path: string,
    override readonly cause: unknown,
  ) {
    super(`${method} ${path}: apiserver unreachable: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

/** One event of a watch stream (metav1.WatchEvent). */
export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: Record<string, unknown>;
}

/** A line of the watch stream that is not a watch event (bad JSON or shape), with its position. */
export class WatchDecodeError extends Error {
  override name = 'WatchDecodeError';
  constructor(
    readonly line: number,
    readonly field: string,
    message: string,
  ) {
    super(`watch stream line ${line}: ${field}: ${message}`);
  }
}

export interface RequestOptions {
  query?: Record<string, string | undefined>;
  body?: unknown;
  contentType?: string;
  timeoutMs?: number;
}

export interface WatchOptions {
  query?: Record<string, string | undefined>;
  /** Abort the stream (and reject with KubeUnreachableError) when no byte arrives for this long. */
  idleTimeoutMs: number;
  signal?: AbortSignal;
}

/** What the source and the sink need from the apiserver; tests may implement it in memory. */
export interface KubeTransport {
  request<T>(method: string, path: string, options?: RequestOptions): Promise<T>;
  /**
   * Streams watch events to `onEvent` until the server ends the stream
   * (resolves) or it fails (rejects with KubeApiError, KubeUnreachableError
   * or WatchDecodeError).
   */
  watch(path: string, options: WatchOptions, onEvent: (event: WatchEvent) => void): Promise<void>;
  close(): void;
}

const WATCH_TYPES = new Set(['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR']);

/** Parses one line of a watch stream; `lineNo` names it in errors. */
export function decodeWatchLine(text: string, lineNo: number): WatchEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new WatchDecodeError(lineNo, '(line)', `not JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new WatchDecodeError(lineNo, '(line)', 'not an object');
  const { type, object } = parsed as { type?: unknown; object?: unknown };
  if (typeof type !== 'string' || !WATCH_TYPES.has(type)) throw new WatchDecodeError(lineNo, 'type', `unknown event type ${JSON.stringify(type)}`);
  if (typeof object !== 'object' || object === null || Array.isArray(object)) throw new WatchDecodeError(lineNo, 'object', 'missing or not an object');
  return { type: type as WatchEvent['type'], object: object as Record<string, unknown> };
}

export class KubeHttpTransport implements KubeTransport {
  private readonly server: URL;
  /** One keep-alive agent: a TLS handshake per status write would dominate its cost. */
  private agent: http.Agent | undefined;

  constructor(private readonly config: KubeConfig) {
    const cluster = config.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    this.server = new URL(cluster.server);
  }

  close(): void {
    this.agent?.destroy();
    this.agent = undefined;
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const req = await this.open(method, path, options.query, body, options.contentType, options.timeoutMs ?? 30_000);
    const { statusCode, text } = await new Promise<{ statusCode: number; text: string }>((resolve, reject) => {
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ statusCode: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (err) => reject(new KubeUnreachableError(method, path, err)));
      });
      req.on('error', (err) => reject(new KubeUnreachableError(method, path, err)));
      req.end(body);
    });
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (statusCode < 200 || statusCode >= 300) throw apiError(method, path, statusCode, parsed, text);
    if (parsed === undefined) throw new KubeApiError(method, path, statusCode, 'InvalidResponse', 'response body is not JSON');
    return parsed as T;
  }

  async watch(path: string, options: WatchOptions, onEvent: (event: WatchEvent) => void): Promise<void> {
    const req = await this.open('GET', path, { ...options.query, watch: 'true' }, undefined, undefined, options.idleTimeoutMs);
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const finish = (err?: Error) => {
        if (settled) return;
        settled = true;
        options.signal?.removeEventListener('abort', onAbort);
        req.destroy();
        if (err) reject(err);
        else resolve();
      };
      const onAbort = () => finish();
      if (options.signal?.aborted) return finish();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      req.on('error', (err) => finish(new KubeUnreachableError('GET', path, err)));
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        if (status < 200 || status >= 300) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown;
            try {
              parsed = JSON.parse(text);
            } catch {
              parsed = undefined;
            }
            finish(apiError('GET', path, status, parsed, text));
          });
          res.on('error', (err) => finish(new KubeUnreachableError('GET', path, err)));
          return;
        }
        res.setEncoding('utf8');
        let buffer = '';
        let lineNo = 0;
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let nl: number;
          while (!settled && (nl = buffer.indexOf('\n')) >= 0) {
            const line = buffer.slice(0, nl).trim();
            buffer = buffer.slice(nl + 1);
            lineNo += 1;
            if (line === '') continue;
            try {
              onEvent(decodeWatchLine(line, lineNo));
            } catch (err) {
              finish(err as Error);
            }
          }
        });
        // A stream cut mid-way (apiserver stopped) ends with 'aborted'/'error'; a
        // clean end is the server's timeoutSeconds running out.
        res.on('aborted', () => finish(new KubeUnreachableError('GET', path, new Error('watch stream aborted'))));
        res.on('error', (err) => finish(new KubeUnreachableError('GET', path, err)));
        res.on('end', () => finish());
        res.on('close', () => finish(new KubeUnreachableError('GET', path, new Error('watch stream closed before its end'))));
      });
      req.end();
    });
  }

  /** A request with auth applied; `timeoutMs` is a socket idle timeout, reported as unreachable. */
  private async open(method: string, path: string, query: Record<string, string | undefined> | undefined, body: string | undefined, contentType: string | undefined, timeoutMs: number): Promise<http.ClientRequest> {
    const url = new URL(this.server.pathname.replace(/\/$/, '') + path, this.server);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
    const opts: https.RequestOptions = {
      method,
      headers: {
        Accept: 'application/json',
        ...(body !== undefined ? { 'Content-Type': contentType ?? 'application/json', 'Content-Length': Buffer.byteLength(body) } : {}),
      },
      timeout: timeoutMs,
    };
    // Per request: projected service-account tokens are rotated by the kubelet.
    await this.config.applyToHTTPSOptions(opts);
    const secure = url.protocol === 'https:';
    this.agent ??= secure
      ? new https.Agent({ keepAlive: true, ca: opts.ca, cert: opts.cert, key: opts.key, pfx: opts.pfx, passphrase: opts.passphrase, rejectUnauthorized: opts.rejectUnauthorized, servername: opts.servername })
      : new http.Agent({ keepAlive: true });
    opts.agent = this.agent;
    const req = (secure ? https : http).request(url, opts);
    req.on('timeout', () => req.destroy(new Error(`no answer for ${timeoutMs} ms`)));
    return req;
  }
}

function apiError(method: string, path: string, status: number, parsed: unknown, text: string): KubeApiError {
  const s = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as { reason?: unknown; message?: unknown };
  const reason = typeof s.reason === 'string' && s.reason !== '' ? s.reason : (http.STATUS_CODES[status] ?? 'Unknown');
  const message = typeof s.message === 'string' ? s.message : text.slice(0, 200);
  return new KubeApiError(method, path, status, reason, message);
}

/** A failure worth retrying later as an outage (no answer, or the apiserver says it is unavailable). */
export function isOutage(err: unknown): boolean {
  if (err instanceof KubeUnreachableError) return true;
  return err instanceof KubeApiError && (err.status >= 500 || err.status === 429);
}
