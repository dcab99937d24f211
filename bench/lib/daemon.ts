/**
 * A long-running `evpn-ecmp` subcommand (agent, operator) as a child of the
 * bench process: the compiled CLI (bin/evpn-ecmp.js → dist/, built by bench/run.sh),
 * so start-up and memory figures are those of the shipped program, not of a
 * source loader. JSON log lines are kept for error messages; the process is
 * stopped by its pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

/** The published entry point (bin/evpn-ecmp.js runs dist/cli/main.js). */
export const CLI = new URL('../../bin/evpn-ecmp.js', import.meta.url).pathname;
const COMPILED = new URL('../../dist/cli/main.js', import.meta.url).pathname;

export class CliDaemon {
  readonly lines: string[] = [];
  private exited: Promise<number | null>;

  private constructor(readonly child: ChildProcess) {
    let partial = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      partial += chunk;
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      this.lines.push(...lines);
      if (this.lines.length > 5000) this.lines.splice(0, this.lines.length - 1000);
    });
    child.stdout!.resume();
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    process.once('exit', () => this.kill());
  }

  /** `nodeArgs` go to node itself, before the CLI (e.g. `--cpu-prof`, which NODE_OPTIONS refuses). */
  static start(args: readonly string[], env: NodeJS.ProcessEnv = process.env, nodeArgs: readonly string[] = []): CliDaemon {
    if (!existsSync(COMPILED)) throw new Error(`${COMPILED} missing: build first (npx tsc -p tsconfig.build.json)`);
    return new CliDaemon(spawn(process.execPath, [...nodeArgs, CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env }));
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  tail(n = 20): string {
    return this.lines.slice(-n).join('\n');
  }

  /** The JSON log lines parsed (lines that are not JSON are skipped). */
  logRecords(): Array<Record<string, unknown>> {
    const out: Array<Record<string, unknown>> = [];
    for (const l of this.lines) {
      try {
        out.push(JSON.parse(l) as Record<string, unknown>);
      } catch {
        // not a log record
      }
    }
    return out;
  }

  /** SIGTERM, SIGKILL after `timeoutMs`; resolves with the exit code. */
  async stop(timeoutMs = 15_000): Promise<number | null> {
    if (!this.running) return this.exited;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.kill(), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  kill(): void {
    if (!this.running) return;
    try {
      process.kill(this.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }

  /** Resident set size now and at its peak (VmRSS / VmHWM), in MiB. */
  memoryMiB(): { rss: number; peak: number } {
    const text = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? Number.NaN);
    return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
  }

  /** User + system CPU seconds consumed so far. */
  cpuSeconds(): number {
    return cpuSecondsOf(this.pid);
  }
}

/** User + system CPU seconds process `pid` consumed so far (/proc/PID/stat fields 14 and 15). */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks / 100; // USER_HZ is 100 on Linux
}

/** Waits until `check` returns a value other than undefined/false; the error names `what`. */
export async function until<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs: number, intervalMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
