import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type { RpcHandlers } from '../../src/bus/index.js';
import { ManagementApiError, type ManagementClient } from '../../src/client/management-client.js';
import { ConferenceErrors, type AgentRpc, type NodeRpc, type ParticipantDetail } from '../../src/conference/api.js';
import type { Room } from '../../src/store/index.js';
import { errorOf, startManagementHarness, type Credentials, type ManagementHarness } from '../support/management-api.js';

const AGENT = 'conference-standin@localhost';
const NODE = 'conference-standin@localhost.node-1';

function participant(id: string, user: string): ParticipantDetail {
  return {
    id,
    user,
    role: 'presenter',
    portal: 'portal-1@localhost',
    origin: { isp: 'isp', region: 'region' },
    permission: { publish: { audio: true, video: true }, subscribe: { audio: true, video: true } },
  };
}

describe('management API participants', () => {
  let harness: ManagementHarness;
  let tenant: Credentials;
  let client: ManagementClient;
  let room: Room;
  /** The stand-in node's live participants, by room. */
  const live = new Map<string, Map<string, ParticipantDetail>>();
  const dropped: string[] = [];

  const inRoom = (roomId: string, participantId: string): ParticipantDetail => {
    const found = live.get(roomId)?.get(participantId);
    if (!found) throw new Error(ConferenceErrors.participantNotFound);
    return found;
  };

  before(async () => {
    harness = await startManagementHarness();
    const created = await harness.superClient.createService('participants-tenant');
    tenant = { serviceId: created._id, key: created.key };
    client = harness.client(tenant);
    room = await client.createRoom('live');

    const agent: Pick<RpcHandlers<AgentRpc>, 'queryNode'> = { queryNode: (task) => (live.has(task) ? NODE : null) };
    const node: Pick<RpcHandlers<NodeRpc>, 'getParticipants' | 'getParticipant' | 'controlParticipant' | 'dropParticipant'> = {
      getParticipants: (roomId) => [...(live.get(roomId)?.values() ?? [])],
      getParticipant: inRoom,
      controlParticipant: (roomId, participantId, updates) => {
        const found = inRoom(roomId, participantId);
        for (const update of updates) {
          if (typeof update.value !== 'boolean') throw new Error(ConferenceErrors.invalidValue);
          const [, , direction, kind] = update.path.split('/') as [string, string, 'publish' | 'subscribe', 'audio' | 'video'];
          const current = found.permission[direction] || { audio: false, video: false };
          found.permission[direction] = { ...current, [kind]: update.value };
        }
        return found;
      },
      dropParticipant: (roomId, participantId) => {
        const found = inRoom(roomId, participantId);
        live.get(roomId)!.delete(participantId);
        dropped.push(participantId);
        return found;
      },
    };
    await harness.bus.serve(AGENT, agent);
    await harness.bus.serve(NODE, node);
  });
  afterEach(() => {
    harness.manager.conferenceAgent = null;
    live.clear();
  });
  after(() => harness.close());

  const goLive = (...participants: ParticipantDetail[]) => {
    harness.manager.conferenceAgent = AGENT;
    live.set(room._id, new Map(participants.map((detail) => [detail.id, detail])));
  };

  const refusal = (promise: Promise<unknown>) =>
    promise.then(
      () => assert.fail('the request should have been refused'),
      (error: unknown) => {
        assert.ok(error instanceof ManagementApiError);
        return { status: error.status, code: error.code, message: error.message };
      },
    );

  it('a room that no node holds live has no participants', async () => {
    assert.deepEqual(await client.getParticipants(room._id), []);
  });

  it('a participant of a room that no node holds live is 404/1005', async () => {
    assert.deepEqual(await refusal(client.getParticipant(room._id, 'anyone')), {
      status: 404,
      code: 1005,
      message: 'Participant not found',
    });
    assert.equal((await refusal(client.dropParticipant(room._id, 'anyone'))).code, 1005);
  });

  it('the live room\'s participants are listed with id, user, role and permission, not where they connect', async () => {
    goLive(participant('p1', 'ann'), participant('p2', 'ben'));
    const listed = await client.getParticipants(room._id);
    assert.deepEqual(
      listed.map((entry) => [entry.id, entry.user, entry.role]),
      [['p1', 'ann', 'presenter'], ['p2', 'ben', 'presenter']],
    );
    assert.deepEqual(Object.keys(listed[0]!).sort(), ['id', 'permission', 'role', 'user']);
  });

  it('one participant is answered by id, and an unknown one is 404/1005', async () => {
    goLive(participant('p1', 'ann'));
    const found = await client.getParticipant(room._id, 'p1');
    assert.equal(found.user, 'ann');
    assert.deepEqual(found.permission, { publish: { audio: true, video: true }, subscribe: { audio: true, video: true } });
    assert.equal((await refusal(client.getParticipant(room._id, 'nobody'))).code, 1005);
  });

  it('PATCH changes a participant\'s permission and answers the participant', async () => {
    goLive(participant('p1', 'ann'));
    const updated = await client.updateParticipant(room._id, 'p1', [
      { op: 'replace', path: '/permission/publish/video', value: false },
    ]);
    assert.deepEqual(updated.permission.publish, { audio: true, video: false });
    assert.deepEqual(live.get(room._id)!.get('p1')!.permission.publish, { audio: true, video: false });
  });

  it('a PATCH the node finds invalid is 400/1301 with the node\'s message', async () => {
    goLive(participant('p1', 'ann'));
    assert.deepEqual(
      await refusal(client.updateParticipant(room._id, 'p1', [{ op: 'replace', path: '/permission/publish/audio', value: 'yes' }])),
      { status: 400, code: 1301, message: 'Invalid json value' },
    );
  });

  it('PATCH bodies that are not a list of permission replacements are 400/1301 without asking the node', async () => {
    goLive(participant('p1', 'ann'));
    for (const body of [
      {},
      [],
      [{ op: 'add', path: '/permission/publish', value: true }],
      [{ op: 'replace', path: '/role', value: 'viewer' }],
      [{ op: 'replace', path: '/permission/publish' }],
      [{ op: 'replace', path: '/permission/publish', value: true, from: 'x' }],
    ]) {
      const response = await harness.request('PATCH', `/v1/rooms/${room._id}/participants/p1`, {
        auth: tenant,
        body: JSON.stringify(body),
      });
      const error = await errorOf(response);
      assert.deepEqual([error.status, error.code], [400, 1301], JSON.stringify(body));
    }
  });

  it('DELETE drops the participant; dropping it again is 404/1005', async () => {
    goLive(participant('p1', 'ann'), participant('p2', 'ben'));
    await client.dropParticipant(room._id, 'p1');
    assert.deepEqual(dropped, ['p1']);
    assert.deepEqual((await client.getParticipants(room._id)).map((entry) => entry.id), ['p2']);
    assert.equal((await refusal(client.dropParticipant(room._id, 'p1'))).code, 1005);
  });

  it('an agent that does not answer fails the request with 503/1201', async () => {
    harness.manager.conferenceAgent = 'conference-gone@localhost';
    const refused = await refusal(client.getParticipants(room._id));
    assert.deepEqual([refused.status, refused.code], [503, 1201]);
  });
});
