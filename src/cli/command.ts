/**
 * A subcommand of `evpn-ecmp`. Each lives in its own module and is listed in
 * `commands.ts` (with its one-line summary); `main.ts` only dispatches.
 */
export interface Command {
  /** The word typed after `evpn-ecmp`. */
  name: string;
  /** Full usage text for `evpn-ecmp NAME --help`. */
  usage: string;
  /** Runs the command; resolves to the process exit code. */
  run(args: string[]): Promise<number>;
}

/**
 * A subcommand as `evpn-ecmp --help` lists it. Its module is loaded only
 * when it runs: the agent, a long-running daemon on every node, then never
 * carries the operator's, the lab's or the Kubernetes client's code.
 */
export interface CommandEntry {
  name: string;
  /** One line for `evpn-ecmp --help`. */
  summary: string;
  load(): Promise<Command>;
}

/** A bad flag or argument: the CLI prints the message on one line and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** One thing `evpn-ecmp inspect` can show (the kernel's or Open vSwitch's view of a node). */
export interface InspectTarget {
  name: string;
  summary: string;
  usage: string;
  run(args: string[]): Promise<number>;
}
