/**
 * A small Kubernetes REST client over the credentials of a KubeConfig,
 * sent through src/kube/apiserver.ts (`@kubernetes/client-node` resolves
 * kubeconfig files, in-cluster service account tokens and exec plugins).
 *
 * It exists beside the generated client because the operator needs exact
 * control of what goes on the wire: server-side apply with a field manager,
 * merge patches on `/status`, optimistic concurrency on Leases with
 * MicroTime timestamps, and a count of every write so "an idle operator
 * writes nothing" can be measured rather than assumed.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { apiError, ApiserverConnection, KubeApiError, parseJsonBody, readResponse } from '../../kube/apiserver.js';

export { KubeApiError };

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
  private readonly apiserver: ApiserverConnection;

  constructor(
    readonly config: KubeConfig,
    private readonly observe: RequestObserver = () => undefined,
  ) {
    this.apiserver = new ApiserverConnection(config);
  }

  /** Closes idle keep-alive connections (at shutdown, so the process can exit). */
  close(): void {
    this.apiserver.close();
  }

  async request<T>(method: string, path: string, options: RequestOptions): Promise<T> {
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const req = await this.apiserver.open(method, path, {
      query: options.query,
      body,
      contentType: options.contentType,
      timeoutMs: options.timeoutMs ?? 30_000,
      timeoutError: () => new Error(`${method} ${path}: timed out`),
    });
    let status = 0;
    try {
      const { statusCode, text } = await readResponse(req, body);
      status = statusCode;
      if (statusCode < 200 || statusCode >= 300) throw apiError(method, path, statusCode, text);
      const parsed = parseJsonBody(text);
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

  /**
   * Server-side apply: `obj` is the full intent of `fieldManager`; fields it
   * no longer sets are removed. Strict field validation: a field the CRD does
   * not know (an older CRD than the program) fails the request instead of
   * being pruned in silence.
   */
  apply(obj: T, fieldManager: string): Promise<T> {
    return this.client.request('PATCH', this.itemPath(obj.metadata.name), {
      verb: 'apply',
      resource: this.plural,
      body: obj,
      contentType: 'application/apply-patch+yaml',
      // force: the operator is the only legitimate owner of these fields
      // (DESIGN 3); a conflict means someone edited spec by hand.
      query: { fieldManager, force: 'true', fieldValidation: 'Strict' },
    });
  }

  /**
   * JSON merge patch of the status subresource. With `resourceVersion`, only
   * over that version of the object (409 Conflict if it changed: the
   * apiserver takes a resourceVersion in a patch as a precondition).
   */
  patchStatus(name: string, status: unknown, fieldManager: string, resourceVersion?: string): Promise<T> {
    return this.client.request('PATCH', `${this.itemPath(name)}/status`, {
      verb: 'patch',
      resource: `${this.plural}/status`,
      body: resourceVersion === undefined ? { status } : { metadata: { resourceVersion }, status },
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
