import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import { AmqpBus } from '../../src/bus/amqp.js';
import { BusErrors, messageOf, type Bus } from '../../src/bus/index.js';
import { busConformance } from '../support/bus-conformance.js';
import { waitFor } from '../support/wait.js';

const brokerUrl = new URL(process.env['CONCLAVE_TEST_AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672');
const exchange = `conclave-test-${randomUUID()}`;
const fastReconnect = { reconnectDelay: 20, maxReconnectDelay: 250 };

after(async () => {
  const connection = await amqp.connect(brokerUrl.toString());
  const channel = await connection.createChannel();
  await channel.deleteExchange(exchange);
  await connection.close();
});

busConformance('AMQP', async () => [
  await AmqpBus.connect(brokerUrl.toString(), exchange),
  await AmqpBus.connect(brokerUrl.toString(), exchange),
]);

/** A TCP relay to the broker that can cut every connection and refuse new ones, like a network outage. */
class Outage {
  private readonly sockets = new Set<Socket>();
  private down = false;

  private constructor(private readonly server: Server) {}

  static async relayTo(host: string, port: number): Promise<Outage> {
    const server = createServer();
    const outage = new Outage(server);
    server.on('connection', (client) => outage.relay(client, host, port));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return outage;
  }

  get url(): string {
    const address = this.server.address() as { port: number };
    const url = new URL(brokerUrl);
    url.host = `127.0.0.1:${address.port}`;
    return url.toString();
  }

  begin(): void {
    this.down = true;
    for (const socket of this.sockets) socket.destroy();
  }

  end(): void {
    this.down = false;
  }

  async close(): Promise<void> {
    this.begin();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private relay(client: Socket, host: string, port: number): void {
    if (this.down) {
      client.destroy();
      return;
    }
    const broker = createConnection(port, host);
    for (const [from, to] of [[client, broker], [broker, client]] as const) {
      this.sockets.add(from);
      from.pipe(to);
      from.on('error', () => to.destroy());
      from.on('close', () => {
        this.sockets.delete(from);
        to.destroy();
      });
    }
  }
}

/** Resolves with the call's result, or with the message it failed with. */
async function outcome(call: Promise<unknown>): Promise<unknown> {
  try {
    return await call;
  } catch (error) {
    return `failed: ${messageOf(error)}`;
  }
}

/** After an outage the bus must serve its address, deliver its events and answer its calls again. */
async function assertRecovered(caller: Bus, server: Bus, address: string, topic: string, events: unknown[]): Promise<void> {
  await waitFor(
    'calls to the served address to succeed again',
    async () => {
      const result = await outcome(caller.call(address, 'ping', [], 1_000));
      return result === 'pong' || String(result);
    },
    { timeoutMs: 30_000, intervalMs: 50 },
  );
  await waitFor(
    'the reconnected bus to answer its own calls',
    async () => {
      const result = await outcome(server.call(address, 'ping', [], 1_000));
      return result === 'pong' || String(result);
    },
    { timeoutMs: 10_000, intervalMs: 50 },
  );
  await waitFor(
    'events to reach the re-created subscription',
    () => {
      caller.publish(topic, { after: 'outage' });
      return events.length > 0 || 'no event received yet';
    },
    { timeoutMs: 10_000, intervalMs: 50 },
  );
  assert.deepEqual(events[0], { after: 'outage' });
}

describe('AMQP bus recovery', () => {
  it('a bus whose connection drops fails calls clearly meanwhile, then reconnects and works again', async () => {
    const outage = await Outage.relayTo(brokerUrl.hostname, Number(brokerUrl.port || 5672));
    const caller = await AmqpBus.connect(brokerUrl.toString(), exchange, fastReconnect);
    const server = await AmqpBus.connect(outage.url, exchange, fastReconnect);
    try {
      const address = `recovering-${randomUUID()}`;
      const topic = `recovering-events-${randomUUID()}`;
      const events: unknown[] = [];
      await server.serve(address, { ping: () => 'pong', wait: () => new Promise(() => undefined) });
      await server.subscribe(topic, (message) => events.push(message));
      await caller.serve(`${address}-caller`, { wait: () => new Promise(() => undefined) });
      assert.equal(await caller.call(address, 'ping', [], 2_000), 'pong');

      const interrupted = assert.rejects(server.call(`${address}-caller`, 'wait', [], 30_000), {
        message: BusErrors.disconnected,
      });
      outage.begin();
      await interrupted;
      await assert.rejects(server.call(address, 'ping', [], 30_000), { message: BusErrors.disconnected });
      await waitFor(
        'the broker to drop the lost server\'s queue',
        async () => {
          const result = await outcome(caller.call(address, 'ping', [], 1_000));
          return result === `failed: ${BusErrors.unreachable(address)}` || String(result);
        },
        { timeoutMs: 10_000, intervalMs: 50 },
      );

      outage.end();
      await assertRecovered(caller, server, address, topic, events);
    } finally {
      await caller.close();
      await server.close();
      await outage.close();
    }
  });

  it('a request served while the bus is still re-declaring its queues after a reconnection gets its answer', async () => {
    const outage = await Outage.relayTo(brokerUrl.hostname, Number(brokerUrl.port || 5672));
    const caller = await AmqpBus.connect(brokerUrl.toString(), exchange, fastReconnect);
    const server = await AmqpBus.connect(outage.url, exchange, fastReconnect);
    const address = `answering-${randomUUID()}`;
    const outcomes: Array<Promise<unknown>> = [];
    let calling = true;
    try {
      await server.serve(address, { ping: () => 'pong' });
      // Each subscription is declared again after the served queue, which widens the window.
      for (let index = 0; index < 40; index++) await server.subscribe(`answering-${index}-${randomUUID()}`, () => undefined);
      outage.begin();
      await waitFor('the broker to drop the lost server\'s queue', async () =>
        (await outcome(caller.call(address, 'ping', [], 1_000))) === `failed: ${BusErrors.unreachable(address)}`,
      { timeoutMs: 10_000, intervalMs: 50 });
      const keepCalling = (async () => {
        while (calling) {
          outcomes.push(outcome(caller.call(address, 'ping', [], 3_000)));
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
      })();
      outage.end();
      await waitFor('the server to answer again', async () => (await outcome(caller.call(address, 'ping', [], 1_000))) === 'pong',
        { timeoutMs: 30_000, intervalMs: 50 });
      calling = false;
      await keepCalling;
      const results = await Promise.all(outcomes);
      assert.ok(results.includes('pong'));
      assert.deepEqual(results.filter((result) => result !== 'pong' && result !== `failed: ${BusErrors.unreachable(address)}`), []);
    } finally {
      calling = false;
      await caller.close();
      await server.close();
      await outage.close();
    }
  });

  it('after a broker restart every bus reconnects and serves, subscribes and calls again', async () => {
    const caller = await AmqpBus.connect(brokerUrl.toString(), exchange, fastReconnect);
    const server = await AmqpBus.connect(brokerUrl.toString(), exchange, fastReconnect);
    const rabbitmqctl = (command: string) => promisify(execFile)('rabbitmqctl', [command], { timeout: 60_000 });
    try {
      const address = `restarting-${randomUUID()}`;
      const topic = `restarting-events-${randomUUID()}`;
      const events: unknown[] = [];
      await server.serve(address, { ping: () => 'pong' });
      await server.subscribe(topic, (message) => events.push(message));
      assert.equal(await caller.call(address, 'ping', [], 2_000), 'pong');

      await rabbitmqctl('stop_app');
      try {
        await assert.rejects(caller.call(address, 'ping', [], 30_000), { message: BusErrors.disconnected });
      } finally {
        await rabbitmqctl('start_app');
      }
      await assertRecovered(caller, server, address, topic, events);
    } finally {
      await caller.close();
      await server.close();
    }
  });
});
