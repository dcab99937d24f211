import type { Command } from './command.js';

/** Every subcommand `evpn-ecmp` offers, in the order `--help` lists them. */
export const commands: Command[] = [];
