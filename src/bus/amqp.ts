import { randomUUID } from 'node:crypto';
import amqp, { type Channel, type ChannelModel, type ConsumeMessage, type Message } from 'amqplib';
import { toWireError, type WireError } from '../protocol/errors.js';
import { BusError, busError, type Bus, type RpcMap, type Served, type Subscription } from './bus.js';

export interface AmqpBusOptions {
  /** Delay before the first reconnection attempt; doubles after each failure up to `maxReconnectDelay`. */
  reconnectDelay: number;
  maxReconnectDelay: number;
  /** Heartbeat period asked of the broker, so a silently dead connection is noticed; unless the URL sets one. */
  heartbeat: number;
}

const defaultOptions: AmqpBusOptions = { reconnectDelay: 100, maxReconnectDelay: 5_000, heartbeat: 10_000 };

/** AMQP reply code of a queue declared exclusive by another connection. */
const RESOURCE_LOCKED = 405;
/** AMQP reply code of a queue that does not exist. */
const NOT_FOUND = 404;
const JSON_CONTENT = 'application/json';

interface Request {
  method: string;
  args: unknown[];
}

/** A failed call's reply carries the error's code beside its message, so callers never parse text. */
type Reply = { result?: unknown } | { error: WireError };

interface PendingCall {
  address: string;
  timer: NodeJS.Timeout;
  resolve: (result: unknown) => void;
  reject: (error: Error) => void;
}

interface ServedAddress {
  address: string;
  handlers: RpcMap;
}

interface TopicListener {
  topic: string;
  listener: (message: unknown) => void;
  /** The listener's queue on the current connection, if it has been declared there. */
  queue?: string | undefined;
}

/** One broker connection and what was declared on it; replaced as a whole when the connection is lost. */
interface Session {
  model: ChannelModel;
  channel: Channel;
  replyQueue: string;
}

const ignore = (): void => undefined;

/**
 * The bus between hosts, over RabbitMQ. Calls go through the default exchange to one exclusive
 * queue per served address and come back on this process's exclusive reply queue; `mandatory`
 * turns a call to an address nobody serves into an immediate failure. Events fan out on a topic
 * exchange named after `exchange`. When the connection drops the bus reconnects with a backoff
 * and declares its queues and subscriptions again; meanwhile calls fail with `BusErrors.disconnected`.
 */
export class AmqpBus implements Bus {
  private session: Session | undefined;
  private readonly pending = new Map<string, PendingCall>();
  private readonly served = new Map<string, ServedAddress>();
  private readonly listeners = new Set<TopicListener>();
  /** Declarations and reconnection run one at a time, so none sees another half done. */
  private topologyQueue: Promise<void> = Promise.resolve();
  private reconnectTimer: NodeJS.Timeout | undefined;
  private nextReconnectDelay: number;
  /** Set by `close()`, which every later call shares. */
  private closing: Promise<void> | undefined;

  private get closed(): boolean {
    return this.closing !== undefined;
  }

  get connected(): boolean {
    return this.session !== undefined;
  }

  private constructor(
    private readonly url: string,
    private readonly exchange: string,
    private readonly options: AmqpBusOptions,
  ) {
    this.nextReconnectDelay = options.reconnectDelay;
  }

  /** Connects once; fails if the broker cannot be reached now. Later losses are recovered by reconnecting. */
  static async connect(url: string, exchange: string, options: Partial<AmqpBusOptions> = {}): Promise<AmqpBus> {
    const bus = new AmqpBus(url, exchange, { ...defaultOptions, ...options });
    try {
      await bus.openSession();
    } catch (error) {
      // A connection lost during the first attempt must not leave a bus reconnecting that nobody holds.
      await bus.close();
      throw error;
    }
    return bus;
  }

