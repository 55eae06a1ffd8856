/** A bare socket.io client for speaking the protocol byte by byte, malformed payloads included. */
import { io, type Socket } from 'socket.io-client';

export interface Answer {
  status: unknown;
  data: unknown;
}

export async function rawSocket(url: string): Promise<Socket> {
  const socket = io(url, { transports: ['websocket'], reconnection: false, forceNew: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return socket;
}

/** Emits `event` with `args` and resolves with the ack's (status, data). */
export function ask(socket: Socket, event: string, ...args: unknown[]): Promise<Answer> {
  return new Promise((resolve) => socket.emit(event, ...args, (status: unknown, data: unknown) => resolve({ status, data })));
}

/**
 * Cuts the socket's transport as a network drop would, without a word to the server; `close()`
 * says goodbye instead, and the portal does not wait for that client to come back.
 */
export function cutTransport(socket: Socket): void {
  socket.io.engine.close();
}

export function disconnected(socket: Socket): Promise<void> {
  return socket.connected ? new Promise((resolve) => socket.once('disconnect', () => resolve())) : Promise.resolve();
}

export const userAgent = (type = 'JavaScript', version = '5.1') => ({ sdk: { type, version } });
