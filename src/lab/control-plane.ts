/**
 * A real Kubernetes control plane on loopback: etcd and kube-apiserver (and,
 * on request, kube-controller-manager for garbage collection and the
 * service-account controllers), on free ports, in one directory holding
 * generated certificates, a service-account signing key (so TokenRequest
 * works), an admin kubeconfig, the daemons' logs and their pid files.
 *
 * The binaries come from scripts/control-plane/build.sh (built once from
 * their Go modules and cached outside the repository). The lab starts the
 * daemons `detached` (they outlive `lab up`; `ControlPlane.attach` finds them
 * again from the pid files), the test harness `owned` (test/harness/kube.ts
 * kills them when the test process ends).
 */
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { existsSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { Daemon, type Lifetime } from './daemon.js';
import { run, type ExecResult } from './exec.js';

/** Issuer and audience of the service-account tokens the apiserver signs. */
export const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CRDS_DIR = join(REPO_ROOT, 'crds');
export const CONTROL_PLANE_BINARIES = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kubectl'] as const;
/** Daemons in the order they start; stopped in reverse (dependants first). */
const DAEMONS = ['etcd', 'kube-apiserver', 'kube-controller-manager'] as const;
type DaemonName = (typeof DAEMONS)[number];

/** The Kubernetes release pinned in scripts/control-plane/go.mod. */
export function kubernetesVersion(): string {
  const mod = readFileSync(join(REPO_ROOT, 'scripts/control-plane/go.mod'), 'utf8');
  const m = /^\s*k8s\.io\/kubernetes\s+(v\S+)/m.exec(mod);
  if (!m?.[1]) throw new Error('k8s.io/kubernetes not found in scripts/control-plane/go.mod');
  return m[1];
}

/** Where build.sh caches the binaries (same rule as the script). */
export function controlPlaneBinDir(): string {
  const cache = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(cache, 'evpn-ecmp', 'bin', kubernetesVersion());
}

/** A loopback TCP port that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolvePort(addr.port) : reject(new Error('no port'))));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Status of an HTTPS GET to a loopback daemon with its own self-signed certificate; 0 when unreachable. */
function httpsStatus(url: string): Promise<number> {
  return new Promise((resolveStatus) => {
    const req = request(url, { rejectUnauthorized: false, timeout: 2_000 }, (res) => {
      res.resume();
      resolveStatus(res.statusCode ?? 0);
    });
    req.on('error', () => resolveStatus(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

async function openssl(dir: string, ...args: string[]): Promise<void> {
  await run('openssl', args, { env: { ...process.env, RANDFILE: join(dir, '.rnd') } });
}

/** CA, apiserver serving cert, admin client cert (system:masters), service-account key pair. */
async function makeCertificates(dir: string): Promise<void> {
  const p = (f: string) => join(dir, f);
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl(dir, 'req', '-x509', ...ecKey, '-keyout', p('ca.key'), '-out', p('ca.crt'), '-days', '3650', '-subj', '/CN=evpn-ecmp-test-ca');
  const sign = async (name: string, subj: string, ext: string) => {
    writeFileSync(p(`${name}.ext`), ext);
    await openssl(dir, 'req', '-new', ...ecKey, '-keyout', p(`${name}.key`), '-out', p(`${name}.csr`), '-subj', subj);
    await openssl(
      dir, 'x509', '-req', '-in', p(`${name}.csr`), '-CA', p('ca.crt'), '-CAkey', p('ca.key'), '-CAcreateserial',
      '-out', p(`${name}.crt`), '-days', '365', '-extfile', p(`${name}.ext`),
    );
  };
  await sign(
    'apiserver',
    '/CN=kube-apiserver',
    'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' +
      'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\n',
  );
  await sign('admin', '/O=system:masters/CN=evpn-ecmp-admin', 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n');
  // The apiserver signs service-account tokens (TokenRequest) with this key
  // and verifies them with its public half.
  await openssl(dir, 'genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', p('sa.key'));
  await openssl(dir, 'pkey', '-in', p('sa.key'), '-pubout', '-out', p('sa.pub'));
}

function kubeconfigYaml(server: string, dir: string, cluster: string): string {
  const b64 = (f: string) => readFileSync(join(dir, f)).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${cluster}`,
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${b64('ca.crt')}`,
    'users:',
    '- name: admin',
    '  user:',
    `    client-certificate-data: ${b64('admin.crt')}`,
    `    client-key-data: ${b64('admin.key')}`,
    'contexts:',
    `- name: ${cluster}`,
    `  context: {cluster: ${cluster}, user: admin}`,
    `current-context: ${cluster}`,
    '',
  ].join('\n');
}

/**
 * The binaries missing from the build cache (empty when the control plane
 * is built).
 */
export function missingControlPlaneBinaries(binDir = controlPlaneBinDir()): string[] {
  return CONTROL_PLANE_BINARIES.filter((b) => !existsSync(join(binDir, b)));
}

interface CrdShape {
  metadata: { name: string };
  spec: { group: string; names: { kind: string }; versions: { name: string }[] };
}

export interface ControlPlaneOptions {
  /** `owned` (default): stopped by the starter; `detached`: outlives it (pid files in the directory). */
  lifetime?: Lifetime;
  /** Also start kube-controller-manager (garbage collector, service accounts, namespaces). */
  controllerManager?: boolean;
  /** Apply crds/ before returning (before kube-controller-manager starts, so it sees them at once). */
  crds?: boolean;
  /** Cluster and context name in the kubeconfigs (default `evpn-test`). */
  clusterName?: string;
  /** More kube-apiserver flags, e.g. `--emulated-version=kube=1.31` (tests of the oldest supported Kubernetes). */
  apiserverArgs?: string[];
}

/**
 * A running etcd + kube-apiserver in `dir`: `ControlPlane.launch(dir)`, then
 * `cp.kubectl(...)`, `cp.kubeConfig` for @kubernetes/client-node, and
 * `await cp.stop()`.
 */
export class ControlPlane {
  readonly binDir = controlPlaneBinDir();
  protected readonly daemons = new Map<DaemonName, Daemon>();
  private serverUrl = '';
  private etcdUrl = '';
  private lifetime: Lifetime = 'owned';
  private clusterName = 'evpn-test';
  private apiserverArgs: string[] = [];

  protected constructor(readonly dir: string) {}

  /** Starts the daemons in an existing (empty) directory. */
  static async launch(dir: string, opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
    const cp = new ControlPlane(dir);
    await cp.boot(opts);
    return cp;
  }

  /**
   * The control plane an earlier process launched detached in `dir`, found
   * through its kubeconfig and pid files. Daemons that no longer run are
   * simply absent from `pids()`.
   */
  static attach(dir: string): ControlPlane | undefined {
    const cp = new ControlPlane(dir);
    if (!existsSync(cp.kubeconfigPath)) return undefined;
    const kc = parseYaml(readFileSync(cp.kubeconfigPath, 'utf8')) as { clusters?: { name?: string; cluster?: { server?: string } }[] };
    cp.serverUrl = kc.clusters?.[0]?.cluster?.server ?? '';
    cp.clusterName = kc.clusters?.[0]?.name ?? cp.clusterName;
    cp.lifetime = 'detached';
    for (const name of DAEMONS) {
      const d = Daemon.fromPidFile(name, cp.pidFile(name), cp.logFile(name), [name, dir]);
      if (d) cp.daemons.set(name, d);
    }
    return cp;
  }

  /** Starts everything; on failure stops what started and rethrows. */
  protected async boot(opts: ControlPlaneOptions): Promise<void> {
    this.lifetime = opts.lifetime ?? 'owned';
    this.clusterName = opts.clusterName ?? this.clusterName;
    this.apiserverArgs = opts.apiserverArgs ?? [];
    try {
      await makeCertificates(this.dir);
      await this.startEtcd();
      await this.startApiserver();
      if (opts.crds) await this.applyCrds();
      if (opts.controllerManager) await this.startControllerManager();
    } catch (err) {
      await this.stopDaemons();
      throw err;
    }
  }

  /** `https://127.0.0.1:<port>` */
  get server(): string {
    return this.serverUrl;
  }

  get kubeconfigPath(): string {
    return join(this.dir, 'admin.kubeconfig');
  }

  /** A KubeConfig for @kubernetes/client-node, authenticated as cluster admin. */
  get kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromFile(this.kubeconfigPath);
    return kc;
  }

  /** PEM of the cluster CA (verifies the apiserver's certificate). */
  get caCert(): string {
    return readFileSync(join(this.dir, 'ca.crt'), 'utf8');
  }

  /** Pids of the running daemons, by binary name. */
  pids(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, d] of this.daemons) if (d.running) out[name] = d.pid;
    return out;
  }

  /** Every daemon this object knows, running or not. */
  daemonList(): Daemon[] {
    return [...this.daemons.values()];
  }

  /** Path of the kubectl used: the one built with the control plane, else the one on PATH. */
  get kubectlPath(): string {
    const built = join(this.binDir, 'kubectl');
    return existsSync(built) ? built : 'kubectl';
  }

  /** `kubectl --kubeconfig <admin> ARGS`; rejects with a CommandError carrying kubectl's stderr. */
  kubectl(...args: string[]): Promise<ExecResult> {
    return run(this.kubectlPath, ['--kubeconfig', this.kubeconfigPath, ...args], { timeoutMs: 60_000 });
  }

  /** kubectl with a manifest on stdin, e.g. `kubectlInput(yaml, 'apply', '-f', '-')`. */
  kubectlInput(input: string, ...args: string[]): Promise<ExecResult> {
    return run(this.kubectlPath, ['--kubeconfig', this.kubeconfigPath, ...args], { input, timeoutMs: 60_000 });
  }

  /**
   * Credentials of an agent on `node`, as the kubelet would mount them: a
   * ServiceAccount token from TokenRequest bound to a Pod scheduled on the
   * node, so the apiserver puts `authentication.kubernetes.io/node-name` in
   * the user's extra info. Creates the Node, ServiceAccount and Pod objects
   * when missing (no kubelet runs: the Pod is only an object). Returns the
   * token, a KubeConfig and a kubeconfig file for `--kubeconfig`.
   */
  async nodeBoundCredentials(
    node: string,
    serviceAccount: string,
    namespace = 'default',
    opts: { expirationSeconds?: number } = {},
  ): Promise<{ token: string; kubeConfig: KubeConfig; kubeconfigPath: string }> {
    const core = this.kubeConfig.makeApiClient(CoreV1Api);
    const ignoreExists = (err: unknown) => {
      if ((err as { code?: number }).code !== 409) throw err;
    };
    await core.createNode({ body: { metadata: { name: node } } }).catch(ignoreExists);
    await core.createNamespace({ body: { metadata: { name: namespace } } }).catch(ignoreExists);
    await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: serviceAccount } } }).catch(ignoreExists);
    const podName = `${serviceAccount}-${node}`.slice(0, 63).replace(/[^a-z0-9-]/g, '-').replace(/-+$/, '');
    await core
      .createNamespacedPod({
        namespace,
        body: {
          metadata: { name: podName },
          spec: { nodeName: node, serviceAccountName: serviceAccount, containers: [{ name: 'agent', image: 'evpn-ecmp:test' }] },
        },
      })
      .catch(ignoreExists);
    const pod = await core.readNamespacedPod({ name: podName, namespace });
    const tr = await core.createNamespacedServiceAccountToken({
      name: serviceAccount,
      namespace,
      body: {
        spec: {
          audiences: [SERVICE_ACCOUNT_ISSUER],
          expirationSeconds: opts.expirationSeconds ?? 3600,
          boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: podName, uid: pod.metadata?.uid },
        },
      },
    });
    const token = tr.status?.token;
    if (!token) throw new Error(`TokenRequest for ${namespace}/${serviceAccount} returned no token`);
    const kubeConfig = new KubeConfig();
    const cluster = this.clusterName;
    kubeConfig.loadFromOptions({
      clusters: [{ name: cluster, server: this.serverUrl, caData: Buffer.from(this.caCert).toString('base64') }],
      users: [{ name: serviceAccount, token }],
      contexts: [{ name: cluster, cluster, user: serviceAccount, namespace }],
      currentContext: cluster,
    });
    const kubeconfigPath = join(this.dir, `${namespace}-${serviceAccount}-${node}.kubeconfig`);
    writeFileSync(kubeconfigPath, kubeConfig.exportConfig(), { mode: 0o600 });
    return { token, kubeConfig, kubeconfigPath };
  }

  /**
   * Applies crds/*.yaml and waits until the apiserver serves them. A running
   * kube-controller-manager is restarted: its garbage collector rediscovers
   * resources only every 30 s, and until then ignores owner references on
   * the new kinds.
   */
  async applyCrds(): Promise<void> {
    await this.kubectl('apply', '-f', CRDS_DIR);
    const crds = readdirSync(CRDS_DIR)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => parseYaml(readFileSync(join(CRDS_DIR, f), 'utf8')) as CrdShape);
    await this.kubectl('wait', '--for=condition=Established', '--timeout=60s', ...crds.map((c) => `crd/${c.metadata.name}`));
    // Established means served; the OpenAPI document (kubectl explain,
    // client-side schema lookups) is republished a moment later.
    const kinds = crds.map((c) => c.spec.names.kind);
    const groupVersions = new Set(crds.flatMap((c) => c.spec.versions.map((v) => `${c.spec.group}/${v.name}`)));
    for (const gv of groupVersions) {
      await this.waitUntil(
        'kube-apiserver',
        `OpenAPI v3 document of ${gv}`,
        async () => {
          const r = await this.get(`/openapi/v3/apis/${gv}`);
          return r.status === 200 && kinds.every((k) => r.body.includes(`.${k}"`));
        },
        60_000,
      );
    }
    if (this.daemons.has('kube-controller-manager')) {
      await this.stopDaemon('kube-controller-manager');
      await this.startControllerManager();
    }
  }

  private logFile(name: string): string {
    return join(this.dir, `${name}.log`);
  }

  private pidFile(name: string): string {
    return join(this.dir, `${name}.pid`);
  }

  private spawnDaemon(name: DaemonName, args: string[]): Daemon {
    const d = Daemon.spawn({
      name,
      command: join(this.binDir, name),
      args,
      cwd: this.dir,
      logFile: this.logFile(name),
      pidFile: this.pidFile(name),
      lifetime: this.lifetime,
    });
    this.daemons.set(name, d);
    return d;
  }

  /** Last lines of a daemon's log, for error messages. */
  log(name: string, lines = 30): string {
    try {
      return readFileSync(this.logFile(name), 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  private async waitUntil(name: DaemonName, what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const daemon = this.daemons.get(name);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (daemon && !daemon.running) {
        throw new Error(`${name} ${daemon.exitDescription ?? 'exited'} before ${what}:\n${this.log(name)}`);
      }
      if (await check()) return;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${this.log(name)}`);
      await sleep(100);
    }
  }

  /** GET a path on the apiserver as admin; resolves with status and body (status 0 when unreachable). */
  get(path: string): Promise<{ status: number; body: string }> {
    return new Promise((resolveGet) => {
      const req = request(
        `${this.serverUrl}${path}`,
        {
          ca: readFileSync(join(this.dir, 'ca.crt')),
          cert: readFileSync(join(this.dir, 'admin.crt')),
          key: readFileSync(join(this.dir, 'admin.key')),
          timeout: 2_000,
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolveGet({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', () => resolveGet({ status: 0, body: '' }));
      req.on('timeout', () => req.destroy());
      req.end();
    });
  }

  private async startEtcd(): Promise<void> {
    // Ports can be taken between probing and binding by a parallel worker:
    // retry with fresh ones rather than fail.
    for (let attempt = 1; ; attempt++) {
      const [client, peer] = [await freePort(), await freePort()];
      this.etcdUrl = `http://127.0.0.1:${client}`;
      const peerUrl = `http://127.0.0.1:${peer}`;
      const daemon = this.spawnDaemon('etcd', [
        '--name=evpn-test',
        `--data-dir=${join(this.dir, 'etcd')}`,
        `--listen-client-urls=${this.etcdUrl}`,
        `--advertise-client-urls=${this.etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=evpn-test=${peerUrl}`,
        '--listen-metrics-urls=',
        '--log-level=warn',
        // Throwaway data: skipping fsync makes every write cheap on a shared small machine.
        '--unsafe-no-fsync',
      ]);
      try {
        await this.waitUntil('etcd', 'etcd to serve', () => this.etcdHealthy(), 30_000);
        return;
      } catch (err) {
        if (attempt >= 3 || daemon.running) throw err;
        rmSync(join(this.dir, 'etcd'), { recursive: true, force: true });
      }
    }
  }

  private etcdHealthy(): Promise<boolean> {
    return fetch(`${this.etcdUrl}/health`, { signal: AbortSignal.timeout(1_000) })
      .then(async (r) => r.ok && ((await r.json()) as { health?: string }).health === 'true')
      .catch(() => false);
  }

  /** An apiserver outage: kube-apiserver stops (connections refused); etcd keeps the data. */
  async stopApiserver(): Promise<void> {
    await this.stopDaemon('kube-apiserver');
  }

  /** Ends an outage: kube-apiserver starts again on the same address, so clients keep their kubeconfig. */
  async restartApiserver(): Promise<void> {
    await this.startApiserver(Number(new URL(this.serverUrl).port));
  }

  private async startApiserver(samePort?: number): Promise<void> {
    const f = (name: string) => join(this.dir, name);
    for (let attempt = 1; ; attempt++) {
      const port = samePort ?? (await freePort());
      this.serverUrl = `https://127.0.0.1:${port}`;
      writeFileSync(this.kubeconfigPath, kubeconfigYaml(this.serverUrl, this.dir, this.clusterName));
      this.spawnDaemon('kube-apiserver', [
        `--etcd-servers=${this.etcdUrl}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${port}`,
        `--cert-dir=${this.dir}`,
        `--tls-cert-file=${f('apiserver.crt')}`,
        `--tls-private-key-file=${f('apiserver.key')}`,
        `--client-ca-file=${f('ca.crt')}`,
        `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
        `--service-account-key-file=${f('sa.pub')}`,
        `--service-account-signing-key-file=${f('sa.key')}`,
        `--api-audiences=${SERVICE_ACCOUNT_ISSUER}`,
        '--authorization-mode=Node,RBAC',
        '--service-cluster-ip-range=10.96.0.0/24',
        '--allow-privileged=true',
        '--profiling=false',
        '--endpoint-reconciler-type=none',
        '--v=1',
        ...this.apiserverArgs,
      ]);
      try {
        await this.waitUntil('kube-apiserver', 'kube-apiserver /readyz', async () => (await this.get('/readyz')).status === 200, 90_000);
        return;
      } catch (err) {
        const portTaken = /address already in use/.test(this.log('kube-apiserver'));
        if (attempt >= 3 || !portTaken) throw err;
        await this.stopDaemon('kube-apiserver');
      }
    }
  }

  /**
   * Starts kube-controller-manager with the controllers the operator relies
   * on: the garbage collector (owner references: deleting a Node removes
   * its VtepNodeState), service accounts and their tokens, and namespace
   * deletion.
   */
  async startControllerManager(): Promise<void> {
    if (this.daemons.has('kube-controller-manager')) return;
    const f = (name: string) => join(this.dir, name);
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      this.spawnDaemon('kube-controller-manager', [
        `--kubeconfig=${this.kubeconfigPath}`,
        `--authentication-kubeconfig=${this.kubeconfigPath}`,
        `--authorization-kubeconfig=${this.kubeconfigPath}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${port}`,
        `--cert-dir=${join(this.dir, 'kcm-certs')}`,
        '--controllers=garbagecollector,serviceaccount,serviceaccount-token,namespace',
        `--service-account-private-key-file=${f('sa.key')}`,
        `--root-ca-file=${f('ca.crt')}`,
        '--leader-elect=false',
        '--profiling=false',
        '--v=1',
      ]);
      try {
        // Healthy (its own /healthz, which covers every started controller)
        // and effective: the service-account controller has created the
        // default ServiceAccount, so it is connected and its informers synced.
        await this.waitUntil(
          'kube-controller-manager',
          'kube-controller-manager /healthz and the default ServiceAccount',
          async () =>
            (await httpsStatus(`https://127.0.0.1:${port}/healthz`)) === 200 &&
            (await this.get('/api/v1/namespaces/default/serviceaccounts/default')).status === 200,
          60_000,
        );
        return;
      } catch (err) {
        const portTaken = /address already in use/.test(this.log('kube-controller-manager'));
        await this.stopDaemon('kube-controller-manager');
        if (attempt >= 3 || !portTaken) throw err;
      }
    }
  }

  private async stopDaemon(name: DaemonName): Promise<void> {
    const d = this.daemons.get(name);
    if (!d) return;
    this.daemons.delete(name);
    await d.stop(5_000);
  }

  /** Stops every daemon by pid, dependants first. */
  protected async stopDaemons(): Promise<void> {
    for (const name of [...DAEMONS].reverse()) await this.stopDaemon(name);
  }

  /** Stops every daemon by pid (dependants first) and removes the directory. */
  async stop(): Promise<void> {
    await this.stopDaemons();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
