/**
 * A small Kubernetes REST client over the credentials of a KubeConfig
 * (`@kubernetes/client-node` resolves kubeconfig files, in-cluster service
 * account tokens and exec plugins; this module only sends requests).
 *
 * It exists beside the generated client because the operator needs exact
 * control of what goes on the wire: server-side apply with a field manager,
 * merge patches on `/status`, optimistic concurrency on Leases with
 * MicroTime timestamps, and a count of every write so "an idle operator
 * writes nothing" can be measured rather than assumed.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

/** A non-2xx answer from the apiserver, with its metav1.Status reason. */
export class KubeApiError extends Error {
  override name = 'KubeApiError';
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(`${method} ${path}: ${status} ${reason}: ${message}`);
  }
}

export const isNotFound = (err: unknown): boolean => err instanceof KubeApiError && err.status === 404;
export const isConflict = (err: unknown): boolean => err instanceof KubeApiError && err.status === 409;
export const isAlreadyExists = (err: unknown): boolean => err instanceof KubeApiError && err.status === 409 && err.reason === 'AlreadyExists';

export type Verb = 'get' | 'list' | 'create' | 'update' | 'patch' | 'apply' | 'delete';
export const WRITE_VERBS: ReadonlySet<Verb> = new Set(['create', 'update', 'patch', 'apply', 'delete']);

export interface RequestOptions {
  query?: Record<string, string | undefined>;
  body?: unknown;
  contentType?: string;
  /** For metrics: what kind of call this is and on which resource. */
  verb: Verb;
  resource: string;
  timeoutMs?: number;
}

/** Called after every request (success or failure), for metrics. */
export type RequestObserver = (verb: Verb, resource: string, status: number) => void;

export class KubeClient {
  private readonly server: URL;
  /** One keep-alive agent for every request: a TLS handshake per write would dominate a rollout. */
  private agent: http.Agent | undefined;

  constructor(
    readonly config: KubeConfig,
    private readonly observe: RequestObserver = () => undefined,
  ) {
    const cluster = config.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    this.server = new URL(cluster.server);
  }

  /** Closes idle keep-alive connections (at shutdown, so the process can exit). */
  close(): void {
    this.agent?.destroy();
    this.agent = undefined;
  }

  async request<T>(method: string, path: string, options: RequestOptions): Promise<T> {
    const url = new URL(this.server.pathname.replace(/\/$/, '') + path, this.server);
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const opts: https.RequestOptions = {
      method,
      headers: {
        Accept: 'application/json',
        ...(body !== undefined ? { 'Content-Type': options.contentType ?? 'application/json', 'Content-Length': Buffer.byteLength(body) } : {}),
      },
      timeout: options.timeoutMs ?? 30_000,
    };
    // Per request: bearer tokens (service account, exec plugins) rotate.
    await this.config.applyToHTTPSOptions(opts);
    const transport = url.protocol === 'https:' ? https : http;
    this.agent ??=
      url.protocol === 'https:'
        ? new https.Agent({ keepAlive: true, ca: opts.ca, cert: opts.cert, key: opts.key, pfx: opts.pfx, passphrase: opts.passphrase, rejectUnauthorized: opts.rejectUnauthorized, servername: opts.servername })
        : new http.Agent({ keepAlive: true });
    opts.agent = this.agent;
    let status = 0;
    try {
      const { statusCode, text } = await new Promise<{ statusCode: number; text: string }>((resolve, reject) => {
        const req = transport.request(url, opts, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ statusCode: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        });
        req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
        req.on('error', reject);
        req.end(body);
      });
      status = statusCode;
      let parsed: unknown;
      try {
        parsed = text === '' ? undefined : JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      if (statusCode < 200 || statusCode >= 300) {
        const s = (parsed ?? {}) as { reason?: string; message?: string };
        throw new KubeApiError(method, path, statusCode, s.reason ?? http.STATUS_CODES[statusCode] ?? 'Unknown', s.message ?? text.slice(0, 200));
      }
      if (parsed === undefined && text !== '') throw new KubeApiError(method, path, statusCode, 'InvalidResponse', 'response is not JSON');
      return parsed as T;
    } finally {
      this.observe(options.verb, options.resource, status);
    }
  }
}

/** Where a kind lives in the API, and how to address one object of it. */
export class ResourceApi<T extends { metadata: { name: string; namespace?: string } }> {
  constructor(
    private readonly client: KubeClient,
    /** e.g. "/apis/evpn.ecmp.dev/v1alpha1" or "/api/v1". */
    readonly groupVersionPath: string,
    readonly plural: string,
    private readonly namespace?: string,
  ) {}

  get collectionPath(): string {
    return `${this.groupVersionPath}${this.namespace ? `/namespaces/${this.namespace}` : ''}/${this.plural}`;
  }

  itemPath(name: string): string {
    return `${this.collectionPath}/${encodeURIComponent(name)}`;
  }

  list(query?: Record<string, string | undefined>): Promise<{ metadata: { resourceVersion?: string }; items: T[] }> {
    return this.client.request('GET', this.collectionPath, { verb: 'list', resource: this.plural, query });
  }

  get(name: string): Promise<T> {
    return this.client.request('GET', this.itemPath(name), { verb: 'get', resource: this.plural });
  }

  create(obj: T): Promise<T> {
    return this.client.request('POST', this.collectionPath, { verb: 'create', resource: this.plural, body: obj });
  }

  /** PUT with the object's resourceVersion: fails with 409 Conflict if someone wrote in between. */
  replace(obj: T): Promise<T> {
    return this.client.request('PUT', this.itemPath(obj.metadata.name), { verb: 'update', resource: this.plural, body: obj });
  }

  /** Server-side apply: `obj` is the full intent of `fieldManager`; fields it no longer sets are removed. */
  apply(obj: T, fieldManager: string): Promise<T> {
    return this.client.request('PATCH', this.itemPath(obj.metadata.name), {
      verb: 'apply',
      resource: this.plural,
      body: obj,
      contentType: 'application/apply-patch+yaml',
      // force: the operator is the only legitimate owner of these fields
      // (DESIGN 3); a conflict means someone edited spec by hand.
      query: { fieldManager, force: 'true' },
    });
  }

  /** JSON merge patch of the status subresource. */
  patchStatus(name: string, status: unknown, fieldManager: string): Promise<T> {
    return this.client.request('PATCH', `${this.itemPath(name)}/status`, {
      verb: 'patch',
      resource: `${this.plural}/status`,
      body: { status },
      contentType: 'application/merge-patch+json',
      query: { fieldManager },
    });
  }

  patch(name: string, body: unknown, fieldManager: string): Promise<T> {
    return this.client.request('PATCH', this.itemPath(name), { verb: 'patch', resource: this.plural, body, contentType: 'application/merge-patch+json', query: { fieldManager } });
  }

  /** Deletes `name`; with `uid` only that incarnation of it (a same-named successor is left alone). */
  async delete(name: string, uid?: string): Promise<void> {
    await this.client.request('DELETE', this.itemPath(name), {
      verb: 'delete',
      resource: this.plural,
      body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background', ...(uid ? { preconditions: { uid } } : {}) },
    });
  }
}
