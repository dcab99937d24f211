import { UsageError, type Command, type InspectTarget } from './command.js';
import { inspectKernelTarget } from './inspect-kernel.js';
import { inspectOvsTarget } from './inspect-ovs.js';

/** Registered targets; each lives in its own module (inspect-kernel.ts, inspect-ovs.ts). */
export const inspectTargets: InspectTarget[] = [inspectKernelTarget, inspectOvsTarget];

export const inspectCommand: Command = {
  name: 'inspect',
  get usage() {
    return [
      'Usage: evpn-ecmp inspect <target> [flags]',
      '',
      'Targets:',
      ...inspectTargets.map((t) => `  ${t.name.padEnd(8)} ${t.summary}`),
      '',
      ...inspectTargets.map((t) => t.usage),
    ].join('\n');
  },
  async run(args) {
    const [name, ...rest] = args;
    const target = inspectTargets.find((t) => t.name === name);
    if (!target) {
      throw new UsageError(`unknown target "${name ?? ''}": expected one of ${inspectTargets.map((t) => t.name).join(', ')}`);
    }
    return target.run(rest);
  },
};
