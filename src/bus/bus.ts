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
 * Every backend behaves the same: payloads are copied (never shared), a handler's thrown
 * error reaches the caller as an Error with the same message, and calls to an address that
 * nobody serves fail with `BusErrors.unreachable`.
 */
export interface Bus {
  serve(address: string, handlers: RpcMap): Promise<Served>;
  call(address: string, method: string, args: unknown[], timeoutMs: number): Promise<unknown>;
  cast(address: string, method: string, args: unknown[]): void;
  publish(topic: string, message: unknown): void;
  subscribe(topic: string, listener: (message: unknown) => void): Promise<Subscription>;
  close(): Promise<void>;
}

export const BusErrors = {
  timeout: (address: string, method: string) => `Timeout to call ${address}.${method}`,
  unreachable: (address: string) => `Address unreachable: ${address}`,
  unknownMethod: (method: string) => `Unknown method: ${method}`,
  alreadyServed: (address: string) => `Address already served: ${address}`,
  closed: 'Bus closed',
  /** A networked bus lost its broker and is reconnecting. */
  disconnected: 'Bus disconnected',
} as const;

export class BusError extends Error {
  override name = 'BusError';
}

type Result<M extends RpcMap, K extends keyof M> = Awaited<ReturnType<M[K]>>;

/** The caller's typed view of a remote component whose methods are described by `M`. */
export interface RpcClient<M extends RpcMap> {
  call<K extends keyof M & string>(method: K, args: Parameters<M[K]>, timeoutMs?: number): Promise<Result<M, K>>;
  cast<K extends keyof M & string>(method: K, args: Parameters<M[K]>): void;
}

export function rpcClient<M extends RpcMap>(bus: Bus, address: string, defaultTimeoutMs: number): RpcClient<M> {
  return {
    call: (method, args, timeoutMs = defaultTimeoutMs) =>
      bus.call(address, method, args, timeoutMs) as Promise<Result<M, typeof method>>,
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

/** The text of whatever was thrown: what crosses the bus and what clients are answered. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return typeof error === 'string' ? error : JSON.stringify(error);
}
