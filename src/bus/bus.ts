import { metrics, type Labels } from '../metrics.js';
import { codeOf, ConclaveError, errorMaker, isErrorCode, messageOf, type WireError } from '../protocol/errors.js';

export { BusErrors, messageOf } from '../protocol/errors.js';

/** A callable method exposed on the bus; arguments and results must survive JSON. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type RpcMethod = (...args: any[]) => unknown;
export type RpcMap = { [method: string]: RpcMethod };

export interface Served {
  close(): Promise<void>;
}

export interface Subscription {
  close(): Promise<void>;
}

/**
 * Request/response with timeouts, one-way casts and fan-out events between components.
 * Every backend behaves the same: payloads cross as JSON carries them (copies, never shared), a handler's thrown
 * error reaches the caller as a BusError with the same code and message, and calls to an address
 * that nobody serves fail with `BusErrors.unreachable`.
 */
export interface Bus {
  /** False while a networked bus has lost its broker and is reconnecting (and once closed). */
  readonly connected: boolean;
  serve(address: string, handlers: RpcMap): Promise<Served>;
  /**
   * Whether some bus serves `address` now: a process that died or lost its broker connection no
   * longer does. Rejects when this bus cannot tell (it is disconnected itself).
   */
  isServed(address: string): Promise<boolean>;
  call(address: string, method: string, args: unknown[], timeoutMs: number): Promise<unknown>;
  cast(address: string, method: string, args: unknown[]): void;
  publish(topic: string, message: unknown): void;
  subscribe(topic: string, listener: (message: unknown) => void): Promise<Subscription>;
  close(): Promise<void>;
}

/**
 * What a caller gets when a call fails: the bus's own failure (`bus.*` codes), or the handler's
 * error with its code and message as they were thrown on the other side.
 */
export class BusError extends ConclaveError {
  override name = 'BusError';

  /** The error as the caller sees it; an error without a code keeps its text as `internal.unexpected`. */
  static from(error: unknown): BusError {
    return error instanceof BusError ? error : new BusError(codeOf(error), messageOf(error));
  }

  /** A reply's `{code, message}`, from whatever the other side sent. */
  static fromWire(wire: unknown): BusError {
    const { code, message } = (typeof wire === 'object' && wire !== null ? wire : {}) as Partial<Record<keyof WireError, unknown>>;
    return new BusError(isErrorCode(code) ? code : 'internal.unexpected', typeof message === 'string' ? message : messageOf(wire));
  }
}

export const busError = errorMaker('bus', BusError);

type Result<M extends RpcMap, K extends keyof M> = Awaited<ReturnType<M[K]>>;

/** The caller's typed view of a remote component whose methods are described by `M`. */
export interface RpcClient<M extends RpcMap> {
  call<K extends keyof M & string>(method: K, args: Parameters<M[K]>, timeoutMs?: number): Promise<Result<M, K>>;
  cast<K extends keyof M & string>(method: K, args: Parameters<M[K]>): void;
}

/** One label set per method and outcome, so a call's timing does not render its labels again (`labelText` keeps them by identity). */
const rpcLabelSets = new Map<string, Labels>();

function rpcLabels(method: string, outcome: 'ok' | 'error'): Labels {
  const key = `${outcome} ${method}`;
  let labels = rpcLabelSets.get(key);
  if (!labels) {
    labels = { method, outcome };
    rpcLabelSets.set(key, labels);
  }
  return labels;
}

export function rpcClient<M extends RpcMap>(bus: Bus, address: string, defaultTimeoutMs: number): RpcClient<M> {
  return {
    call: (method, args, timeoutMs = defaultTimeoutMs) => {
      const started = performance.now();
      const observe = (outcome: 'ok' | 'error') =>
        metrics.observe('conclave_bus_rpc_seconds', 'Calls over the bus: time until the answer, by method and outcome.', rpcLabels(method, outcome), (performance.now() - started) / 1000);
      const answer = bus.call(address, method, args, timeoutMs) as Promise<Result<M, typeof method>>;
      answer.then(
        () => observe('ok'),
        () => observe('error'),
      );
      return answer;
    },
    cast: (method, args) => bus.cast(address, method, args),
  };
}

/** An implementation of `M`: each handler may answer directly or through a promise. */
export type RpcHandlers<M extends RpcMap> = {
  [K in keyof M]: (...args: Parameters<M[K]>) => ReturnType<M[K]> | Promise<ReturnType<M[K]>>;
};

/** Serves an implementation of `M`, so the compiler checks handler signatures against the map. */
export function serveRpc<M extends RpcMap>(bus: Bus, address: string, handlers: RpcHandlers<M>): Promise<Served> {
  return bus.serve(address, handlers);
}

/** Serves `address` and listens to `topic`, both or neither; closing stops listening first. */
export async function serveRpcAndListen<M extends RpcMap>(
  bus: Bus,
  address: string,
  handlers: RpcHandlers<M>,
  topic: string,
  listener: (message: unknown) => void,
): Promise<Served> {
  const served = await serveRpc(bus, address, handlers);
  let subscription: Subscription;
  try {
    subscription = await bus.subscribe(topic, listener);
  } catch (error) {
    await served.close();
    throw error;
  }
  return {
    close: async () => {
      await subscription.close();
      await served.close();
    },
  };
}
