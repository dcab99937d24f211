/**
 * `evpn-ecmp agent` in Kubernetes mode as a process inside a test network
 * namespace (so its netlink socket sees that namespace's kernel), reaching
 * the apiserver through an ApiserverRelay. Its JSON log lines are kept; its
 * metrics and health endpoints are read with curl inside the namespace.
 */
import type { ChildProcess } from 'node:child_process';
import { stopChild, type Netns } from '../../harness/netns.js';

const ENTRY = new URL('../agent/run-cli.ts', import.meta.url).pathname;

export class KubeAgentProcess {
  readonly lines: Array<Record<string, unknown>> = [];
  readonly other: string[] = [];
  private constructor(
    readonly child: ChildProcess,
    private readonly ns: Netns,
  ) {
    let partial = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      partial += chunk;
      const parts = partial.split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        try {
          this.lines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          this.other.push(line);
        }
      }
    });
    child.stdout?.resume();
  }

  static start(ns: Netns, args: { node: string; kubeconfig: string; ovsRundir: string; extra?: string[] }): KubeAgentProcess {
    const child = ns.spawn(process.execPath, [
      '--import', 'tsx', ENTRY, 'agent',
      '--node', args.node,
      '--kubeconfig', args.kubeconfig,
      '--ovs-rundir', args.ovsRundir,
      '--health-addr', '127.0.0.1:18081',
      '--metrics-addr', '127.0.0.1:18080',
      // The chart's namespace, where its RBAC lets the agent keep its heartbeat Lease.
      '--heartbeat-namespace', 'evpn-system',
      ...(args.extra ?? []),
    ]);
    return new KubeAgentProcess(child, ns);
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  tail(n = 25): string {
    return [...this.lines.slice(-n).map((l) => JSON.stringify(l)), ...this.other.slice(-5)].join('\n');
  }

  async metrics(): Promise<string> {
    const { stdout } = await this.ns.exec('curl', '-s', '--max-time', '5', 'http://127.0.0.1:18080/metrics');
    return stdout;
  }

  /** A metric's value (summed over label sets that include `labels`); 0 when absent. */
  async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    const text = await this.metrics();
    let sum = 0;
    for (const line of text.split('\n')) {
      const m = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
      if (!m || m[1] !== name) continue;
      if (Object.entries(labels).every(([k, v]) => (m[2] ?? '').includes(`${k}="${v}"`))) sum += Number(m[3]);
    }
    return sum;
  }

  /** SIGSTOP / SIGCONT: a hung agent (the process exists, does nothing), and its recovery. */
  pause(): void {
    this.child.kill('SIGSTOP');
  }

  resume(): void {
    this.child.kill('SIGCONT');
  }

  async stop(): Promise<number | null> {
    await stopChild(this.child);
    return this.child.exitCode;
  }
}
