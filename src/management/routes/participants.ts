import type { ParticipantDetail, PermissionUpdate } from '../../conference/api.js';
import { RestCodes } from '../../protocol/errors.js';
import type { ClusterGateway } from '../cluster.js';
import { callerOf, ownRoom, type RoomParams, type RouteContext } from '../context.js';
import { ApiError, ApiErrors } from '../errors.js';

interface ParticipantParams extends RoomParams {
  participant: string;
}

const permissionUpdatesSchema = {
  type: 'array',
  minItems: 1,
  maxItems: 16,
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['op', 'path', 'value'],
    properties: {
      op: { const: 'replace' },
      path: { type: 'string', pattern: '^/permission/(publish|subscribe)(/(audio|video))?$' },
      // A kind (`/audio`, `/video`) takes a boolean; a direction takes `false` or both kinds, which the node checks.
      value: {
        anyOf: [
          { type: 'boolean' },
          {
            type: 'object',
            additionalProperties: false,
            required: ['audio', 'video'],
            properties: { audio: { type: 'boolean' }, video: { type: 'boolean' } },
          },
        ],
      },
    },
  },
};

/** Node answers to API errors: unknown participants 404/1005, bad permission updates 400/1301 (the catalogue's table). */
export async function askNode<T>(answer: Promise<T>): Promise<T> {
  try {
    return await answer;
  } catch (error) {
    throw ApiError.fromCluster(error);
  }
}

/** Everyone in the room now; nobody when no node holds it live. */
export async function participantsOfRoom(cluster: ClusterGateway, room: string): Promise<ParticipantDetail[]> {
  const node = await cluster.nodeOfRoom(room);
  if (!node) return [];
  try {
    return await askNode(node.call('getParticipants', [room]));
  } catch (error) {
    // The node let the room go between the lookup and the question: nobody is in it.
    if (error instanceof ApiError && error.restCode === RestCodes.participantNotFound) return [];
    throw error;
  }
}

/** What the API shows of a participant; where it is connected stays inside the cluster. */
function view(detail: ParticipantDetail): Pick<ParticipantDetail, 'id' | 'user' | 'role' | 'permission'> {
  return { id: detail.id, user: detail.user, role: detail.role, permission: detail.permission };
}

/** `/v1/rooms/{room}/participants`: asked of the conference node that hosts the room live. */
export function registerParticipantRoutes({ app, store, cluster }: RouteContext): void {
  /** The live room's node, or a 404/1005 when the room is not live anywhere. */
  const nodeHosting = async (room: string) => {
    const node = await cluster.nodeOfRoom(room);
    if (!node) throw ApiErrors.participantNotFound();
    return node;
  };

  app.get<{ Params: RoomParams }>('/v1/rooms/:room/participants', async (request) => {
    const room = await ownRoom(store, callerOf(request), request.params.room);
    return (await participantsOfRoom(cluster, room._id)).map(view);
  });

  app.get<{ Params: ParticipantParams }>('/v1/rooms/:room/participants/:participant', async (request) => {
    const room = await ownRoom(store, callerOf(request), request.params.room);
    const node = await nodeHosting(room._id);
    return view(await askNode(node.call('getParticipant', [room._id, request.params.participant])));
  });

  app.patch<{ Params: ParticipantParams; Body: PermissionUpdate[] }>(
    '/v1/rooms/:room/participants/:participant',
    { schema: { body: permissionUpdatesSchema } },
    async (request) => {
      const room = await ownRoom(store, callerOf(request), request.params.room);
      const node = await nodeHosting(room._id);
      const updates = request.body;
      return view(await askNode(node.call('controlParticipant', [room._id, request.params.participant, updates])));
    },
  );

  app.delete<{ Params: ParticipantParams }>('/v1/rooms/:room/participants/:participant', async (request, reply) => {
    const room = await ownRoom(store, callerOf(request), request.params.room);
    const node = await nodeHosting(room._id);
    await askNode(node.call('dropParticipant', [room._id, request.params.participant]));
    return reply.send();
  });
}
