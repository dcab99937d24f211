/**
 * Running external tools (ip, ovs-vsctl, kubectl, openssl) without a shell:
 * output collected, failures carried as a CommandError with stderr.
 */
import { execFile, execFileSync } from 'node:child_process';

export interface ExecResult {
  stdout: string;
  stderr: string;
}

/** An external command that exited non-zero; the message carries its stderr. */
export class CommandError extends Error {
  override name = 'CommandError';
  constructor(
    readonly command: string,
    readonly code: number | string | null,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(`${command} failed (${code}): ${stderr.trim() || stdout.trim()}`);
  }
}

/** Runs a command without a shell and resolves with its output; rejects with CommandError. */
export function run(
  cmd: string,
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {},
): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      { env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 60_000, maxBuffer: 256 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) {
          const code = (err as NodeJS.ErrnoException & { code?: number | string }).code ?? null;
          reject(new CommandError([cmd, ...args].join(' '), code, stdout, stderr));
        } else {
          resolve({ stdout, stderr });
        }
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Synchronous variant for exit handlers, where nothing asynchronous runs any more. */
export function runSync(cmd: string, args: readonly string[]): void {
  try {
    execFileSync(cmd, args, { stdio: 'ignore', timeout: 10_000 });
  } catch {
    // Best effort: used only for last-chance cleanup.
  }
}

/** True when `name` is an executable on PATH (or an absolute path that exists). */
export function haveCommand(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v "$0"`, name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
