import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Lab } from '../../../src/lab/lab.js';

describe('lab down without a healthy lab', () => {
  const dirs: string[] = [];
  const temp = () => {
    const d = mkdtempSync(join(tmpdir(), 'evpn-labunit-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('leaves a directory without lab.json alone: it is not a lab', async () => {
    const dir = temp();
    writeFileSync(join(dir, 'precious.txt'), 'keep me');
    expect(await Lab.down(dir)).toEqual([]);
    expect(existsSync(join(dir, 'precious.txt'))).toBe(true);
  });

  it('still removes a lab whose lab.json is damaged, saying why', async () => {
    const dir = temp();
    writeFileSync(join(dir, 'lab.json'), '{"version": 1, "nodes": [');
    const said: string[] = [];
    expect(await Lab.down(dir, (l) => said.push(l))).toEqual([`directory ${dir}`]);
    expect(existsSync(dir)).toBe(false);
    expect(said.join('\n')).toMatch(/lab\.json: not JSON/);
  });
});
