import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ConferenceClient, ConferenceClientOptions } from '../../src/client/conference-client.js';
import { createLogger } from '../../src/logger.js';
import { storeDirectory } from '../../src/portal/directory.js';
import { ask, cutTransport, disconnected, rawSocket, userAgent, type Answer } from '../support/raw-socket.js';
import { received, startTestServer, type JoinedClient, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

let t: TestServer;
before(async () => {
  t = await startTestServer();
});
after(() => t.stop());

const decode = (ticket: string) => JSON.parse(Buffer.from(ticket, 'base64').toString()) as Record<string, unknown>;
const encode = (ticket: Record<string, unknown>) => Buffer.from(JSON.stringify(ticket)).toString('base64');

/** Cuts the client's transport and keeps it away until `reconnect` is called. */
async function cut(client: ConferenceClient, server: TestServer = t): Promise<() => void> {
  const participantId = client.socket.id!;
  client.socket.io.reconnection(false);
  client.socket.io.engine.close();
  await waitFor('the portal to notice the cut', () => {
    const session = server.server.portal.registry.get(participantId);
    return (session !== undefined && !session.carrier.isConnected) || 'still connected';
  });
  return () => {
    client.socket.io.reconnection(true);
    client.socket.connect();
  };
}

const texts = (who: JoinedClient) =>
  who.notifications.filter((n) => n.event === 'text').map((n) => (n.data as { message: string }).message);

const flavours: Array<[string, ConferenceClientOptions]> = [
  ['protocol 1.1 (native SDK)', { protocol: '1.1', sdk: { type: 'C++', version: '5.0' } }],
  ['protocol 1.2 (buffer answer)', { protocol: '1.2', sdk: { type: 'Android', version: '5.0' } }],
  ['the OWT JavaScript SDK (1.2 with a ticket string)', { protocol: '1.2', sdk: { type: 'JavaScript', version: '5.1' } }],
];

describe('reconnection', () => {
  for (const [flavour, options] of flavours) {
    test(`${flavour}: every notification sent while away arrives exactly once and in order`, async () => {
      const room = (await t.management.createRoom(`resume ${flavour}`))._id;
      const away = await t.join({ ...options, room, user: 'away' });
      const sender = await t.join({ room, user: 'sender' });
      await sender.client.send(away.id, 'before 1');
      await sender.client.send('all', 'before 2');
      await waitFor('the messages before the cut', () => texts(away).length === 2 || `${texts(away).length}`);
      const reconnect = await cut(away.client);
      for (let index = 1; index <= 20; index++) await sender.client.send(index % 2 ? away.id : 'all', `away ${index}`);
      const other = await t.join({ room, user: 'late' });
      const resumed = new Promise((resolve) => away.client.once('state', resolve));
      reconnect();
      assert.equal(await resumed, 'resumed');
      await sender.client.send(away.id, 'after');
      const expected = ['before 1', 'before 2', ...Array.from({ length: 20 }, (_, i) => `away ${i + 1}`), 'after'];
      await waitFor('every text', () => texts(away).length >= expected.length || `${texts(away).length}`);
      assert.deepEqual(texts(away), expected);
      const joins = away.notifications.filter((n) => n.event === 'participant' && (n.data as any).action === 'join');
      assert.deepEqual(joins.map((n) => (n.data as any).data.id), [sender.id, other.id]);
      assert.equal(sender.notifications.filter((n) => (n.data as any)?.action === 'leave').length, 0);
      for (const who of [away, sender, other]) who.client.close();
    });
  }

  const answers: Array<[string, string, string, 'string' | 'buffer']> = [
    ['1.1', 'C++', 'a ticket string', 'string'],
    ['1.2', 'Android', '{ticket, messages}', 'buffer'],
    ['1.2', 'JavaScript', 'a ticket string (the OWT JavaScript SDK reads no messages)', 'string'],
  ];
  for (const [protocol, sdk, what, shape] of answers) {
    test(`a ${sdk} client on protocol ${protocol} is answered ${what} on relogin`, async () => {
      const socket = await rawSocket(t.portalUrl);
      const login = await ask(socket, 'login', { token: await t.token(), userAgent: userAgent(sdk, '5.0'), protocol });
      const ticket = (login.data as { reconnectionTicket: string }).reconnectionTicket;
      cutTransport(socket);
      await waitFor('the portal to notice', () => !t.server.portal.registry.get(socket.id ?? '')?.carrier.isConnected || 'connected');
      const again = await rawSocket(t.portalUrl);
      const answer = await ask(again, 'relogin', ticket);
      assert.equal(answer.status, 'ok');
      if (shape === 'string') {
        assert.equal(typeof answer.data, 'string');
      } else {
        const data = answer.data as { ticket: unknown; messages: unknown };
        assert.equal(typeof data.ticket, 'string');
        assert.ok(Array.isArray(data.messages));
      }
      again.close();
    });
  }

  test('a relogin that arrives before the old socket has died takes the session over', async () => {
    const room = (await t.management.createRoom('takeover'))._id;
    const old = await t.join({ room, user: 'old' });
    const watcher = await t.join({ room, user: 'watcher' });
    old.client.socket.io.reconnection(false);
    const oldGone = disconnected(old.client.socket);
    const fresh = await rawSocket(t.portalUrl);
    const answer = await ask(fresh, 'relogin', old.client.reconnectionTicket);
    assert.equal(answer.status, 'ok');
    assert.equal(decode(answer.data as string)['participantId'], old.id);
    await oldGone;
    const got = new Promise((resolve) => fresh.once('text', resolve));
    await watcher.client.send(old.id, 'to the new socket');
    assert.deepEqual(await got, { from: watcher.id, to: 'me', message: 'to the new socket' });
    assert.equal(watcher.notifications.filter((n) => (n.data as any)?.action === 'leave').length, 0);
    assert.ok(t.server.portal.registry.get(old.id)?.carrier.isConnected);
    fresh.close();
    watcher.client.close();
  });

  test('tickets are single-use: the ticket used by a relogin is refused afterwards with Ticket is expired', async () => {
    const joined = await t.join({ user: 'single' });
    const ticket = joined.client.reconnectionTicket!;
    joined.client.socket.io.reconnection(false);
    const first = await rawSocket(t.portalUrl);
    assert.equal((await ask(first, 'relogin', ticket)).status, 'ok');
    const second = await rawSocket(t.portalUrl);
    assert.deepEqual(await ask(second, 'relogin', ticket), { status: 'error', data: 'Ticket is expired' });
    first.close();
  });

  test('refreshReconnectionTicket gives a new ticket; an SDK that does not reconnect gets Reconnection is not enabled.', async () => {
    const joined = await t.join({ user: 'refresh' });
    const before = decode(joined.client.reconnectionTicket!);
    const after = decode(await joined.client.refreshTicket());
    assert.equal(after['participantId'], joined.id);
    assert.notEqual(after['ticketId'], before['ticketId']);
    assert.ok((after['notAfter'] as number) >= (before['notAfter'] as number));
    joined.client.close();
    const plain = await t.join({ user: 'plain', sdk: { type: 'Python', version: '1' } });
    await assert.rejects(plain.client.refreshTicket(), { message: 'Reconnection is not enabled.' });
    plain.client.close();
  });

  test('a refresh invalidates the older tickets: a relogin with one fails with Ticket is expired, the new one resumes', async () => {
    const joined = await t.join({ user: 'refreshed' });
    const older = joined.client.reconnectionTicket!;
    const newer = await joined.client.refreshTicket();
    joined.client.socket.io.reconnection(false);
    const stale = await rawSocket(t.portalUrl);
    assert.deepEqual(await ask(stale, 'relogin', older), { status: 'error', data: 'Ticket is expired' });
    const fresh = await rawSocket(t.portalUrl);
    const answer = await ask(fresh, 'relogin', newer);
    assert.equal(answer.status, 'ok');
    assert.equal(decode(answer.data as string)['participantId'], joined.id);
    fresh.close();
  });

  test('relogin after the reconnection timeout fails with Client does NOT exist and the others saw the leave', async () => {
    const room = (await t.management.createRoom('timeout'))._id;
    const away = await t.join({ room, user: 'away' });
    const watcher = await t.join({ room, user: 'watcher' });
    const ticket = away.client.reconnectionTicket!;
    await cut(away.client);
    const [left] = await received(watcher.notifications, 'participant', 1);
    assert.deepEqual(left!.data, { action: 'leave', data: away.id });
    const socket = await rawSocket(t.portalUrl);
    assert.deepEqual(await ask(socket, 'relogin', ticket), { status: 'error', data: 'Client does NOT exist' });
    watcher.client.close();
  });

  test('relogin after logout fails with Reconnection is not allowed', async () => {
    const joined = await t.join({ user: 'leaver' });
    const ticket = joined.client.reconnectionTicket!;
    await joined.client.leave();
    const socket = await rawSocket(t.portalUrl);
    const gone = disconnected(socket);
    assert.deepEqual(await ask(socket, 'relogin', ticket), { status: 'error', data: 'Reconnection is not allowed' });
    await gone;
  });

  test('forged tickets fail with Invalid reconnection ticket signature, garbage with Invalid reconnection ticket', async () => {
    const joined = await t.join({ user: 'victim' });
    const genuine = decode(joined.client.reconnectionTicket!);
    const forgeries = [
      { ...genuine, signature: Buffer.from('f'.repeat(64)).toString('base64') },
      { ...genuine, notAfter: (genuine['notAfter'] as number) + 60_000 },
      { ...genuine, participantId: 'someone-else' },
    ];
    for (const forged of forgeries) {
      const socket = await rawSocket(t.portalUrl);
      assert.deepEqual(await ask(socket, 'relogin', encode(forged)), { status: 'error', data: 'Invalid reconnection ticket signature' });
    }
    for (const garbage of [undefined, null, 42, 'not a ticket', encode({ participantId: 'x' })]) {
      const socket = await rawSocket(t.portalUrl);
      assert.deepEqual(await ask(socket, 'relogin', garbage), { status: 'error', data: 'Invalid reconnection ticket' });
    }
    const socket = await rawSocket(t.portalUrl);
    const expired = { ...genuine, notBefore: 1, notAfter: 2 };
    assert.deepEqual(await ask(socket, 'relogin', encode(expired)), { status: 'error', data: 'Ticket is expired' });
    joined.client.close();
  });

  test("relogin with another participant's ticket id fails with Participant ID is not matched", async () => {
    const alice = await t.join({ user: 'alice' });
    const bob = await t.join({ user: 'bob' });
    const mixed = { ...decode(alice.client.reconnectionTicket!), ticketId: decode(bob.client.reconnectionTicket!)['ticketId'] };
    const socket = await rawSocket(t.portalUrl);
    assert.deepEqual(await ask(socket, 'relogin', encode(mixed)), { status: 'error', data: 'Participant ID is not matched' });
    alice.client.close();
    bob.client.close();
  });
});

describe('portal shutdown', () => {
  test('closing the server leaves no timer of a participant that was waiting to reconnect', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
    const before = timers();
    const local = await startTestServer({ portal: { reconnectionTimeout: 60_000, reconnectionTicketLifetime: 120_000 } });
    const joined = await local.join({ user: 'away' });
    await cut(joined.client, local);
    await local.stop();
    await waitFor('the timers to be gone', () => timers() <= before || `${timers() - before} left`, { timeoutMs: 3_000 });
  });
});

