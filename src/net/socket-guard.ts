import type { Server as HttpServer, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../logger.js';

/** What one listener admits; 0 in the configuration means "derived from the open-file limit". */
export interface SocketLimits {
  /** A connection that has not completed an HTTP request (or WebSocket handshake) by then is closed. */
  firstRequestTimeout: number;
  maxSockets: number;
  maxSocketsPerIp: number;
}

/**
 * The part of the open-file limit each listener may fill by default; the rest stays for the other
 * listener, the store, the bus and the log, so that a flood of connections cannot starve them.
 */
export const OPEN_FILE_SHARES = { portal: 0.7, management: 0.1 } as const;

/** The automatic per-address limit: a quarter of the listener's sockets, and never more than this. */
const MAX_AUTOMATIC_PER_IP = 2_000;

/**
 * The limits a listener applies: configured values as they are, zeros derived from this process's
 * open-file limit, of which the listener may use `share`. Unknown limit: no total cap.
 */
export function resolveSocketLimits(configured: SocketLimits, share: number, openFiles: number | undefined): SocketLimits {
  const maxSockets = configured.maxSockets || (openFiles === undefined ? 0 : Math.floor(openFiles * share));
  const perIpDefault = maxSockets === 0 ? MAX_AUTOMATIC_PER_IP : Math.max(1, Math.min(MAX_AUTOMATIC_PER_IP, Math.floor(maxSockets / 4)));
  return {
    firstRequestTimeout: configured.firstRequestTimeout,
    maxSockets,
    maxSocketsPerIp: configured.maxSocketsPerIp || perIpDefault,
  };
}

/**
 * Guards an HTTP(S) server against connections that hold a socket (a file) for nothing: at most
 * `maxSockets` in all (0: no cap) and `maxSocketsPerIp` per client address, each closed if it has
 * not completed a request within `firstRequestTimeout`. Counts raw TCP connections, before any TLS
 * or HTTP. `upgrades` says whether the server answers WebSocket upgrades, which then count as a
 * completed request.
 */
export function guardSockets(server: HttpServer, limits: SocketLimits, logger: Logger, upgrades: boolean): void {
  const perAddress = new Map<string, number>();
  // Connections that have not completed a request yet, by `address:port` (the same for a TLS socket and its TCP one).
  const waiting = new Map<string, { socket: Socket; timer: NodeJS.Timeout }>();
  const keyOf = (socket: Socket) => `${socket.remoteAddress}:${socket.remotePort}`;
  const stopWaiting = (key: string, socket?: Socket) => {
    const entry = waiting.get(key);
    if (!entry || (socket && entry.socket !== socket)) return;
    clearTimeout(entry.timer);
    waiting.delete(key);
  };

  const admit = (socket: Socket) => {
    const address = socket.remoteAddress;
    if (address === undefined) {
      socket.destroy();
      return;
    }
    const count = (perAddress.get(address) ?? 0) + 1;
    if (count > limits.maxSocketsPerIp) {
      logger.debug({ address }, 'connection refused: too many from this address');
      socket.destroy();
      return;
    }
    perAddress.set(address, count);
    const key = keyOf(socket);
    const timer = setTimeout(() => {
      logger.debug({ address }, 'connection closed: no request in time');
      socket.destroy();
    }, limits.firstRequestTimeout);
    timer.unref();
    waiting.set(key, { socket, timer });
    socket.once('close', () => {
      const remaining = (perAddress.get(address) ?? 0) - 1;
      if (remaining > 0) perAddress.set(address, remaining);
      else perAddress.delete(address);
      stopWaiting(key, socket);
    });
  };

  if (limits.maxSockets > 0) server.maxConnections = limits.maxSockets;
  server.on('connection', admit);
  server.on('request', (request: IncomingMessage) => stopWaiting(keyOf(request.socket)));
  // Listening to 'upgrade' makes Node hand upgrade requests to listeners: only where someone answers them.
  if (upgrades) server.on('upgrade', (request: IncomingMessage) => stopWaiting(keyOf(request.socket)));
}
