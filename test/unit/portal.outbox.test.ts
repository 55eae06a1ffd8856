import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Outbox } from '../../src/portal/outbox.js';

const seqs = (outbox: Outbox, now: number) => outbox.recent(now).map((message) => message.seq);

describe('outbox', () => {
  test('keeps the last `capacity` delivered notifications in order through many evictions', () => {
    const outbox = new Outbox(60_000, 3);
    for (let index = 1; index <= 1_000; index++) outbox.append('text', index, true, index, 0);
    assert.deepEqual(seqs(outbox, 0), [998, 999, 1000]);
    assert.equal(outbox.lost, false);
  });

  test('delivered notifications older than the window go; pending ones stay until drained', () => {
    const outbox = new Outbox(1_000, 10);
    outbox.append('a', 1, true, 1, 0);
    outbox.append('b', 2, false, 2, 0);
    outbox.append('c', 3, true, 3, 500);
    assert.deepEqual(seqs(outbox, 1_200), [2, 3]);
    assert.deepEqual(outbox.drainPending().map((message) => message.event), ['b']);
    assert.deepEqual(outbox.drainPending(), []);
    assert.deepEqual(seqs(outbox, 5_000), []);
  });

  test('forgetAged lets go of delivered notifications past the window, and only of them', () => {
    const outbox = new Outbox(1_000, 10);
    outbox.append('a', 1, true, 1, 0);
    outbox.append('b', 2, false, 2, 0);
    outbox.append('c', 3, true, 3, 900);
    outbox.forgetAged(999);
    assert.equal(outbox.size, 3);
    outbox.forgetAged(1_500);
    assert.equal(outbox.size, 2);
    assert.deepEqual(outbox.drainPending().map((message) => message.event), ['b']);
    outbox.forgetAged(2_000);
    assert.equal(outbox.size, 0);
  });

  test('a pending notification pushed out by the capacity marks the outbox lost', () => {
    const outbox = new Outbox(60_000, 2);
    for (let index = 1; index <= 3; index++) outbox.append('text', index, false, index, 0);
    assert.equal(outbox.lost, true);
    assert.deepEqual(outbox.drainPending().map((message) => message.seq), [2, 3]);
  });

  test('without a window a delivered notification is not kept at all', () => {
    const outbox = new Outbox(0, 10);
    outbox.append('text', 1, true, 1, 0);
    assert.deepEqual(seqs(outbox, 0), []);
  });

  test('numbers need not follow each other, and a number not above the last is a copy it refuses', () => {
    const outbox = new Outbox(60_000, 10);
    assert.equal(outbox.append('a', 1, true, 4, 0)?.seq, 4);
    assert.equal(outbox.append('a again', 1, false, 4, 0), undefined);
    assert.equal(outbox.append('older', 0, false, 2, 0), undefined);
    outbox.append('b', 2, false, 9, 0);
    assert.deepEqual(seqs(outbox, 0), [4, 9]);
    assert.equal(outbox.lastDelivered, 4);
    outbox.drainPending();
    assert.equal(outbox.lastDelivered, 9);
  });
});
