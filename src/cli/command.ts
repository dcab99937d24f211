/**
 * A subcommand of `evpn-ecmp`. Each lives in its own module and is listed in
 * `commands.ts`; `main.ts` only dispatches.
 */
export interface Command {
  /** The word typed after `evpn-ecmp`. */
  name: string;
  /** One line for `evpn-ecmp --help`. */
  summary: string;
  /** Full usage text for `evpn-ecmp NAME --help`. */
  usage: string;
  /** Runs the command; resolves to the process exit code. */
  run(args: string[]): Promise<number>;
}

/** A bad flag or argument: the CLI prints the message on one line and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
