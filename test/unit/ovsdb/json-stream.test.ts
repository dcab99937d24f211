import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { JsonStreamError, JsonValueSplitter } from '../../../src/lib/ovsdb/json-stream.js';
import { fromOvsdbMap, fromOvsdbOptional, fromOvsdbSet, ovsdbMap } from '../../../src/lib/ovsdb/client.js';

describe('OVSDB JSON-RPC stream splitting', () => {
  it('splits back-to-back values however the stream is chunked', () => {
    fc.assert(
      fc.property(fc.array(fc.jsonValue().map((v) => ({ id: 1, result: v, s: 'q"}{]["\\' })), { minLength: 1, maxLength: 5 }), fc.integer({ min: 1, max: 17 }), (values, size) => {
        const text = values.map((v) => JSON.stringify(v)).join('');
        const s = new JsonValueSplitter();
        const got: unknown[] = [];
        for (let i = 0; i < text.length; i += size) got.push(...s.push(text.slice(i, i + size)).map((t) => JSON.parse(t) as unknown));
        expect(got).toEqual(values.map((v) => JSON.parse(JSON.stringify(v)) as unknown));
      }),
      { numRuns: 300 },
    );
  });

  it('rejects an unbalanced stream instead of buffering forever', () => {
    expect(() => new JsonValueSplitter().push('{"a":1}}')).toThrow(/unbalanced/);
    expect(() => new JsonValueSplitter(10).push('{"a":"01234567890123"')).toThrow(/larger than 10/);
  });

  it('names the stream offset of bad input, counted across chunks', () => {
    const s = new JsonValueSplitter();
    expect(s.push('{"id":1,"result":["a}{"]}{"id":')).toEqual(['{"id":1,"result":["a}{"]}']);
    expect(s.push('2,"x":"\\"}"}')).toEqual(['{"id":2,"x":"\\"}"}']);
    const err = (() => {
      try {
        s.push(' ]');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(JsonStreamError);
    // 31 + 12 characters before, then a space: the bracket is at offset 44.
    expect((err as JsonStreamError).offset).toBe(44);
    expect((err as Error).message).toMatch(/at stream offset 44$/);
    const big = new JsonValueSplitter(8);
    big.push('{}{}');
    expect(() => big.push('["0123456789"')).toThrow(/larger than 8 bytes at stream offset 4/);
  });

  it('converts OVSDB maps, sets and optional values', () => {
    expect(ovsdbMap({ key: 'flow', remote_ip: 'flow' })).toEqual(['map', [['key', 'flow'], ['remote_ip', 'flow']]]);
    expect(fromOvsdbMap(['map', [['evpn-vni', '100']]])).toEqual({ 'evpn-vni': '100' });
    expect(fromOvsdbOptional(['set', []])).toBeUndefined();
    expect(fromOvsdbOptional(7)).toBe(7);
    expect(fromOvsdbSet(['set', ['a', 'b']])).toEqual(['a', 'b']);
  });
});
