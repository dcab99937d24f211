/**
 * Structured JSON logging: one object per line on stderr (or a given sink),
 * so log collectors can index fields instead of parsing prose.
 *
 *   {"ts":"2026-11-21T06:00:00.000Z","level":"info","msg":"reconciled","component":"operator","group":"web"}
 *
 * A logger carries fields that every line repeats (`child` adds more), which
 * is how a reconcile loop tags every line with the object it works on.
 */

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFields = Record<string, unknown>;

/** Where finished lines go; each call receives one complete line without its newline. */
export type LogSink = (line: string) => void;

export interface LoggerOptions {
  /** Lines below this level are dropped (default `info`). */
  level?: LogLevel;
  /** Default: write to process.stderr. */
  sink?: LogSink;
  /** Fields added to every line. */
  fields?: LogFields;
  /** Time source, for tests. */
  now?: () => Date;
}

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Parses a level name case-insensitively; throws naming the accepted values. */
export function parseLogLevel(value: string): LogLevel {
  const level = value.toLowerCase();
  if ((LOG_LEVELS as readonly string[]).includes(level)) return level as LogLevel;
  throw new Error(`invalid log level "${value}": expected one of ${LOG_LEVELS.join(', ')}`);
}

const stderrSink: LogSink = (line) => {
  process.stderr.write(line + '\n');
};

// Keys the logger writes itself; a caller's field with the same name is kept
// under a prefixed key instead of silently replacing them.
const reserved = new Set(['ts', 'level', 'msg']);

export class Logger {
  private readonly level: LogLevel;
  private readonly sink: LogSink;
  private readonly fields: LogFields;
  private readonly now: () => Date;

  constructor(options: LoggerOptions = {}) {
    this.level = options.level ?? 'info';
    this.sink = options.sink ?? stderrSink;
    this.fields = options.fields ?? {};
    this.now = options.now ?? (() => new Date());
  }

  /** A logger that adds `fields` to every line (overriding same-named ones of this logger). */
  child(fields: LogFields): Logger {
    return new Logger({ level: this.level, sink: this.sink, now: this.now, fields: { ...this.fields, ...fields } });
  }

  enabled(level: LogLevel): boolean {
    return rank[level] >= rank[this.level];
  }

  debug(msg: string, fields?: LogFields): void {
    this.log('debug', msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.log('info', msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.log('warn', msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.log('error', msg, fields);
  }

  log(level: LogLevel, msg: string, fields?: LogFields): void {
    if (!this.enabled(level)) return;
    const entry: LogFields = { ts: this.now().toISOString(), level, msg };
    for (const source of [this.fields, fields ?? {}]) {
      for (const [key, value] of Object.entries(source)) {
        if (value === undefined) continue;
        entry[reserved.has(key) ? `field.${key}` : key] = value;
      }
    }
    let line: string;
    try {
      line = JSON.stringify(entry, replacer());
    } catch (err) {
      // A field that cannot be serialised must not lose the message itself.
      line = JSON.stringify({ ts: entry.ts, level, msg, logError: (err as Error).message });
    }
    try {
      this.sink(line);
    } catch {
      // Logging never takes the process down (e.g. EPIPE on a closed stderr).
    }
  }
}

/** JSON replacer: Errors as {name,message,...}, bigint as string, cycles cut. */
function replacer(): (this: unknown, key: string, value: unknown) => unknown {
  const seen = new WeakSet<object>();
  return function (_key, value) {
    if (typeof value === 'bigint') return value.toString();
    if (value instanceof Error) return errorFields(value);
    if (value instanceof Map) return Object.fromEntries(value);
    if (value instanceof Set) return [...value];
    if (typeof value === 'object' && value !== null) {
      if (seen.has(value)) return '[circular]';
      seen.add(value);
    }
    return value;
  };
}

function errorFields(err: Error): LogFields {
  const out: LogFields = { name: err.name, message: err.message };
  // Typed errors carry their context (offset, field, errno) as own properties.
  for (const [key, value] of Object.entries(err)) if (key !== 'stack') out[key] = value;
  // Where it was thrown: the frames only (the first line repeats name and message).
  const frames = err.stack?.split('\n').filter((line) => /^\s+at /.test(line)).map((line) => line.trim());
  if (frames && frames.length > 0) out.stack = frames.join('\n');
  if (err.cause !== undefined) out.cause = err.cause instanceof Error ? errorFields(err.cause) : err.cause;
  return out;
}

/** A logger that drops everything (tests, libraries used without a logger). */
export const silentLogger = new Logger({ sink: () => undefined, level: 'error' });
