import { describe, expect, it } from 'vitest';
import { evaluateJsonPath, type JsonPath, parseJsonPath } from './jsonpath.ts';

function parse(text: string): JsonPath {
  const p = parseJsonPath(text);
  if ('error' in p) throw new Error(p.error);
  return p;
}

function at(document: unknown, text: string): unknown {
  const r = evaluateJsonPath(document, parse(text));
  return r.found ? r.value : '<missing>';
}

describe('parseJsonPath', () => {
  it('parses the supported forms into segments', () => {
    expect(parse('$').segments).toEqual([]);
    expect(parse('$.a.b').segments).toEqual([{ member: 'a' }, { member: 'b' }]);
    expect(parse('$.items[0].value').segments).toEqual([
      { member: 'items' },
      { index: 0 },
      { member: 'value' },
    ]);
    expect(parse("$['key with space']").segments).toEqual([{ member: 'key with space' }]);
    expect(parse('$["double"][ -1 ]').segments).toEqual([{ member: 'double' }, { index: -1 }]);
    expect(parse("$['it\\'s'].x-y._z$").segments).toEqual([
      { member: "it's" },
      { member: 'x-y' },
      { member: '_z$' },
    ]);
    expect(parse("$['a.b[0]']").segments).toEqual([{ member: 'a.b[0]' }]);
  });

  it.each([
    ['', 'must start with "$"'],
    ['a.b', 'must start with "$"'],
    ['$.', 'expected a member name'],
    ['$..a', 'expected a member name'],
    ['$[', 'expected a quoted name or an integer index'],
    ['$[*]', 'expected a quoted name or an integer index'],
    ['$[?(@.a)]', 'expected a quoted name or an integer index'],
    ["$['open", 'unterminated quoted name'],
    ['$[0', 'expected "]"'],
    ['$[0:2]', 'expected "]"'],
    ['$a', 'unexpected "a"'],
    ['$.a b', 'unexpected " "'],
    ['$[99999999999999999999]', 'index out of range'],
  ])('rejects %j with a message (%s)', (text, message) => {
    const p = parseJsonPath(text);
    expect('error' in p && p.error).toContain(message);
  });
});

describe('evaluateJsonPath', () => {
  const doc = {
    errors: 3,
    ok: true,
    nothing: null,
    'key with space': 'spaced',
    nested: { a: { b: 'deep' } },
    items: [{ value: 10 }, { value: 20 }, { value: 30 }],
  };

  it('finds values of every JSON type, objects and arrays as they are', () => {
    expect(at(doc, '$')).toEqual(doc);
    expect(at(doc, '$.errors')).toBe(3);
    expect(at(doc, '$.ok')).toBe(true);
    expect(at(doc, '$.nothing')).toBeNull();
    expect(at(doc, "$['key with space']")).toBe('spaced');
    expect(at(doc, '$.nested.a.b')).toBe('deep');
    expect(at(doc, '$.nested.a')).toEqual({ b: 'deep' });
    expect(at(doc, '$.items[1].value')).toBe(20);
    expect(at(doc, '$.items[-1].value')).toBe(30);
    expect(at(doc, '$.items')).toHaveLength(3);
    expect(at([1, 2], '$[0]')).toBe(1);
    expect(at(42, '$')).toBe(42);
  });

  it('says where the path stopped when something is missing', () => {
    expect(evaluateJsonPath(doc, parse('$.nested.x.y'))).toEqual({
      found: false,
      missing: '$["nested"]["x"]',
    });
    expect(evaluateJsonPath(doc, parse('$.items[3]'))).toEqual({ found: false, missing: '$["items"][3]' });
    expect(evaluateJsonPath(doc, parse('$.items[-4]'))).toEqual({ found: false, missing: '$["items"][-4]' });
  });

  it('does not index objects by number, arrays by name, or scalars at all', () => {
    expect(at({ 0: 'zero' }, '$[0]')).toBe('<missing>');
    expect(at(doc, '$.items.length')).toBe('<missing>');
    expect(at(doc, '$.errors.a')).toBe('<missing>');
    expect(at(doc, '$.nothing.a')).toBe('<missing>');
    expect(at('text', '$[0]')).toBe('<missing>');
  });

  it('never reaches prototype properties, only what the JSON contains', () => {
    expect(at(doc, '$.constructor')).toBe('<missing>');
    expect(at(doc, '$.toString')).toBe('<missing>');
    expect(at(doc, "$['__proto__']")).toBe('<missing>');
    // JSON.parse makes "__proto__" an own member; then it is data like any other.
    expect(at(JSON.parse('{"__proto__": {"x": 1}}'), '$.__proto__.x')).toBe(1);
  });
});
