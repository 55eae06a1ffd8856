import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TypedEmitter } from '../../src/client/emitter.js';

interface Events extends Record<string, unknown> {
  count: number;
  word: string;
}

test('listeners are called in registration order with the payload, and emit says whether any was', () => {
  const emitter = new TypedEmitter<Events>();
  const calls: string[] = [];
  assert.equal(emitter.emit('count', 1), false);
  emitter.on('count', (value) => calls.push(`first ${value}`)).on('count', (value) => calls.push(`second ${value}`));
  emitter.on('word', (value) => calls.push(`word ${value}`));
  assert.equal(emitter.emit('count', 7), true);
  assert.deepEqual(calls, ['first 7', 'second 7']);
});

test('a once listener is called once; off removes on and once listeners alike', () => {
  const emitter = new TypedEmitter<Events>();
  const calls: number[] = [];
  const record = (value: number) => calls.push(value);
  emitter.once('count', record);
  emitter.emit('count', 1);
  emitter.emit('count', 2);
  emitter.on('count', record);
  emitter.off('count', record);
  emitter.once('count', record);
  emitter.off('count', record);
  emitter.emit('count', 3);
  assert.deepEqual(calls, [1]);
  assert.equal(emitter.emit('count', 4), false);
});

test('an emission calls the listeners registered when it began, whatever they add or remove', () => {
  const emitter = new TypedEmitter<Events>();
  const calls: string[] = [];
  const late = () => calls.push('late');
  const second = () => calls.push('second');
  emitter.on('word', () => {
    calls.push('first');
    emitter.off('word', second);
    emitter.on('word', late);
  });
  emitter.on('word', second);
  emitter.emit('word', 'a');
  emitter.emit('word', 'b');
  assert.deepEqual(calls, ['first', 'second', 'first', 'late']);
});
