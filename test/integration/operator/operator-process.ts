/**
 * `evpn-ecmp operator` as a child process for the tests: started against a
 * ControlPlane's admin kubeconfig with metrics/health on free loopback ports,
 * its JSON log lines parsed and kept, stopped by pid (SIGTERM, or SIGKILL to
 * simulate a crash). The exit hook of the harness kills it if a test dies.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { registerCleanup } from '../../harness/cleanup.js';
import type { ControlPlane } from '../../harness/kube.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '../../..');

export type LogLine = Record<string, unknown> & { level: string; msg: string };

export class OperatorProcess {
  readonly lines: LogLine[] = [];
  readonly stderrText: string[] = [];
  private exited: Promise<number | null>;
  private unregister: () => void;
  metricsUrl = '';
  healthUrl = '';

  private constructor(readonly child: ChildProcess) {
    const pid = child.pid!;
    this.unregister = registerCleanup(() => {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    });
    let buffer = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        try {
          this.lines.push(JSON.parse(line) as LogLine);
        } catch {
          this.stderrText.push(line);
        }
      }
    });
    child.stdout!.resume();
    this.exited = new Promise((r) =>
      child.once('exit', (code) => {
        this.unregister();
        r(code);
      }),
    );
  }

  static async start(cp: ControlPlane, args: string[] = []): Promise<OperatorProcess> {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(HERE, 'cli-entry.ts'), 'operator', '--kubeconfig', cp.kubeconfigPath, '--metrics-addr', '127.0.0.1:0', '--health-addr', '127.0.0.1:0', '--log-level', 'debug', ...args],
      { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, POD_NAMESPACE: 'default' } },
    );
    const op = new OperatorProcess(child);
    const serving = await op.waitForLog((l) => l.msg === 'serving http', 60_000, 2);
    for (const l of serving) {
      const paths = l.paths as string[];
      if (paths.includes('/metrics')) op.metricsUrl = String(l.url).replace(/\/$/, '');
      if (paths.includes('/readyz')) op.healthUrl = String(l.url).replace(/\/$/, '');
    }
    return op;
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves with the first `count` log lines matching (waiting for them); rejects on timeout or exit. */
  async waitForLog(match: (l: LogLine) => boolean, timeoutMs = 30_000, count = 1): Promise<LogLine[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.filter(match);
      if (found.length >= count) return found.slice(0, count);
      if (!this.running) throw new Error(`operator exited (${this.child.exitCode ?? this.child.signalCode}) while waiting for a log line:\n${this.tail()}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for a log line:\n${this.tail()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  tail(n = 20): string {
    return [...this.lines.slice(-n).map((l) => JSON.stringify(l)), ...this.stderrText.slice(-5)].join('\n');
  }

  async metrics(): Promise<string> {
    const res = await fetch(`${this.metricsUrl}/metrics`);
    return res.text();
  }

  /** Sum of a counter over the series whose labels include all of `labels`. */
  async counter(name: string, labels: Record<string, string> = {}): Promise<number> {
    let sum = 0;
    for (const line of (await this.metrics()).split('\n')) {
      const m = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
      if (!m || m[1] !== name) continue;
      const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
      if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[3]);
    }
    return sum;
  }

  /** SIGTERM and wait; resolves with the exit code. */
  async stop(timeoutMs = 20_000): Promise<number | null> {
    if (!this.running) return this.exited;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  /** SIGKILL: a crash, nothing released. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

/** Polls `check` until it returns a value other than undefined/false. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 30_000, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