  serve(address: string, handlers: RpcMap): Promise<Served> {
    return this.exclusively(async () => {
      if (this.closed) throw busError('closed');
      if (this.served.has(address)) throw busError('alreadyServed', address);
      const entry: ServedAddress = { address, handlers };
      this.served.set(address, entry);
      const session = this.session;
      if (session) {
        try {
          await this.startServing(session, entry);
        } catch (error) {
          // Lost with the connection, it will be declared again on reconnection; anything else is refused.
          if (this.session === session) {
            this.served.delete(address);
            throw error;
          }
        }
      }
      return {
        close: () =>
          this.exclusively(async () => {
            if (this.served.get(address) !== entry) return;
            this.served.delete(address);
            await this.session?.channel.deleteQueue(this.queueOf(address)).catch(ignore);
          }),
      };
    });
  }

  /**
   * A served address is an exclusive queue, which the broker deletes with its owner's connection.
   * Asking for it on a throwaway channel (the broker closes a channel that asks for a queue it does
   * not have, or one another connection holds) tells whether its owner is still connected.
   */
  async isServed(address: string): Promise<boolean> {
    if (this.closed) throw busError('closed');
    const session = this.session;
    if (!session) throw busError('disconnected');
    const probe = await session.model.createChannel().catch(() => {
      throw busError('disconnected');
    });
    probe.on('error', ignore);
    try {
      await probe.checkQueue(this.queueOf(address));
      return true;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === RESOURCE_LOCKED) return true;
      if (code === NOT_FOUND) return false;
      throw busError('disconnected');
    } finally {
      await probe.close().catch(ignore);
    }
  }

  call(address: string, method: string, args: unknown[], timeoutMs: number): Promise<unknown> {
    if (this.closed) return Promise.reject(busError('closed'));
    const session = this.session;
    if (!session) return Promise.reject(busError('disconnected'));
    let content: Buffer;
    try {
      content = encode({ method, args } satisfies Request);
    } catch (error) {
      return Promise.reject(BusError.from(error));
    }
    return new Promise((resolve, reject) => {
      const correlationId = randomUUID();
      const timer = setTimeout(
        () => this.settle(correlationId, (call) => call.reject(busError('timeout', address, method))),
        timeoutMs,
      );
      this.pending.set(correlationId, { address, timer, resolve, reject });
      try {
        session.channel.sendToQueue(this.queueOf(address), content, {
          correlationId,
          replyTo: session.replyQueue,
          mandatory: true,
          // A request nobody took before the caller gave up is dropped rather than run late.
          expiration: String(Math.max(1, Math.ceil(timeoutMs))),
          contentType: JSON_CONTENT,
        });
      } catch {
        this.settle(correlationId, (call) => call.reject(busError('disconnected')));
      }
    });
  }

  /** One-way: lost without notice when nobody serves the address or the connection is down. */
  cast(address: string, method: string, args: unknown[]): void {
    const session = this.session;
    if (this.closed || !session) return;
    try {
      session.channel.sendToQueue(this.queueOf(address), encode({ method, args } satisfies Request), {
        contentType: JSON_CONTENT,
      });
    } catch {
      // Same as an unserved address: a cast has nobody to tell.
    }
  }

  publish(topic: string, message: unknown): void {
    const session = this.session;
    if (this.closed || !session) return;
    try {
      session.channel.publish(this.exchange, topic, encode(message), { contentType: JSON_CONTENT });
    } catch {
      // Events are fire-and-forget; subscribers that miss one resynchronise through RPC.
    }
  }

  subscribe(topic: string, listener: (message: unknown) => void): Promise<Subscription> {
    return this.exclusively(async () => {
      if (this.closed) throw busError('closed');
      const entry: TopicListener = { topic, listener };
      this.listeners.add(entry);
      const session = this.session;
      if (session) {
        try {
          await this.startListening(session, entry);
        } catch (error) {
          if (this.session === session) {
            this.listeners.delete(entry);
            throw error;
          }
        }
      }
      return {
        close: () =>
          this.exclusively(async () => {
            if (!this.listeners.delete(entry) || !entry.queue) return;
            await this.session?.channel.deleteQueue(entry.queue).catch(ignore);
          }),
      };
    });
  }

  close(): Promise<void> {
    if (this.closing) return this.closing;
    const session = this.session;
    this.session = undefined;
    this.closing = session ? session.model.close().catch(ignore) : Promise.resolve();
    clearTimeout(this.reconnectTimer);
    this.rejectPending('closed');
    this.served.clear();
    this.listeners.clear();
    return this.closing;
  }

  private exclusively<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.topologyQueue.then(operation);
    this.topologyQueue = result.then(ignore, ignore);
    return result;
  }

  private queueOf(address: string): string {
    return `${this.exchange}.rpc.${address}`;
  }

  /**
   * Connects and declares everything this bus serves and listens to. The session is current as soon
   * as it can carry calls and replies: requests served while the rest is still being declared must be
   * answered, and the handlers serving them may call out.
   */
  private async openSession(): Promise<void> {
    const model = await amqp.connect(withHeartbeat(this.url, this.options.heartbeat));
    // 'close' always follows 'error' and is what drives reconnection.
    model.on('error', ignore);
    model.on('close', () => this.onConnectionClosed(model));
    let session: Session | undefined;
    try {
      const channel = await model.createChannel();
      channel.on('error', ignore);
      // A channel the broker closed on us leaves the connection useless: start over on a new one.
      channel.on('close', () => void model.close().catch(ignore));
      channel.on('return', (message: Message) => this.onReturned(message));
      await channel.assertExchange(this.exchange, 'topic', { durable: false });
      const { queue: replyQueue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
      await channel.consume(replyQueue, (message) => this.onReply(message), { noAck: true });
      session = { model, channel, replyQueue };
      this.session = session;
      // A served queue can still be held by our own dead connection until the broker notices;
      // failing the whole attempt retries it after the backoff.
      for (const entry of this.served.values()) await this.startServing(session, entry);
      for (const entry of this.listeners) await this.startListening(session, entry);
      // Lost meanwhile (onConnectionClosed has let the session go), or closed.
      if (this.closed) throw busError('closed');
      if (this.session !== session) throw busError('disconnected');
    } catch (error) {
      if (session && this.session === session) {
        this.session = undefined;
        this.rejectPending('disconnected');
      }
      await model.close().catch(ignore);
      throw error;
    }
  }

  private async startServing(session: Session, entry: ServedAddress): Promise<void> {
    const queue = this.queueOf(entry.address);
    // Declared on a throwaway channel: when another process serves the address the broker closes
    // the declaring channel, and that must not be the channel everything else runs on.
    const probe = await session.model.createChannel();
    probe.on('error', ignore);
    try {
      await probe.assertQueue(queue, { exclusive: true, durable: false });
    } catch (error) {
      if ((error as { code?: unknown }).code === RESOURCE_LOCKED) throw busError('alreadyServed', entry.address);
      throw error;
    } finally {
      await probe.close().catch(ignore);
    }
    await session.channel.consume(queue, (message) => this.onRequest(entry, message), { noAck: true, exclusive: true });
  }

  private async startListening(session: Session, entry: TopicListener): Promise<void> {
    entry.queue = undefined;
    const { queue } = await session.channel.assertQueue('', { exclusive: true, autoDelete: true });
    await session.channel.bindQueue(queue, this.exchange, entry.topic);
    await session.channel.consume(queue, (message) => this.onEvent(entry, message), { noAck: true });
    entry.queue = queue;
  }

  private onConnectionClosed(model: ChannelModel): void {
    if (this.session?.model !== model) return;
    this.session = undefined;
    // Their replies were bound for the reply queue that died with the connection.
    this.rejectPending('disconnected');
    this.scheduleReconnect();
  }

  /** One attempt at a time: a connection lost while an attempt fails schedules just one more. */
  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    const delay = this.nextReconnectDelay;
    this.nextReconnectDelay = Math.min(delay * 2, this.options.maxReconnectDelay);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.exclusively(() => this.reconnect());
    }, delay);
  }

  private async reconnect(): Promise<void> {
    if (this.closed || this.session) return;
    try {
      await this.openSession();
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.nextReconnectDelay = this.options.reconnectDelay;
  }

  private onRequest(entry: ServedAddress, message: ConsumeMessage | null): void {
    if (!message) return;
    const { correlationId, replyTo } = message.properties as { correlationId?: string; replyTo?: string };
    const answer = (reply: Reply) => {
      if (replyTo && correlationId) this.reply(replyTo, correlationId, reply);
    };
    if (this.served.get(entry.address) !== entry) {
      answer({ error: busError('unreachable', entry.address).toWire() });
      return;
    }
    let request: Request;
    try {
      request = decodeRequest(message.content);
    } catch (error) {
      answer({ error: toWireError(error) });
      return;
    }
    invoke(entry.handlers, request).then(
      (result) => answer(result === undefined ? {} : { result }),
      (error: unknown) => answer({ error: toWireError(error) }),
    );
  }

  private reply(replyTo: string, correlationId: string, reply: Reply): void {
    const session = this.session;
    if (!session) return;
    let content: Buffer;
    try {
      content = encode(reply);
    } catch (error) {
      content = encode({ error: toWireError(error) });
    }
    try {
      session.channel.sendToQueue(replyTo, content, { correlationId, contentType: JSON_CONTENT });
    } catch {
      // The caller sees its own timeout or disconnection.
    }
  }

  private onReply(message: ConsumeMessage | null): void {
    const correlationId: unknown = message?.properties.correlationId;
    if (!message || typeof correlationId !== 'string') return;
    let reply: Reply;
    try {
      reply = decodeReply(message.content);
    } catch (error) {
      this.settle(correlationId, (call) => call.reject(BusError.from(error)));
      return;
    }
    this.settle(correlationId, (call) =>
      'error' in reply ? call.reject(BusError.fromWire(reply.error)) : call.resolve(reply.result),
    );
  }

  private onReturned(message: Message): void {
    const correlationId: unknown = message.properties.correlationId;
    if (typeof correlationId !== 'string') return;
    this.settle(correlationId, (call) => call.reject(busError('unreachable', call.address)));
  }

  private onEvent(entry: TopicListener, message: ConsumeMessage | null): void {
    if (!message || !this.listeners.has(entry)) return;
    let event: unknown;
    try {
      event = JSON.parse(message.content.toString('utf8'));
    } catch {
      return;
    }
    // Outside the channel's dispatch, so a throwing listener surfaces like it does on the in-process bus.
    setImmediate(entry.listener, event);
  }

  private settle(correlationId: string, finish: (call: PendingCall) => void): void {
    const call = this.pending.get(correlationId);
    if (!call) return;
    this.pending.delete(correlationId);
    clearTimeout(call.timer);
    finish(call);
  }

  private rejectPending(reason: 'closed' | 'disconnected'): void {
    for (const correlationId of [...this.pending.keys()]) {
      this.settle(correlationId, (call) => call.reject(busError(reason)));
    }
  }
}

