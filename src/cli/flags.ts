import { parseArgs, type ParseArgsConfig } from 'node:util';
import { parseLogLevel, type LogLevel } from '../util/log.js';
import { UsageError } from './command.js';

type Options = NonNullable<ParseArgsConfig['options']>;
type Parsed<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: boolean }>>;

/**
 * Parses `--flag value` style arguments strictly: an unknown flag or a missing
 * value is a UsageError naming the flag, so every subcommand fails the same way.
 */
export function parseFlags<O extends Options>(args: string[], options: O, allowPositionals = false): Parsed<O> {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** The environment variable the Helm chart sets from its `logLevel` value. */
export const LOG_LEVEL_ENV = 'EVPN_ECMP_LOG_LEVEL';

/**
 * The log level of a long-running subcommand: `--log-level` if given, else
 * $EVPN_ECMP_LOG_LEVEL, else `info`. A bad value is a UsageError naming
 * where it came from.
 */
export function logLevelFrom(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): LogLevel {
  const [source, value] = flag !== undefined ? ['--log-level', flag] : env[LOG_LEVEL_ENV] !== undefined ? [LOG_LEVEL_ENV, env[LOG_LEVEL_ENV]] : ['--log-level', 'info'];
  try {
    return parseLogLevel(value);
  } catch (err) {
    throw new UsageError(`${source}: ${(err as Error).message}`);
  }
}

/** Go-style durations: 15s, 500ms, 1m, 1m30s; a UsageError naming `--flag` otherwise. */
export function parseDuration(value: string, flag: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  let matched = 0;
  for (let m = re.exec(value); m; m = re.exec(value)) {
    total += Number(m[1]) * unit[m[2]!]!;
    matched = re.lastIndex;
  }
  if (value === '' || matched !== value.length || total <= 0) throw new UsageError(`--${flag}: invalid duration "${value}" (e.g. 15s, 500ms, 1m)`);
  return total;
}