describe('reconnection limits', () => {
  test('a ticket past its lifetime fails with Ticket is expired', async () => {
    const short = await startTestServer({ portal: { reconnectionTicketLifetime: 300, reconnectionTimeout: 200 } });
    try {
      const joined = await short.join({ user: 'slow' });
      const ticket = joined.client.reconnectionTicket!;
      joined.client.socket.io.reconnection(false);
      await new Promise((resolve) => setTimeout(resolve, 400));
      const socket = await rawSocket(short.portalUrl);
      assert.deepEqual(await ask(socket, 'relogin', ticket), { status: 'error', data: 'Ticket is expired' });
    } finally {
      await short.stop();
    }
  });

  test('a client away for more messages than the buffer holds is refused with Reconnection is not allowed', async () => {
    const small = await startTestServer({ portal: { messageBufferSize: 5 } });
    try {
      const room = (await small.management.createRoom('busy'))._id;
      const away = await small.join({ room, user: 'away' });
      const sender = await small.join({ room, user: 'sender' });
      const ticket = away.client.reconnectionTicket!;
      await cut(away.client, small);
      for (let index = 0; index < 8; index++) await sender.client.send(away.id, `m${index}`);
      const socket = await rawSocket(small.portalUrl);
      assert.deepEqual(await ask(socket, 'relogin', ticket), { status: 'error', data: 'Reconnection is not allowed' });
      sender.client.close();
    } finally {
      await small.stop();
    }
  });

  test('an idle 1.2 client\'s buffer lets go of what is past its window without waiting for the next notification', async () => {
    // The window is pingInterval + pingTimeout + 1 s: 4 s here.
    const quick = await startTestServer({ portal: { pingInterval: 1_000, pingTimeout: 2_000 } });
    try {
      const room = (await quick.management.createRoom('quiet'))._id;
      const idle = await quick.join({ room, user: 'idle', protocol: '1.2', sdk: { type: 'Android', version: '5.0' } });
      const talker = await quick.join({ room, user: 'talker' });
      await talker.client.send(idle.id, 'once');
      const outbox = () => quick.server.portal.registry.get(idle.id)!.outbox;
      await waitFor('the message in the idle client\'s buffer', () => outbox().size >= 2 || `holds ${outbox().size}`);
      const heldAt = Date.now();
      await waitFor('the buffer to empty', () => outbox().size === 0 || `holds ${outbox().size}`, { timeoutMs: 15_000 });
      assert.ok(Date.now() - heldAt >= 3_000, 'nothing went before its window was over');
      assert.deepEqual(texts(idle), ['once']);
      talker.client.close();
    } finally {
      await quick.stop();
    }
  });
});