function encode(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value) ?? 'null', 'utf8');
}

function decodeRequest(content: Buffer): Request {
  const request = JSON.parse(content.toString('utf8')) as Partial<Request> | null;
  if (typeof request?.method !== 'string' || !Array.isArray(request.args)) throw busError('malformedRequest');
  return { method: request.method, args: request.args };
}

function decodeReply(content: Buffer): Reply {
  const reply = JSON.parse(content.toString('utf8')) as { result?: unknown; error?: unknown } | null;
  if (typeof reply !== 'object' || reply === null) throw busError('malformedReply');
  return reply.error !== undefined ? { error: BusError.fromWire(reply.error).toWire() } : { result: reply.result };
}

async function invoke(handlers: RpcMap, request: Request): Promise<unknown> {
  const handler = Object.hasOwn(handlers, request.method) ? handlers[request.method] : undefined;
  if (typeof handler !== 'function') throw busError('unknownMethod', request.method);
  return handler.apply(handlers, request.args);
}

function withHeartbeat(url: string, heartbeatMs: number): string {
  const parsed = new URL(url);
  if (parsed.searchParams.has('heartbeat')) return url;
  parsed.searchParams.set('heartbeat', String(Math.max(1, Math.round(heartbeatMs / 1000))));
  return parsed.toString();
}
