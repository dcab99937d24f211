/**
 * The agent's connection to the kube-apiserver: plain requests and a
 * streaming watch, sent through src/kube/apiserver.ts (credentials of a
 * KubeConfig, one keep-alive agent).
 *
 * The agent needs exactly three calls — list one object by field selector,
 * watch it, patch its status — and needs to tell an outage (connection
 * refused, reset, timed out: retry) from an answer (403, 404, 410, 422: act
 * on it). Both are surfaced as typed errors, never as crashes.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { apiError, ApiserverConnection, KubeApiError, parseJsonBody, readResponse } from '../../kube/apiserver.js';

export { KubeApiError };

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
  private readonly apiserver: ApiserverConnection;

  constructor(config: KubeConfig) {
    this.apiserver = new ApiserverConnection(config);
  }

  close(): void {
    this.apiserver.close();
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const req = await this.apiserver.open(method, path, { query: options.query, body, contentType: options.contentType, timeoutMs: options.timeoutMs ?? 30_000 });
    let answer: { statusCode: number; text: string };
    try {
      answer = await readResponse(req, body);
    } catch (err) {
      throw new KubeUnreachableError(method, path, err);
    }
    const { statusCode, text } = answer;
    if (statusCode < 200 || statusCode >= 300) throw apiError(method, path, statusCode, text);
    const parsed = parseJsonBody(text);
    if (parsed === undefined) throw new KubeApiError(method, path, statusCode, 'InvalidResponse', 'response body is not JSON');
    return parsed as T;
  }

  async watch(path: string, options: WatchOptions, onEvent: (event: WatchEvent) => void): Promise<void> {
    // The idle timeout doubles as the socket timeout: a silent stream is an outage.
    const req = await this.apiserver.open('GET', path, { query: { ...options.query, watch: 'true' }, timeoutMs: options.idleTimeoutMs });
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
          res.on('end', () => finish(apiError('GET', path, status, Buffer.concat(chunks).toString('utf8'))));
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
}

/** A failure worth retrying later as an outage (no answer, or the apiserver says it is unavailable). */
export function isOutage(err: unknown): boolean {
  if (err instanceof KubeUnreachableError) return true;
  return err instanceof KubeApiError && (err.status >= 500 || err.status === 429);
}
