/**
 * Bench child: a bare Socket.IO v4 server with the portal's engine settings and no logic — an ack
 * for `echo`, and `text` to `all` relayed to the sender's room. It is the transport's own limit.
 * Its `login` and `logout` send what the portal sends a participant of protocol 1.2 and the others
 * in its room, answers and notices of the same shapes and sizes, with nothing checked or kept
 * beyond who is present: what the transport alone costs for the protocol's traffic.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { defaults } from '../src/config/config.js';
import { encodeTicket, issueTicket } from '../src/protocol/ticket.js';
import { serveParent } from './ipc.js';
import { BASELINE_ROOM_QUERY } from './load-api.js';
import { cpuProfiler, type ProfilerMethods } from './profiler.js';
import { usageOf, type ProcessUsage } from './usage.js';

export type BaselineMethods = ProfilerMethods & {
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

interface Member {
  id: string;
  user: string;
  role: string;
}

const PRESENTER = { publish: { audio: true, video: true }, subscribe: { audio: true, video: true } };
/** A reconnection ticket as long as the portal's, made once. */
const TICKET = encodeTicket(issueTicket('bench', 'x'.repeat(20), defaults.portal.reconnectionTicketLifetime));
const present = new Map<string, Map<string, Member>>();
/** Named as the bench names its Conclave users, so that answers and notices are as long. */
let logins = 0;

io.on('connection', (socket) => {
  const requested = socket.handshake.query[BASELINE_ROOM_QUERY];
  let room = typeof requested === 'string' ? requested : 'lobby';
  if (typeof requested === 'string') void socket.join(room);
  socket.on('echo', (payload: unknown, ack: unknown) => {
    if (typeof ack === 'function') ack('ok', payload);
  });
  socket.on('text', (payload: { message?: unknown } | undefined, ack: unknown) => {
    io.to(room).emit('text', { from: socket.id, to: 'all', message: payload?.message });
    if (typeof ack === 'function') ack('ok');
  });
  const leave = () => {
    if (!present.get(room)?.delete(socket.id)) return;
    socket.to(room).emit('participant', { action: 'leave', data: socket.id });
  };
  socket.on('login', (payload: { token?: unknown } | undefined, ack: unknown) => {
    if (typeof ack !== 'function' || typeof payload?.token !== 'string') return;
    room = payload.token;
    const member: Member = { id: socket.id, user: `user-${logins++}`, role: 'presenter' };
    let members = present.get(room);
    if (!members) present.set(room, (members = new Map()));
    members.set(member.id, member);
    socket.to(room).emit('participant', { action: 'join', data: member });
    void socket.join(room);
    ack('ok', {
      ...member,
      permission: PRESENTER,
      room: { id: room, views: [], streams: [], participants: [...members.values()] },
      reconnectionTicket: TICKET,
    });
  });
  socket.on('logout', (ack: unknown) => {
    leave();
    if (typeof ack === 'function') ack('ok');
  });
  socket.on('disconnect', leave);
});

await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;

const profiler = cpuProfiler();

serveParent<BaselineMethods>(
  {
    describe: () => ({ url }),
    usage: (collectGarbage) => usageOf(collectGarbage),
    ...profiler.methods,
  },
  () => {
    profiler.close();
    return new Promise<void>((resolve) => io.close(() => resolve()));
  },
);
