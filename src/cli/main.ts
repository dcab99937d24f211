import { ConfigError } from '../util/errors.js';
import { UsageError } from './command.js';
import { commands } from './commands.js';
import { packageVersion } from './version.js';

function helpText(): string {
  const width = Math.max(...commands.map((c) => c.name.length), 4);
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    'evpn-ecmp — EVPN ECMP for Kubernetes nodes: kernel fdb nexthop groups mirrored into Open vSwitch select groups',
    '',
    'Usage: evpn-ecmp <command> [flags]',
    '',
    'Commands:',
    ...lines,
    '',
    'Flags:',
    '  -h, --help     show this help, or a command\'s with `evpn-ecmp <command> --help`',
    '  -V, --version  print the version',
  ].join('\n');
}

/** Dispatches argv (without node and script) to a subcommand; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '-h' || first === '--help' || first === 'help') {
    process.stdout.write(helpText() + '\n');
    return first === undefined ? 2 : 0;
  }
  if (first === '-V' || first === '--version') {
    process.stdout.write(packageVersion() + '\n');
    return 0;
  }
  const entry = commands.find((c) => c.name === first);
  if (!entry) {
    process.stderr.write(`evpn-ecmp: unknown command "${first}" (see evpn-ecmp --help)\n`);
    return 2;
  }
  const command = await entry.load();
  if (rest.includes('-h') || rest.includes('--help')) {
    process.stdout.write(command.usage + '\n');
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`evpn-ecmp ${command.name}: ${err.message}\n`);
      return 2;
    }
    const message = err instanceof Error ? err.message : String(err);
    // The reason on the first line; an unexpected error's stack below it,
    // so a crash report says where (a ConfigError's message says it all).
    const trace = err instanceof Error && !(err instanceof ConfigError) ? stackLines(err) : '';
    process.stderr.write(`evpn-ecmp ${command.name}: ${message.split('\n')[0]}\n${trace}`);
    return 1;
  }
}

/** The frames of `err`'s stack (and of its causes), one per line, indented. */
function stackLines(err: Error, depth = 0): string {
  const frames = (err.stack ?? '').split('\n').filter((line) => /^\s+at /.test(line));
  let out = frames.map((f) => `  ${f.trim()}\n`).join('');
  if (err.cause instanceof Error && depth < 5) out += `  caused by ${err.cause.name}: ${err.cause.message.split('\n')[0]}\n${stackLines(err.cause, depth + 1)}`;
  return out;
}
