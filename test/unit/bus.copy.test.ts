import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { copyAsJson } from '../../src/bus/copy.js';

const throughJson = (value: unknown): unknown => (value === undefined ? undefined : JSON.parse(JSON.stringify(value)));

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

const nullPrototype = Object.assign(Object.create(null) as object, { a: 1, nested: { b: [2] } });
const withGetter = Object.defineProperty({ plain: 1 }, 'computed', { enumerable: true, get: () => 'got' });
const withHidden = Object.defineProperty({ shown: 1 }, 'hidden', { enumerable: false, value: 2 });
const arrayWithToJson = Object.assign([1, 2], { toJSON: () => 'array as text' });
const arrayWithExtra = Object.assign([1, 2], { extra: 'left out' });
let deep: unknown = 'bottom';
for (let level = 0; level < 100; level++) deep = { level, next: [deep] };

const values: Record<string, unknown> = {
  'a string': 'text with "quotes", \\, \u2028 and a lone \ud800',
  zero: 0,
  'negative zero': -0,
  'negative zero inside': { n: -0, list: [-0] },
  'a fraction': -1.5e-7,
  'the largest number': Number.MAX_VALUE,
  true: true,
  null: null,
  NaN: Number.NaN,
  'infinities inside': { up: Infinity, down: [-Infinity] },
  'a login answer': {
    permission: { publish: { audio: true, video: false }, subscribe: { audio: true, video: true } },
    room: { id: 'r', views: ['common'], participants: [{ id: 'p1', role: 'presenter', user: 'u1' }], streams: [] },
  },
  'an undefined field': { kept: 1, gone: undefined },
  'an undefined item': [1, undefined, 3],
  'a sparse array': [1, , 3],
  'functions and symbols': { f: () => 1, s: Symbol('s'), list: [() => 1, Symbol('t')], [Symbol('key')]: 1 },
  'a Date': { at: new Date(0) },
  'an object with toJSON': { inner: { toJSON: () => ({ replaced: true }) } },
  'an array with toJSON': { list: arrayWithToJson },
  'an array with a named property': arrayWithExtra,
  'a class instance': { point: new Point(1, 2) },
  'a Map and a Set': { map: new Map([['a', 1]]), set: new Set([1]) },
  'an Error': { error: new Error('boom') },
  'a typed array': { bytes: new Uint8Array([1, 2]) },
  'boxed primitives': { n: new Number(1), s: new String('s'), b: new Boolean(false) },
  'a null-prototype object': nullPrototype,
  'an own __proto__ key': JSON.parse('{"__proto__": {"polluted": true}, "other": 1}'),
  'an enumerable getter': withGetter,
  'a non-enumerable property': withHidden,
  'integer-like keys': { b: 1, 2: 'two', a: 1, 1: 'one' },
  'deep nesting': deep,
  'a top-level undefined': undefined,
};

describe('copyAsJson: a payload as JSON carries it', () => {
  for (const [name, value] of Object.entries(values)) {
    it(`copies ${name} as JSON.parse(JSON.stringify(…)) does`, () => {
      assert.deepStrictEqual(copyAsJson(value), throughJson(value));
    });
  }

  it('shares nothing with what it copied', () => {
    const original = { room: { participants: [{ id: 'p1' }] } };
    const copy = copyAsJson(original);
    copy.room.participants[0]!.id = 'changed';
    copy.room.participants.push({ id: 'p2' });
    assert.deepStrictEqual(original, { room: { participants: [{ id: 'p1' }] } });
  });

  it('leaves no prototype pollution behind an own __proto__ key', () => {
    const copy = copyAsJson(values['an own __proto__ key']) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(copy), Object.prototype);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  const unencodable: Record<string, unknown> = {
    'a BigInt': { n: 1n },
    'a cycle': (() => {
      const node: Record<string, unknown> = { name: 'loop' };
      node.self = [node];
      return node;
    })(),
    'a top-level function': () => 1,
    'a getter that throws': Object.defineProperty({}, 'bad', {
      enumerable: true,
      get: () => {
        throw new RangeError('no value');
      },
    }),
  };
  for (const [name, value] of Object.entries(unencodable)) {
    it(`throws for ${name} what JSON throws`, () => {
      let expected: unknown;
      try {
        throughJson(value);
      } catch (error) {
        expected = error;
      }
      assert.ok(expected instanceof Error, 'JSON throws');
      assert.throws(
        () => copyAsJson(value),
        (error: unknown) => error instanceof Error && error.constructor === expected.constructor && error.message === expected.message,
      );
    });
  }
});
