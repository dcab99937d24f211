/**
 * A long-running helper process (etcd, ovs-vswitchd, an agent) started by
 * the lab or by a test, with its output appended to a log file.
 *
 * Two lifetimes share this launcher:
 * - `owned`: the process belongs to its starter (a test); the starter stops
 *   it, and its exit hooks kill it if it dies first;
 * - `detached`: the process gets its own session and survives the starter
 *   (`evpn-ecmp lab up` returns while the lab keeps running); a pid file
 *   next to the log lets a later `lab status`/`lab down` find it.
 *
 * Stopping always goes by pid, and a pid read back from a file is trusted
 * only while /proc/<pid>/cmdline still names the same program and marker
 * (pids are reused).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';

export type Lifetime = 'owned' | 'detached';

export interface DaemonSpec {
  /** Short name used in messages, status tables and file names. */
  name: string;
  command: string;
  args: readonly string[];
  /** Appended to (stdout and stderr). */
  logFile: string;
  /** Written with the pid (detached daemons need one to be found again). */
  pidFile?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  lifetime: Lifetime;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits for `p`, at most `ms`; the timer never outlives the wait (it would hold a CLI's exit). */
async function within(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

/** The NUL-separated command line of a process; undefined when it is gone. */
export function processCmdline(pid: number): string[] | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').filter((s) => s !== '');
  } catch {
    return undefined;
  }
}

/** True while the pid runs and is not a zombie waiting for its parent. */
export function pidRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 3, after the parenthesised command name (which may hold spaces).
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/**
 * True when `pid` runs and its command line contains every one of `marks`
 * (e.g. the program name and the lab directory) — the guard against
 * signalling a stranger that inherited a recycled pid.
 */
export function pidMatches(pid: number, marks: readonly string[]): boolean {
  if (!pidRunning(pid)) return false;
  const cmdline = processCmdline(pid)?.join(' ');
  return cmdline !== undefined && marks.every((m) => cmdline.includes(m));
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the pid is gone. */
export async function stopPid(pid: number, graceMs = 5_000): Promise<void> {
  if (!pidRunning(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (pidRunning(pid)) {
    if (Date.now() > deadline) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        return;
      }
      const hard = Date.now() + 5_000;
      while (pidRunning(pid) && Date.now() < hard) await sleep(20);
      return;
    }
    await sleep(20);
  }
}

/** Kills a pid at once, synchronously (exit hooks, where nothing asynchronous runs). */
export function killNow(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Pids whose command line names a path inside `dir` (our own process excepted). */
export function pidsUsing(dir: string): number[] {
  const out: number[] = [];
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid || !pidRunning(pid)) continue;
    const argv = processCmdline(pid);
    if (argv?.some((a) => a.includes(prefix))) out.push(pid);
  }
  return out;
}

export class Daemon {
  private constructor(
    readonly name: string,
    readonly pid: number,
    readonly logFile: string,
    /** Present when this process started it (exit status known without polling /proc). */
    private readonly child: ChildProcess | undefined,
    private readonly marks: readonly string[],
    private readonly pidFile: string | undefined,
  ) {
    // Resolves once Node has reaped the child (its 'exit' event): until then
    // a stopped child lingers as a zombie that `kill(pid, 0)` still finds.
    this.reaped = child
      ? new Promise((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) resolve();
          else child.once('exit', () => resolve());
        })
      : Promise.resolve();
  }

  private readonly reaped: Promise<void>;

  static spawn(spec: DaemonSpec): Daemon {
    const log = openSync(spec.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(spec.command, spec.args, {
        stdio: ['ignore', log, log],
        cwd: spec.cwd,
        env: spec.env ?? process.env,
        // Its own session: not killed with the starter's terminal or process group.
        detached: spec.lifetime === 'detached',
      });
    } finally {
      closeSync(log);
    }
    if (child.pid === undefined) throw new Error(`${spec.name}: could not start ${spec.command}`);
    // A spawn error (ENOENT) arrives as an event; keep it from crashing us:
    // the daemon then reads as exited.
    child.on('error', () => undefined);
    if (spec.lifetime === 'detached') child.unref();
    if (spec.pidFile) writeFileSync(spec.pidFile, `${child.pid}\n`);
    return new Daemon(spec.name, child.pid, spec.logFile, child, [spec.command.split('/').pop() ?? spec.command], spec.pidFile);
  }

  /**
   * A daemon started by an earlier process, found through its pid file.
   * Undefined when the file is missing or the pid no longer runs a process
   * whose command line holds every one of `marks`.
   */
  static fromPidFile(name: string, pidFile: string, logFile: string, marks: readonly string[]): Daemon | undefined {
    let pid: number;
    try {
      pid = Number(readFileSync(pidFile, 'utf8').trim());
    } catch {
      return undefined;
    }
    if (!Number.isInteger(pid) || pid <= 0 || !pidMatches(pid, marks)) return undefined;
    return new Daemon(name, pid, logFile, undefined, marks, pidFile);
  }

  get running(): boolean {
    if (this.child) return this.child.exitCode === null && this.child.signalCode === null && pidRunning(this.pid);
    return pidMatches(this.pid, this.marks);
  }

  /** How it ended, for error messages; undefined while running. */
  get exitDescription(): string | undefined {
    if (this.running) return undefined;
    const code = this.child?.exitCode ?? this.child?.signalCode;
    return code === undefined || code === null ? 'exited' : `exited (${code})`;
  }

  /** Last lines of its log. */
  logTail(lines = 30): string {
    try {
      return readFileSync(this.logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  /** Waits for it to end (no signal). */
  async waitExit(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.running) {
      if (Date.now() > deadline) return false;
      await sleep(20);
    }
    await within(this.reaped, Math.max(0, deadline - Date.now()));
    return true;
  }

  /** Stops it by pid (SIGTERM, SIGKILL after `graceMs`) and removes its pid file. */
  async stop(graceMs = 5_000): Promise<void> {
    if (this.running) await stopPid(this.pid, graceMs);
    await within(this.reaped, 5_000);
    if (this.pidFile) rmSync(this.pidFile, { force: true });
  }

  /** SIGKILL now (a crash, or an exit hook). */
  kill(): void {
    if (this.running) killNow(this.pid);
  }
}

/** Waits until `path` exists (a socket the daemon creates); fails early, with its log, when `by` exits first. */
export async function waitForFile(path: string, what: string, by: Daemon, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(path)) {
    if (!by.running) throw new Error(`${by.name} ${by.exitDescription ?? 'exited'} before creating ${what}; last lines of ${by.logFile}:\n${by.logTail(10)}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (${path})`);
    await sleep(50);
  }
}
