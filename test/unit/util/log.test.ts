import { describe, expect, it } from 'vitest';
import { Logger, parseLogLevel } from '../../../src/util/log.js';

function collect(level?: 'debug' | 'info' | 'warn' | 'error') {
  const lines: string[] = [];
  const log = new Logger({ level, sink: (l) => lines.push(l), now: () => new Date('2026-11-21T06:00:00Z') });
  return { log, lines, parsed: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('Logger', () => {
  it('writes one JSON object per line with ts, level, msg and fields', () => {
    const { log, lines, parsed } = collect();
    log.info('reconciled', { group: 'web', nodes: 3 });
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('\n');
    expect(parsed()[0]).toEqual({ ts: '2026-11-21T06:00:00.000Z', level: 'info', msg: 'reconciled', group: 'web', nodes: 3 });
  });

  it('drops lines below its level', () => {
    const { log, parsed } = collect('warn');
    log.debug('a');
    log.info('b');
    log.warn('c');
    log.error('d');
    expect(parsed().map((e) => e.msg)).toEqual(['c', 'd']);
    expect(log.enabled('info')).toBe(false);
    expect(log.enabled('error')).toBe(true);
  });

  it('child loggers repeat their fields and may override them', () => {
    const { log, parsed } = collect();
    const child = log.child({ component: 'operator', key: 'a' }).child({ key: 'b' });
    child.info('x', { extra: true });
    expect(parsed()[0]).toMatchObject({ component: 'operator', key: 'b', extra: true });
  });

  it('serialises errors with their own properties and causes, bigint and cycles', () => {
    const { log, parsed } = collect();
    const cause = new Error('root');
    const err = Object.assign(new Error('bad attribute', { cause }), { offset: 12 });
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    log.error('decode failed', { err, id: 3959422976n, cyclic });
    const entry = parsed()[0]!;
    expect(entry.err).toEqual({
      name: 'Error',
      message: 'bad attribute',
      offset: 12,
      stack: expect.stringMatching(/^at .*log\.test\.ts:\d+:\d+\)?(\n|$)/),
      cause: { name: 'Error', message: 'root', stack: expect.stringMatching(/^at .*log\.test\.ts/) },
    });
    expect(entry.id).toBe('3959422976');
    expect(entry.cyclic).toEqual({ a: 1, self: '[circular]' });
  });

  it('keeps reserved keys from being overwritten by fields', () => {
    const { log, parsed } = collect();
    log.info('real', { msg: 'fake', level: 'error' });
    expect(parsed()[0]).toMatchObject({ msg: 'real', level: 'info', 'field.msg': 'fake', 'field.level': 'error' });
  });

  it('a failing sink does not throw into the caller', () => {
    const log = new Logger({ sink: () => { throw new Error('EPIPE'); } });
    expect(() => log.error('x')).not.toThrow();
  });
});

describe('parseLogLevel', () => {
  it('accepts level names case-insensitively and rejects others', () => {
    expect(parseLogLevel('DEBUG')).toBe('debug');
    expect(() => parseLogLevel('verbose')).toThrow(/expected one of debug, info, warn, error/);
  });
});
