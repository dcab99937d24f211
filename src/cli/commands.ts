import type { CommandEntry } from './command.js';

/** Every subcommand `evpn-ecmp` offers, in the order `--help` lists them. */
export const commands: CommandEntry[] = [
  {
    name: 'agent',
    summary: 'program one node (kernel fdb nexthop groups + OVS select groups); standalone with --state-file',
    load: async () => (await import('./agent.js')).agentCommand,
  },
  {
    name: 'inspect',
    summary: 'show what a node really holds, decoded the way the agent sees it',
    load: async () => (await import('./inspect.js')).inspectCommand,
  },
  {
    name: 'lab',
    summary: 'the local lab: control plane, operator, simulated nodes and fabric on one machine (up|status|down)',
    load: async () => (await import('./lab.js')).labCommand,
  },
  {
    name: 'operator',
    summary: 'run the operator: render per-node specs, aggregate node status (leader-elected)',
    load: async () => (await import('./operator.js')).operatorCommand,
  },
];
