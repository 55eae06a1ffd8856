import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { defaultRoomOptions } from '../../src/management/index.js';
import type { Room, SessionRecord, Store, TokenRecord } from '../../src/store/index.js';

export interface StoreFixture {
  store: Store;
  /**
   * Opens another handle on the same data: after `store.close()` that is a restart, while it is
   * open that is a second process sharing the data (for PostgreSQL, another pool).
   */
  reopen(): Promise<Store>;
}

/** Fresh, empty data for each call; the suite closes every store it gets. */
export type MakeStore = () => Promise<StoreFixture>;

const LIFETIME = 180_000;

function roomFixture(name: string): Room {
  return { _id: randomUUID().replaceAll('-', ''), name, ...defaultRoomOptions() };
}

function tokenFixture(room: string, creationDate: number, service = 'service'): TokenRecord {
  return {
    _id: randomUUID(),
    user: 'alice',
    role: 'presenter',
    room,
    service,
    creationDate,
    origin: { isp: 'isp', region: 'region' },
    code: randomUUID(),
    secure: true,
    host: 'portal.example:8080',
  };
}

function sessionFixture(participantId: string): SessionRecord {
  return {
    participantId,
    user: 'alice',
    role: 'presenter',
    roomId: 'room',
    tokenCode: randomUUID(),
    origin: { isp: 'isp', region: 'region' },
    controller: { agent: 'conference-1@host', node: 'conference-1@host.node-1' },
    protocol: '1.2',
    sdkType: 'JavaScript',
  };
}

