import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../../src/cli/main.js';
import { LOG_LEVEL_ENV, logLevelFrom } from '../../../src/cli/flags.js';

describe('log level of the long-running subcommands', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });

  it('takes --log-level, else $EVPN_ECMP_LOG_LEVEL (what the chart sets), else info', () => {
    expect(logLevelFrom('debug', { [LOG_LEVEL_ENV]: 'error' })).toBe('debug');
    expect(logLevelFrom(undefined, { [LOG_LEVEL_ENV]: 'WARN' })).toBe('warn');
    expect(logLevelFrom(undefined, {})).toBe('info');
    expect(() => logLevelFrom(undefined, { [LOG_LEVEL_ENV]: 'verbose' })).toThrow(/^EVPN_ECMP_LOG_LEVEL: invalid log level "verbose"/);
    expect(() => logLevelFrom('loud', {})).toThrow(/^--log-level: invalid log level "loud"/);
  });

  it.each(['agent', 'operator'])('the %s reads the chart\'s variable: a bad value is a usage error naming it', async (command) => {
    vi.stubEnv(LOG_LEVEL_ENV, 'verbose');
    let err = '';
    vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
    const args = command === 'agent' ? ['--node', 'n', '--state-file', '/nonexistent/s', '--status-file', '/nonexistent/t', '--ovs-rundir', '/nonexistent'] : [];
    expect(await main([command, ...args])).toBe(2);
    expect(err).toBe(`evpn-ecmp ${command}: EVPN_ECMP_LOG_LEVEL: invalid log level "verbose": expected one of debug, info, warn, error\n`);
  });
});
