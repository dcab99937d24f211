/**
 * Requests to the kube-apiserver over the credentials of a KubeConfig
 * (`@kubernetes/client-node` resolves kubeconfig files, in-cluster
 * service-account tokens and exec plugins; this module only sends
 * requests). Shared by the operator's REST client and the agent's
 * transport, which differ in what they make of a failure: the operator
 * passes transport errors on as they are, the agent calls them an outage.
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

export interface ApiserverRequest {
  query?: Record<string, string | undefined>;
  /** The body, already serialized. */
  body?: string;
  /** Default application/json. */
  contentType?: string;
  /** Socket idle timeout: the request is destroyed with `timeoutError()`. */
  timeoutMs: number;
  timeoutError?: () => Error;
}

export interface ApiserverResponse {
  statusCode: number;
  text: string;
}

export class ApiserverConnection {
  private readonly server: URL;
  /** One keep-alive agent for every request: a TLS handshake per request would dominate small writes. */
  private agent: http.Agent | undefined;

  constructor(private readonly config: KubeConfig) {
    const cluster = config.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    this.server = new URL(cluster.server);
  }

  /** Closes idle keep-alive connections (at shutdown, so the process can exit). */
  close(): void {
    this.agent?.destroy();
    this.agent = undefined;
  }

  /**
   * A request with the credentials applied, not yet ended: the caller
   * writes the body and reads the response (a watch reads it as a stream).
   */
  async open(method: string, path: string, request: ApiserverRequest): Promise<http.ClientRequest> {
    const url = new URL(this.server.pathname.replace(/\/$/, '') + path, this.server);
    for (const [k, v] of Object.entries(request.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
    const { body, timeoutMs } = request;
    const opts: https.RequestOptions = {
      method,
      headers: {
        Accept: 'application/json',
        ...(body !== undefined ? { 'Content-Type': request.contentType ?? 'application/json', 'Content-Length': Buffer.byteLength(body) } : {}),
      },
      timeout: timeoutMs,
    };
    // Per request: bearer tokens (projected service-account tokens, exec plugins) rotate.
    await this.config.applyToHTTPSOptions(opts);
    const secure = url.protocol === 'https:';
    this.agent ??= secure
      ? new https.Agent({ keepAlive: true, ca: opts.ca, cert: opts.cert, key: opts.key, pfx: opts.pfx, passphrase: opts.passphrase, rejectUnauthorized: opts.rejectUnauthorized, servername: opts.servername })
      : new http.Agent({ keepAlive: true });
    opts.agent = this.agent;
    const req = (secure ? https : http).request(url, opts);
    req.on('timeout', () => req.destroy(request.timeoutError?.() ?? new Error(`no answer for ${timeoutMs} ms`)));
    return req;
  }
}

/** Ends `req` with `body` and reads the whole response; rejects with the transport's error (refused, reset, timed out). */
export function readResponse(req: http.ClientRequest, body: string | undefined): Promise<ApiserverResponse> {
  return new Promise((resolve, reject) => {
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ statusCode: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A response body as JSON; undefined when it is empty or not JSON. */
export function parseJsonBody(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The error for a non-2xx answer: reason and message from its metav1.Status when it carries one. */
export function apiError(method: string, path: string, status: number, text: string): KubeApiError {
  const parsed = parseJsonBody(text);
  const s = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as { reason?: unknown; message?: unknown };
  const reason = typeof s.reason === 'string' && s.reason !== '' ? s.reason : (http.STATUS_CODES[status] ?? 'Unknown');
  const message = typeof s.message === 'string' ? s.message : text.slice(0, 200);
  return new KubeApiError(method, path, status, reason, message);
}