/** The behaviour every Store backend must share, registered as node:test tests. */
export function storeConformance(name: string, makeStore: MakeStore): void {
  async function withStore(body: (store: Store, reopen: () => Promise<Store>) => Promise<void>): Promise<void> {
    const fixture = await makeStore();
    const opened: Store[] = [fixture.store];
    const reopen = async () => {
      const store = await fixture.reopen();
      opened.push(store);
      return store;
    };
    try {
      await body(fixture.store, reopen);
    } finally {
      for (const store of opened) await store.close();
    }
  }

  describe(`${name} store`, () => {
    it('a created service is read back and listed with the ids of its rooms', () =>
      withStore(async (store) => {
        await store.createService({ _id: 'super', name: 'superService', key: 'k1' });
        await store.createService({ _id: 'other', name: 'other', key: 'k2' });
        const first = roomFixture('first');
        const second = roomFixture('second');
        await store.createRoom('super', first);
        await store.createRoom('super', second);
        assert.deepEqual(await store.getService('super'), {
          _id: 'super',
          name: 'superService',
          key: 'k1',
          rooms: [first._id, second._id],
        });
        assert.equal(await store.getService('missing'), undefined);
        const listed = await store.listServices();
        assert.deepEqual(
          listed.sort((a, b) => a._id.localeCompare(b._id)),
          [
            { _id: 'other', name: 'other', key: 'k2', rooms: [] },
            { _id: 'super', name: 'superService', key: 'k1', rooms: [first._id, second._id] },
          ],
        );
      }));

    it('deleting a service deletes its rooms and its unused tokens and leaves other services alone', () =>
      withStore(async (store) => {
        await store.createService({ _id: 'doomed', name: 'doomed', key: 'k' });
        await store.createService({ _id: 'kept', name: 'kept', key: 'k' });
        const doomedRoom = roomFixture('doomed room');
        const keptRoom = roomFixture('kept room');
        await store.createRoom('doomed', doomedRoom);
        await store.createRoom('kept', keptRoom);
        const now = Date.now();
        const doomedToken = tokenFixture(doomedRoom._id, now, 'doomed');
        const keptToken = tokenFixture(keptRoom._id, now, 'kept');
        await store.createToken(doomedToken);
        await store.createToken(keptToken);
        assert.equal(await store.deleteService('doomed'), true);
        assert.equal(await store.deleteService('doomed'), false);
        assert.equal(await store.getService('doomed'), undefined);
        assert.equal(await store.getRoom(doomedRoom._id), undefined);
        assert.deepEqual((await store.getRoom(keptRoom._id))?.room, keptRoom);
        assert.deepEqual(await store.consumeToken(doomedToken._id, LIFETIME, now), { status: 'missing' });
        assert.deepEqual(await store.consumeToken(keptToken._id, LIFETIME, now), { status: 'ok', token: keptToken });
      }));

    it('a room is read, updated and deleted, and unknown rooms are reported as such', () =>
      withStore(async (store) => {
        await store.createService({ _id: 'service', name: 'service', key: 'k' });
        const room = roomFixture('meeting');
        await store.createRoom('service', room);
        assert.deepEqual(await store.getRoom(room._id), { room, serviceId: 'service' });
        const updated: Room = { ...room, name: 'renamed', participantLimit: 5 };
        assert.equal(await store.updateRoom(updated), true);
        assert.deepEqual((await store.getRoom(room._id))?.room, updated);
        assert.equal(await store.updateRoom(roomFixture('never created')), false);
        assert.equal(await store.deleteRoom(room._id), true);
        assert.equal(await store.deleteRoom(room._id), false);
        assert.equal(await store.getRoom(room._id), undefined);
        assert.deepEqual((await store.getService('service'))?.rooms, []);
      }));

    it('rooms are listed in creation order, page by page, per service', () =>
      withStore(async (store) => {
        await store.createService({ _id: 'service', name: 'service', key: 'k' });
        await store.createService({ _id: 'elsewhere', name: 'elsewhere', key: 'k' });
        const rooms: Room[] = [];
        for (let index = 0; index < 5; index++) {
          const room = roomFixture(`room ${index}`);
          rooms.push(room);
          await store.createRoom('service', room);
          await store.createRoom('elsewhere', roomFixture(`elsewhere ${index}`));
        }
        assert.deepEqual(await store.listRooms('service', { offset: 0, limit: 2 }), rooms.slice(0, 2));
        assert.deepEqual(await store.listRooms('service', { offset: 2, limit: 2 }), rooms.slice(2, 4));
        assert.deepEqual(await store.listRooms('service', { offset: 4, limit: 2 }), rooms.slice(4));
        assert.deepEqual(await store.listRooms('service', { offset: 6, limit: 2 }), []);
        assert.deepEqual(await store.listRooms('nobody', { offset: 0, limit: 10 }), []);
      }));

    it('a token is consumed exactly once', () =>
      withStore(async (store) => {
        const now = Date.now();
        const token = tokenFixture('room', now);
        await store.createToken(token);
        assert.deepEqual(await store.consumeToken(token._id, LIFETIME, now), { status: 'ok', token });
        assert.deepEqual(await store.consumeToken(token._id, LIFETIME, now), { status: 'missing' });
      }));

    it("a token older than its lifetime is 'expired' and gone afterwards", () =>
      withStore(async (store) => {
        const now = Date.now();
        const token = tokenFixture('room', now - LIFETIME - 1);
        await store.createToken(token);
        assert.deepEqual(await store.consumeToken(token._id, LIFETIME, now), { status: 'expired' });
        assert.deepEqual(await store.consumeToken(token._id, LIFETIME, now), { status: 'missing' });
      }));

    it('consuming a token sweeps every other record older than the lifetime', () =>
      withStore(async (store) => {
        const now = Date.now();
        const stale = tokenFixture('room', now - LIFETIME - 1);
        const fresh = tokenFixture('room', now - 1_000);
        const consumed = tokenFixture('room', now);
        for (const token of [stale, fresh, consumed]) await store.createToken(token);
        assert.equal((await store.consumeToken(consumed._id, LIFETIME, now)).status, 'ok');
        // With a longer lifetime the stale token would be valid, had it not been swept.
        assert.deepEqual(await store.consumeToken(stale._id, 10 * LIFETIME, now), { status: 'missing' });
        assert.deepEqual(await store.consumeToken(fresh._id, LIFETIME, now), { status: 'ok', token: fresh });
      }));

    it('a consumption a second after the last sweep sweeps what went stale since', () =>
      withStore(async (store) => {
        const now = Date.now();
        const aging = tokenFixture('room', now - LIFETIME + 500);
        const first = tokenFixture('room', now);
        const second = tokenFixture('room', now);
        for (const token of [aging, first, second]) await store.createToken(token);
        assert.equal((await store.consumeToken(first._id, LIFETIME, now)).status, 'ok');
        assert.equal((await store.consumeToken(second._id, LIFETIME, now + 1_000)).status, 'ok');
        // With a longer lifetime the aging token would be valid, had it not been swept.
        assert.deepEqual(await store.consumeToken(aging._id, 10 * LIFETIME, now + 1_000), { status: 'missing' });
      }));

    it('a consumption after the clock was set back still sweeps', () =>
      withStore(async (store) => {
        const now = Date.now();
        const first = tokenFixture('room', now + 3_600_000);
        await store.createToken(first);
        assert.equal((await store.consumeToken(first._id, LIFETIME, now + 3_600_000)).status, 'ok');
        const stale = tokenFixture('room', now - LIFETIME - 1);
        const second = tokenFixture('room', now);
        for (const token of [stale, second]) await store.createToken(token);
        assert.equal((await store.consumeToken(second._id, LIFETIME, now)).status, 'ok');
        assert.deepEqual(await store.consumeToken(stale._id, 10 * LIFETIME, now), { status: 'missing' });
      }));

    it('one token consumed many times at once, from two handles, is granted exactly once', () =>
      withStore(async (store, reopen) => {
        const other = await reopen();
        const now = Date.now();
        for (let round = 0; round < 3; round++) {
          const token = tokenFixture('room', now);
          await store.createToken(token);
          const attempts = Array.from({ length: 16 }, (_, index) =>
            (index % 2 === 0 ? store : other).consumeToken(token._id, LIFETIME, now),
          );
          const statuses = (await Promise.all(attempts)).map((result) => result.status);
          assert.equal(statuses.filter((status) => status === 'ok').length, 1, statuses.join(','));
          assert.equal(statuses.filter((status) => status === 'missing').length, attempts.length - 1);
        }
      }));

    it('a session is claimed once per ticket, by one portal of many racing, and then belongs to it', () =>
      withStore(async (store, reopen) => {
        const other = await reopen();
        const now = Date.now();
        const session = sessionFixture('participant-1');
        await store.saveSession(session, 'portal-a', ['t1', 't2'], now + 60_000, now);
        const attempts = Array.from({ length: 10 }, (_, index) =>
          (index % 2 === 0 ? store : other).claimSession(session.participantId, 't1', `portal-${index}`, now),
        );
        const results = await Promise.all(attempts);
        assert.equal(results.filter((result) => result.status === 'ok').length, 1);
        assert.deepEqual(results.find((result) => result.status === 'ok'), { status: 'ok', session });
        assert.equal(results.filter((result) => result.status === 'ticket-used').length, 9);
        assert.deepEqual(await store.claimSession(session.participantId, 't2', 'portal-b', now), { status: 'ticket-used' });
        // The portal that lost the session cannot put its old tickets back.
        await store.saveSession(session, 'portal-a', ['t1', 't2'], now + 60_000, now);
        assert.deepEqual(await store.claimSession(session.participantId, 't1', 'portal-b', now), { status: 'ticket-used' });
      }));

    it('a session is missing when unknown, expired or deleted by its portal, retired after logout until its portal saves it anew', () =>
      withStore(async (store) => {
        const now = Date.now();
        assert.deepEqual(await store.claimSession('nobody', 't', 'portal-a', now), { status: 'missing' });
        await store.saveSession(sessionFixture('old'), 'portal-a', ['t'], now - 1, now - 10);
        assert.deepEqual(await store.claimSession('old', 't', 'portal-a', now), { status: 'missing' });
        await store.saveSession(sessionFixture('gone'), 'portal-a', ['t'], now + 60_000, now);
        await store.deleteSession('gone', 'portal-b');
        assert.equal((await store.claimSession('gone', 'x', 'portal-a', now)).status, 'ticket-used');
        await store.deleteSession('gone', 'portal-a');
        assert.deepEqual(await store.claimSession('gone', 't', 'portal-a', now), { status: 'missing' });
        await store.saveSession(sessionFixture('leaver'), 'portal-a', ['t'], now + 60_000, now);
        await store.retireSession('leaver', now + 60_000);
        assert.deepEqual(await store.claimSession('leaver', 't', 'portal-b', now), { status: 'retired' });
        // Another portal cannot revive it; the same socket logging in again on its portal starts anew.
        await store.saveSession(sessionFixture('leaver'), 'portal-b', ['t2'], now + 60_000, now);
        assert.deepEqual(await store.claimSession('leaver', 't2', 'portal-b', now), { status: 'retired' });
        await store.saveSession(sessionFixture('leaver'), 'portal-a', ['t3'], now + 60_000, now);
        assert.equal((await store.claimSession('leaver', 't3', 'portal-b', now)).status, 'ok');
      }));

    it('a key is created once, whoever asks first, and survives a restart', () =>
      withStore(async (store, reopen) => {
        const other = await reopen();
        const values = await Promise.all(
          Array.from({ length: 8 }, (_, index) =>
            (index % 2 === 0 ? store : other).getOrCreateKey('tokenKey', () => `candidate-${index}`),
          ),
        );
        const [chosen] = values;
        assert.ok(chosen?.startsWith('candidate-'));
        assert.deepEqual(new Set(values), new Set([chosen]));
        assert.equal(await store.getOrCreateKey('tokenKey', () => 'another'), chosen);
        assert.notEqual(await store.getOrCreateKey('reconnectionKey', () => 'second key'), chosen);
        await store.close();
        await other.close();
        const restarted = await reopen();
        assert.equal(await restarted.getOrCreateKey('tokenKey', () => 'after restart'), chosen);
        assert.equal(await restarted.getOrCreateKey('reconnectionKey', () => 'after restart'), 'second key');
      }));

    it('a nonce is refused while remembered and accepted again once it has expired', () =>
      withStore(async (store, reopen) => {
        const other = await reopen();
        const now = Date.now();
        assert.equal(await store.rememberNonce('service,1,abc', now + 1_000, now), true);
        assert.equal(await store.rememberNonce('service,1,abc', now + 1_000, now), false);
        assert.equal(await other.rememberNonce('service,1,abc', now + 1_000, now + 500), false);
        assert.equal(await store.rememberNonce('service,1,other', now + 1_000, now), true);
        assert.equal(await other.rememberNonce('service,1,abc', now + 3_000, now + 2_000), true);
        assert.equal(await store.rememberNonce('service,1,abc', now + 3_000, now + 2_500), false);
        const racing = await Promise.all(
          Array.from({ length: 8 }, (_, index) => (index % 2 === 0 ? store : other).rememberNonce('race', now + 1_000, now)),
        );
        assert.equal(racing.filter(Boolean).length, 1);
      }));

    it('reopening the same data applies no migration twice and keeps everything', () =>
      withStore(async (store, reopen) => {
        await store.createService({ _id: 'service', name: 'service', key: 'k' });
        const room = roomFixture('persistent');
        await store.createRoom('service', room);
        const token = tokenFixture(room._id, Date.now());
        await store.createToken(token);
        await store.close();
        const [first, second] = await Promise.all([reopen(), reopen()]);
        assert.deepEqual((await first!.getService('service'))?.rooms, [room._id]);
        await first!.close();
        const third = await reopen();
        assert.deepEqual(await third.getRoom(room._id), { room, serviceId: 'service' });
        assert.deepEqual(await second!.consumeToken(token._id, LIFETIME, Date.now()), { status: 'ok', token });
      }));

    it('leadership is granted to a lone contender and can be released twice', () =>
      withStore(async (store) => {
        const name = `manager-${randomUUID()}`;
        const leadership = await store.acquireLeadership(name);
        await leadership.release();
        await assert.doesNotReject(leadership.release());
        const again = await store.acquireLeadership(name);
        assert.equal(typeof again.release, 'function');
        await assert.doesNotReject(again.release());
      }));
  });
}
