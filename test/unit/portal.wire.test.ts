/**
 * The portal writes notifications as ready Socket.IO packets, encoded once per flavour: what reaches
 * a client must be byte for byte what `socket.emit` sends for the same arguments.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { Server, type Socket as ServerSocket } from 'socket.io';
import { io, type Socket } from 'socket.io-client';
import { flavourFor } from '../../src/portal/flavours.js';
import { eventArguments, eventPacket, RoomNotification } from '../../src/portal/wire.js';
import { waitFor } from '../support/wait.js';

interface Link {
  server: Server;
  serverSide: ServerSocket;
  client: Socket;
  /** Every Socket.IO packet the client's Engine.IO connection received, as text. */
  frames: string[];
}

/** A server and one client over `transport` only, recording what the client receives. */
async function link(transport: 'websocket' | 'polling'): Promise<Link> {
  const http = createServer();
  const server = new Server(http);
  const connected = new Promise<ServerSocket>((resolve) => server.once('connection', resolve));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const client = io(`http://127.0.0.1:${(http.address() as AddressInfo).port}`, { transports: [transport], reconnection: false });
  const frames: string[] = [];
  client.io.on('open', () => client.io.engine.on('packet', (packet: { type: string; data?: unknown }) => {
    if (packet.type === 'message' && typeof packet.data === 'string') frames.push(packet.data);
  }));
  const serverSide = await connected;
  await waitFor('the client to connect', () => client.connected);
  assert.equal(serverSide.conn.transport.name, transport);
  return { server, serverSide, client, frames };
}

const links: Link[] = [];
before(async () => {
  links.push(await link('websocket'), await link('polling'));
});
after(async () => {
  for (const { client, server } of links) {
    client.close();
    await server.close();
  }
});

/** What the client received for `send`, once it arrived. */
async function received({ frames }: Link, send: () => void): Promise<string> {
  const before = frames.length;
  send();
  await waitFor('the frame', () => frames.length > before);
  return frames[before]!;
}

const payloads: Array<[string, unknown]> = [
  ['text', { from: 'a', to: 'all', message: 'plain' }],
  ['text', { from: 'a', to: 'all', message: 'ünïcødé, emoji 🎥, quote " backslash \\ line\nbreak \u2028 \u0000' }],
  ['participant', { action: 'join', data: { id: 'x', user: 'y', role: 'presenter', nested: [1, 2.5, -0, null, true, { deep: [] }] } }],
  ['participant', { action: 'leave', data: 'x' }],
  ['stream', { id: 's', status: 'update', data: { field: 'audio.status', value: 'inactive', missing: undefined } }],
  ['drop', undefined],
  ['drop', null],
];

describe('notification packets', () => {
  test('each flavour\'s packet is what socket.emit writes for the same arguments, over WebSocket and long-polling', async () => {
    for (const connection of links) {
      const { serverSide } = connection;
      const transport = serverSide.conn.transport.name;
      for (const flavour of [flavourFor('legacy', 'JavaScript'), flavourFor('1.2', 'JavaScript'), flavourFor('1.2', 'C++'), flavourFor('1.0', 'C++')]) {
        for (const [event, data] of payloads) {
          const outgoing = flavour.outgoing(event, data);
          if (!outgoing) continue;
          const args = eventArguments(flavour, outgoing.event, outgoing.data, 41);
          const byEmit = await received(connection, () => (serverSide.emit as (...all: unknown[]) => boolean)(...args));
          const byPacket = await received(connection, () => serverSide.conn.write(eventPacket(args)));
          assert.equal(byPacket, byEmit, `${transport} ${flavour.protocol} ${event}: packet`);
          const notification = new RoomNotification(event, data, 41);
          const prepared = notification.for(flavour)!;
          // Twice: the second member gets the frame the first one's write made.
          for (const member of ['first', 'second']) {
            const byRoom = await received(connection, () => notification.writeTo(serverSide.conn, flavour, prepared));
            assert.equal(byRoom, byEmit, `${transport} ${flavour.protocol} ${event}: ${member} member's frame`);
          }
        }
      }
    }
  });

  test('a notification is framed whatever the process loaded before the wire module', () => {
    const script = fileURLToPath(new URL('../support/wire-alone.ts', import.meta.url));
    const printed = execFileSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', timeout: 60_000 });
    const packet = '2["text",{"message":"hi"}]';
    const message = Buffer.from(`4${packet}`);
    // A final text frame (0x81), unmasked, whose length fits the second byte.
    assert.deepEqual(JSON.parse(printed), { packet, frame: Buffer.concat([Buffer.from([0x81, message.length]), message]).toString('hex') });
  });

  test('a room notification is translated and encoded once per flavour, however many members take it', () => {
    const legacy = flavourFor('legacy', 'JavaScript');
    const buffered = flavourFor('1.2', 'C++');
    assert.equal(flavourFor('1.2', 'Android'), buffered, 'sessions of one flavour share it');
    const notification = new RoomNotification('text', { from: 'a', to: 'all', message: 'hi' }, 7);
    const first = notification.for(buffered)!;
    assert.equal(notification.for(buffered), first);
    const packet = notification.packetFor(buffered, first);
    assert.equal(notification.packetFor(buffered, notification.for(buffered)!), packet);
    assert.equal(packet, '2["text",{"from":"a","to":"all","message":"hi"},7]');
    assert.equal(notification.packetFor(legacy, notification.for(legacy)!), '2["custom_message",{"from":"a","to":"all","data":"hi"}]');
    assert.equal(new RoomNotification('stream', {}, 8).for(legacy)?.event, 'stream');
  });
});
