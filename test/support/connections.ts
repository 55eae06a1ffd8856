/** Bare TCP connections from a chosen loopback address: silent ones, or ones that make one HTTP request. */
import { connect, type Socket } from 'node:net';

export interface OpenedSocket {
  socket: Socket;
  /** Whether the server has closed it (or refused it) yet. */
  readonly closed: boolean;
  /** Resolves with the milliseconds from connecting until the server closed it. */
  whenClosed: Promise<number>;
}

/** Connects from `localAddress` (any of 127.0.0.0/8 on Linux) and sends nothing; resolves once connected. */
export function openSocket(port: number, localAddress: string): Promise<OpenedSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress });
    let closed = false;
    let connectedAt = Date.now();
    const whenClosed = new Promise<number>((done) =>
      socket.once('close', () => {
        closed = true;
        done(Date.now() - connectedAt);
      }),
    );
    // A refused connection may be reset rather than closed: either way it is over.
    socket.on('error', () => undefined);
    socket.once('connect', () => {
      connectedAt = Date.now();
      resolve({
        socket,
        get closed() {
          return closed;
        },
        whenClosed,
      });
    });
    socket.once('close', () => reject(new Error(`connection from ${localAddress} closed before it opened`)));
  });
}

/** One `GET path` over a new connection from `localAddress`: the answer's status line, or the failure. */
export async function getFrom(port: number, localAddress: string, path: string): Promise<string> {
  const { socket, whenClosed } = await openSocket(port, localAddress);
  let answer = '';
  socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
  await whenClosed;
  return answer.split('\r\n')[0] || 'closed without an answer';
}
