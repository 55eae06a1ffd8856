import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { BusErrors, type Bus } from '../../src/bus/index.js';
import { ConferenceError, ConferenceErrors } from '../../src/conference/index.js';

/**
 * Two buses on one network: two connections to the broker for a networked backend, the same
 * instance twice for the in-process one. Every test closes both (close is idempotent).
 */
export type MakeBuses = () => Promise<[Bus, Bus]>;

/** The behaviour every Bus backend must share, registered as node:test tests. */
export function busConformance(name: string, makeBuses: MakeBuses): void {
  const uniqueAddress = (label: string) => `${label}-${randomUUID()}`;

  async function withBuses(body: (caller: Bus, server: Bus) => Promise<void>): Promise<void> {
    const [caller, server] = await makeBuses();
    try {
      await body(caller, server);
    } finally {
      await caller.close();
      await server.close();
    }
  }

  describe(`${name} bus`, () => {
    it('a call returns what the served handler returns', () =>
      withBuses(async (caller, server) => {
        const address = uniqueAddress('calculator');
        await server.serve(address, { add: (a: number, b: number) => a + b, nothing: () => undefined });
        assert.equal(await caller.call(address, 'add', [2, 3], 2_000), 5);
        assert.equal(await caller.call(address, 'nothing', [], 2_000), undefined);
      }));

    it('arguments and results are copies, never the caller\'s or the handler\'s objects', () =>
      withBuses(async (caller, server) => {
        const address = uniqueAddress('copier');
        const kept = { list: [1] };
        await server.serve(address, {
          touch: (argument: { list: number[] }) => {
            argument.list.push(2);
            return kept;
          },
        });
        const argument = { list: [1] };
        const result = (await caller.call(address, 'touch', [argument], 2_000)) as { list: number[] };
        assert.deepEqual(argument, { list: [1] });
        result.list.push(3);
        assert.deepEqual(kept, { list: [1] });
        assert.notEqual(result, kept);
      }));

    it('payloads arrive as JSON carries them, whichever way they go', () =>
      withBuses(async (caller, server) => {
        const address = uniqueAddress('json');
        const topic = uniqueAddress('json-topic');
        const sent = { at: new Date(0), gone: undefined, list: [undefined, 1] };
        const carried = { at: '1970-01-01T00:00:00.000Z', list: [null, 1] };
        const seen: unknown[] = [];
        await server.serve(address, {
          echo: (...args: unknown[]) => {
            seen.push(args);
            return sent;
          },
        });
        const heard = inbox<unknown>();
        await server.subscribe(topic, heard.resolve);
        assert.deepEqual(await caller.call(address, 'echo', [sent, undefined], 2_000), carried);
        assert.deepEqual(seen, [[carried, null]]);
        caller.publish(topic, sent);
        assert.deepEqual(await heard.promise, carried);
      }));

    it('what JSON cannot carry fails the call that carries it, and is dropped from a cast or a publish', () =>
      withBuses(async (caller, server) => {
        const address = uniqueAddress('unencodable');
        const topic = uniqueAddress('unencodable-topic');
        const cast: unknown[] = [];
        await server.serve(address, {
          big: () => ({ n: 1n }),
          echo: (value: unknown) => value,
          note: (value: unknown) => void cast.push(value),
        });
        const heard = inbox<unknown>();
        await server.subscribe(topic, heard.resolve);
        await assert.rejects(caller.call(address, 'big', [], 2_000), { name: 'BusError', message: /BigInt/ });
        await assert.rejects(caller.call(address, 'echo', [1n], 2_000), { name: 'BusError', message: /BigInt/ });
        caller.cast(address, 'note', [1n]);
        caller.cast(address, 'note', ['after']);
        caller.publish(topic, { n: 1n });
        caller.publish(topic, 'after');
        assert.equal(await heard.promise, 'after');
        assert.equal(await caller.call(address, 'echo', ['still served'], 2_000), 'still served');
        assert.deepEqual(cast, ['after']);
      }));

    it('a handler\'s error reaches the caller as an Error with the same message', () =>
      withBuses(async (caller, server) => {
        const address = uniqueAddress('failing');
        await server.serve(address, {
          throws: () => {
            throw new Error('Room is full');
          },
          rejects: async () => Promise.reject(new Error('Invalid role')),
        });
        await assert.rejects(caller.call(address, 'throws', [], 2_000), { name: 'BusError', message: 'Room is full' });
        await assert.rejects(caller.call(address, 'rejects', [], 2_000), { name: 'BusError', message: 'Invalid role' });
      }));

    it('a coded error keeps its code and message across the bus; one without a code arrives as internal.unexpected', () =>
      withBuses(async (caller, server) => {
        const address = uniqueAddress('coded');
        await server.serve(address, {
          full: () => {
            throw new ConferenceError('conference.roomFull', ConferenceErrors.roomFull);
          },
          plain: () => {
            throw new Error('disk on fire');
          },
        });
        await assert.rejects(caller.call(address, 'full', [], 2_000), {
          name: 'BusError',
          code: 'conference.roomFull',
          message: ConferenceErrors.roomFull,
        });
        await assert.rejects(caller.call(address, 'plain', [], 2_000), { code: 'internal.unexpected', message: 'disk on fire' });
        await assert.rejects(caller.call(uniqueAddress('nobody'), 'ping', [], 10_000), { code: 'bus.unreachable' });
      }));

    it('a call that gets no answer in time fails with the timeout error', () =>
      withBuses(async (caller, server) => {
        const address = uniqueAddress('silent');
        await server.serve(address, { wait: () => new Promise(() => undefined) });
        await assert.rejects(caller.call(address, 'wait', [], 150), { message: BusErrors.timeout(address, 'wait') });
      }));

    it('a call to an address nobody serves fails fast with the unreachable error', () =>
      withBuses(async (caller) => {
        const address = uniqueAddress('nobody');
        const started = Date.now();
        await assert.rejects(caller.call(address, 'anything', [], 10_000), { message: BusErrors.unreachable(address) });
        assert.ok(Date.now() - started < 2_000, 'the failure should not wait for the timeout');
      }));

    it('a call to an address whose server has closed fails as unreachable', () =>
      withBuses(async (caller, server) => {
        const address = uniqueAddress('closing');
        const served = await server.serve(address, { ping: () => 'pong' });
        assert.equal(await caller.call(address, 'ping', [], 2_000), 'pong');
        await served.close();
        await assert.rejects(caller.call(address, 'ping', [], 10_000), { message: BusErrors.unreachable(address) });
      }));

    it('whether an address is served can be asked from any bus, the serving one included', () =>
      withBuses(async (caller, server) => {
        const address = uniqueAddress('probed');
        assert.equal(await caller.isServed(address), false);
        const served = await server.serve(address, { ping: () => 'pong' });
        assert.equal(await caller.isServed(address), true);
        assert.equal(await server.isServed(address), true);
        assert.equal(caller.connected, true);
        await served.close();
        assert.equal(await caller.isServed(address), false);
        // Asking again and again leaves the bus usable.
        assert.deepEqual(await Promise.all([1, 2, 3].map(() => caller.isServed(address))), [false, false, false]);
        await server.serve(address, { ping: () => 'pong' });
        assert.equal(await caller.call(address, 'ping', [], 2_000), 'pong');
      }));

    it('a call to a method the server does not have fails with the unknown method error', () =>
      withBuses(async (caller, server) => {
        const address = uniqueAddress('narrow');
        await server.serve(address, { ping: () => 'pong' });
        await assert.rejects(caller.call(address, 'pong', [], 2_000), { message: BusErrors.unknownMethod('pong') });
        await assert.rejects(caller.call(address, 'constructor', [], 2_000), {
          message: BusErrors.unknownMethod('constructor'),
        });
      }));

    it('serving an address that is already served is refused', () =>
      withBuses(async (caller, server) => {
        const address = uniqueAddress('taken');
        await server.serve(address, { ping: () => 'first' });
        await assert.rejects(caller.serve(address, { ping: () => 'second' }), {
          message: BusErrors.alreadyServed(address),
        });
        assert.equal(await caller.call(address, 'ping', [], 2_000), 'first');
      }));

    it('a cast delivers its arguments to the handler without an answer', () =>
      withBuses(async (caller, server) => {
        const address = uniqueAddress('listener');
        const delivered = inbox<unknown[]>();
        await server.serve(address, { note: (...args: unknown[]) => delivered.resolve(args) });
        assert.equal(caller.cast(address, 'note', ['joined', { id: 'p1' }]), undefined);
        assert.deepEqual(await delivered.promise, ['joined', { id: 'p1' }]);
      }));

    it('a published message reaches every subscriber of its topic on every bus, and only those', () =>
      withBuses(async (publisher, other) => {
        const topic = uniqueAddress('events');
        const otherTopic = uniqueAddress('other-events');
        const inboxes: Array<Promise<unknown[]>> = [];
        for (const bus of [publisher, publisher, other]) {
          const received: unknown[] = [];
          const done = inbox<unknown[]>();
          inboxes.push(done.promise);
          await bus.subscribe(topic, (message) => {
            received.push(message);
            if ((message as { last?: boolean }).last) done.resolve(received);
          });
        }
        publisher.publish(otherTopic, { last: true, wrongTopic: true });
        publisher.publish(topic, { n: 1 });
        publisher.publish(topic, { n: 2, last: true });
        for (const received of await Promise.all(inboxes)) {
          assert.deepEqual(received, [{ n: 1 }, { n: 2, last: true }]);
        }
      }));

    it('close rejects the calls still waiting with the closed error', () =>
      withBuses(async (caller, server) => {
        const address = uniqueAddress('slow');
        await server.serve(address, { wait: () => new Promise(() => undefined) });
        const waiting = assert.rejects(caller.call(address, 'wait', [], 10_000), { message: BusErrors.closed });
        await caller.close();
        await waiting;
      }));

    it('after close, calls fail with the closed error and closing again is harmless', () =>
      withBuses(async (caller) => {
        await caller.close();
        await caller.close();
        await assert.rejects(caller.call(uniqueAddress('any'), 'ping', [], 1_000), { message: BusErrors.closed });
        await assert.rejects(caller.serve(uniqueAddress('any'), {}), { message: BusErrors.closed });
      }));
  });
}

function inbox<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((settle) => (resolve = settle));
  return { promise, resolve };
}