describe('a relogin interrupted while it claims the session', () => {
  let shared: TestServer;
  let claims = 0;
  let claimable: Promise<void> | undefined;
  let release = () => undefined as void;
  /** Holds every claim until released, as a slow store would in cluster mode. */
  const holdClaims = () => {
    claimable = new Promise((resolve) => (release = resolve));
  };

  before(async () => {
    shared = await startTestServer({ portal: { loginTimeout: 1_000 } });
    const { store, portal, config } = shared.server;
    const directory = storeDirectory(store, portal.id, config, createLogger('silent'));
    // Sessions go through the store as in cluster mode, where a claim is a round trip.
    portal.directory = {
      ...directory,
      claim: async (participantId, ticketId) => {
        claims++;
        await claimable;
        return directory.claim(participantId, ticketId);
      },
    };
  });
  after(async () => {
    release();
    await shared.stop();
  });

  /** Logs a raw client in, then cuts it; resolves once the portal holds its session for a relogin. */
  async function away(room: string): Promise<{ id: string; ticket: string }> {
    const token = await shared.token(room, 'away');
    const socket = await rawSocket(shared.portalUrl);
    const login = await ask(socket, 'login', { token, userAgent: userAgent(), protocol: '1.2' });
    const id = socket.id!;
    cutTransport(socket);
    await waitFor('the portal to hold the session', () => shared.server.portal.registry.get(id)?.carrier.isConnected === false || 'connected');
    return { id, ticket: (login.data as { reconnectionTicket: string }).reconnectionTicket };
  }

  test('a logout meanwhile ends the session: the relogin gets Participant early left and the room sees the leave', async () => {
    const room = (await shared.management.createRoom('logout meanwhile'))._id;
    const watcher = await shared.join({ room, user: 'watcher' });
    const { id, ticket } = await away(room);
    holdClaims();
    const claimed = claims;
    const socket = await rawSocket(shared.portalUrl);
    let answer: Answer | undefined;
    void ask(socket, 'relogin', ticket).then((reply) => (answer = reply));
    await waitFor('the relogin to claim the session', () => claims > claimed);
    assert.deepEqual(await ask(socket, 'logout'), { status: 'error', data: 'Illegal request' });
    release();
    await waitFor('the relogin to be answered', () => answer !== undefined);
    assert.deepEqual(answer, { status: 'error', data: 'Participant early left' });
    const events = await received(watcher.notifications, 'participant', 2);
    assert.deepEqual(events[1]!.data, { action: 'leave', data: id });
    assert.equal(shared.server.portal.registry.get(id), undefined);
    watcher.client.close();
  });

  test('after a refresh, the store lets no other portal claim the session with an older ticket', async () => {
    const room = (await shared.management.createRoom('refreshed in the store'))._id;
    const joined = await shared.join({ room, user: 'refreshed' });
    const older = decode(joined.client.reconnectionTicket!);
    const newer = decode(await joined.client.refreshTicket());
    const { store } = shared.server;
    await waitFor('the refresh to reach the store', async () => {
      const claim = await store.claimSession(joined.id, older['ticketId'] as string, 'another-portal', Date.now());
      return claim.status === 'ticket-used' || claim.status;
    });
    const claim = await store.claimSession(joined.id, newer['ticketId'] as string, 'another-portal', Date.now());
    assert.equal(claim.status, 'ok');
    joined.client.close();
  });

  test('a socket that closes meanwhile leaves the ticket good for the next relogin', async () => {
    const room = (await shared.management.createRoom('closed meanwhile'))._id;
    const { id, ticket } = await away(room);
    holdClaims();
    const claimed = claims;
    const socket = await rawSocket(shared.portalUrl);
    socket.emit('relogin', ticket, () => undefined);
    await waitFor('the relogin to claim the session', () => claims > claimed);
    // The login deadline closes the connection while its relogin is still claiming.
    await disconnected(socket);
    release();
    const again = await rawSocket(shared.portalUrl);
    const answer = await ask(again, 'relogin', ticket);
    assert.equal(answer.status, 'ok');
    assert.ok(shared.server.portal.registry.get(id)?.carrier.isConnected);
    again.close();
  });
});
