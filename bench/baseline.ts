/**
 * Bench child: a bare Socket.IO v4 server with the portal's engine settings and no logic — an ack
 * for `echo`, and `text` to `all` relayed to the sender's room. It is the transport's own limit.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { defaults } from '../src/config/config.js';
import { serveParent } from './ipc.js';
import { BASELINE_ROOM_QUERY } from './load-api.js';
import { usageOf, type ProcessUsage } from './usage.js';

export type BaselineMethods = {
  describe(): { url: string };
  usage(collectGarbage: boolean): ProcessUsage;
};

const httpServer = createServer();
const io = new Server(httpServer, {
  allowEIO3: true,
  cors: { origin: '*' },
  pingInterval: defaults.portal.pingInterval,
  pingTimeout: defaults.portal.pingTimeout,
  maxHttpBufferSize: defaults.portal.maxHttpBufferSize,
  serveClient: false,
});

io.on('connection', (socket) => {
  const requested = socket.handshake.query[BASELINE_ROOM_QUERY];
  const room = typeof requested === 'string' ? requested : 'lobby';
  void socket.join(room);
  socket.on('echo', (payload: unknown, ack: unknown) => {
    if (typeof ack === 'function') ack('ok', payload);
  });
  socket.on('text', (payload: { message?: unknown } | undefined, ack: unknown) => {
    io.to(room).emit('text', { from: socket.id, to: 'all', message: payload?.message });
    if (typeof ack === 'function') ack('ok');
  });
});

await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;

serveParent<BaselineMethods>(
  {
    describe: () => ({ url }),
    usage: (collectGarbage) => usageOf(collectGarbage),
  },
  () => new Promise<void>((resolve) => io.close(() => resolve())),
);
