import { BusError, busError, type Bus, type RpcMap, type Served, type Subscription } from './bus.js';
import { copyAsJson } from './copy.js';

interface PendingCall {
  timer: NodeJS.Timeout;
  reject: (error: Error) => void;
}

/**
 * The embedded bus: same semantics as the AMQP one in one process. What crosses it is what JSON
 * carries: a copy, with an undefined array item as null, a Date as its string, an undefined field left out.
 */
export class InProcessBus implements Bus {
  private readonly servers = new Map<string, RpcMap>();
  private readonly topics = new Map<string, Set<(message: unknown) => void>>();
  private readonly pending = new Set<PendingCall>();
  private closed = false;

  get connected(): boolean {
    return !this.closed;
  }

  async isServed(address: string): Promise<boolean> {
    if (this.closed) throw busError('closed');
    return this.servers.has(address);
  }

  async serve(address: string, handlers: RpcMap): Promise<Served> {
    if (this.closed) throw busError('closed');
    if (this.servers.has(address)) throw busError('alreadyServed', address);
    this.servers.set(address, handlers);
    return {
      close: async () => {
        if (this.servers.get(address) === handlers) this.servers.delete(address);
      },
    };
  }

  call(address: string, method: string, args: unknown[], timeoutMs: number): Promise<unknown> {
    if (this.closed) return Promise.reject(busError('closed'));
    let copied: unknown[];
    try {
      copied = copyAsJson(args);
    } catch (error) {
      return Promise.reject(BusError.from(error));
    }
    return new Promise((resolve, reject) => {
      const entry: PendingCall = {
        timer: setTimeout(() => settle(() => reject(busError('timeout', address, method))), timeoutMs),
        reject,
      };
      const settle = (finish: () => void) => {
        if (!this.pending.delete(entry)) return;
        clearTimeout(entry.timer);
        finish();
      };
      this.pending.add(entry);
      setImmediate(() => {
        this.invoke(address, method, copied).then(copyAsJson).then(
          (result) => settle(() => resolve(result)),
          (error: unknown) => settle(() => reject(BusError.from(error))),
        );
      });
    });
  }

  cast(address: string, method: string, args: unknown[]): void {
    if (this.closed) return;
    let copied: unknown[];
    try {
      copied = copyAsJson(args);
    } catch {
      // Same as an unserved address: a cast has nobody to tell.
      return;
    }
    setImmediate(() => {
      this.invoke(address, method, copied).catch(() => undefined);
    });
  }

  publish(topic: string, message: unknown): void {
    const listeners = this.topics.get(topic);
    if (this.closed || !listeners) return;
    let copied: unknown;
    try {
      copied = copyAsJson(message) ?? null;
    } catch {
      // Events are fire-and-forget, as over AMQP.
      return;
    }
    setImmediate(() => {
      for (const listener of listeners) listener(copyAsJson(copied));
    });
  }

  async subscribe(topic: string, listener: (message: unknown) => void): Promise<Subscription> {
    let listeners = this.topics.get(topic);
    if (!listeners) this.topics.set(topic, (listeners = new Set()));
    const wrapped = (message: unknown) => listener(message);
    listeners.add(wrapped);
    return { close: async () => void listeners.delete(wrapped) };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const entry of this.pending) {
      clearTimeout(entry.timer);
      entry.reject(busError('closed'));
    }
    this.pending.clear();
    this.servers.clear();
    this.topics.clear();
  }

  private async invoke(address: string, method: string, args: unknown[]): Promise<unknown> {
    const handlers = this.servers.get(address);
    if (!handlers) throw busError('unreachable', address);
    const handler = Object.hasOwn(handlers, method) ? handlers[method] : undefined;
    if (typeof handler !== 'function') throw busError('unknownMethod', method);
    return handler.apply(handlers, args);
  }
}
