import type { Command } from './command.js';
import { agentCommand } from './agent.js';
import { inspectCommand } from './inspect.js';
import { labCommand } from './lab.js';
import { operatorCommand } from './operator.js';

/** Every subcommand `evpn-ecmp` offers, in the order `--help` lists them. */
export const commands: Command[] = [agentCommand, inspectCommand, labCommand, operatorCommand];
