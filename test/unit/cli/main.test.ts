import { describe, expect, it, vi, afterEach } from 'vitest';
import { main } from '../../../src/cli/main.js';
import { commands } from '../../../src/cli/commands.js';

function capture() {
  let out = '';
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  return { out: () => out, err: () => err };
}

describe('evpn-ecmp CLI', () => {
  afterEach(() => vi.restoreAllMocks());

  it('--help lists every registered subcommand and exits 0', async () => {
    const io = capture();
    expect(await main(['--help'])).toBe(0);
    for (const c of commands) expect(io.out()).toContain(c.name);
    expect(io.out()).toContain('Usage: evpn-ecmp <command>');
  });

  it('loads each listed command from its module, under its own name', async () => {
    for (const entry of commands) {
      const command = await entry.load();
      expect(command.name).toBe(entry.name);
      expect(command.usage).toContain(entry.name);
    }
  });

  it('--version prints the package version', async () => {
    const io = capture();
    expect(await main(['--version'])).toBe(0);
    expect(io.out().trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('an unknown command exits 2 with a one-line reason', async () => {
    const io = capture();
    expect(await main(['frobnicate'])).toBe(2);
    expect(io.err()).toBe('evpn-ecmp: unknown command "frobnicate" (see evpn-ecmp --help)\n');
  });

  it('no arguments prints help and exits 2', async () => {
    const io = capture();
    expect(await main([])).toBe(2);
    expect(io.out()).toContain('Commands:');
  });
});
