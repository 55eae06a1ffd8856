import type { FastifyRequest } from 'fastify';
import type { RpcClient } from '../../bus/index.js';
import type { NodeRpc, StreamInfo, StreamUpdate } from '../../conference/api.js';
import type { ClusterGateway } from '../cluster.js';
import { callerOf, ownRoom, type RoomParams, type RouteContext } from '../context.js';
import { ApiError, ApiErrors } from '../errors.js';
import { askNode } from './participants.js';

export interface StreamParams extends RoomParams {
  stream: string;
}

/** OWT's API versions that have the streams resource (SPEC-MEDIA M7). */
const VERSIONS = ['/v1', '/v1.1'] as const;

/** Resources of OWT's API that need a media engine (RTSP/RTMP, a recorder, SIP) this server does not have. */
const UNSUPPORTED = ['streaming-ins', 'streaming-outs', 'recordings', 'sipcalls'] as const;

/** The shape of a JSON patch; what its operations may do is the node's to check, as for participants. */
const streamUpdatesSchema = {
  type: 'array',
  minItems: 1,
  maxItems: 16,
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['op', 'path'],
    properties: {
      op: { type: 'string', maxLength: 16 },
      path: { type: 'string', maxLength: 256 },
      value: {},
    },
  },
};

/** A node's answer as the API gives it; a node that let the room go since it was looked up answers `roomGone()`. */
async function nodeAnswer<T>(answer: Promise<T>, roomGone: () => T): Promise<T> {
  try {
    return await askNode(answer);
  } catch (error) {
    if (error instanceof ApiError && error.code === 'conference.roomNotFound') return roomGone();
    throw error;
  }
}

function streamGone(): never {
  throw ApiErrors.streamNotFound();
}

/** The room's streams, or none when no node holds it live. */
export async function streamsOfRoom(cluster: ClusterGateway, room: string): Promise<StreamInfo[]> {
  const node = await cluster.nodeOfRoom(room);
  return node ? nodeAnswer(node.call('getStreams', [room]), () => []) : [];
}

/** Asks the node hosting the room about one of its streams; a room not live has none (404/1004). */
export async function askAboutStream<T>(cluster: ClusterGateway, room: string, ask: (node: RpcClient<NodeRpc>) => Promise<T>): Promise<T> {
  const node = await cluster.nodeOfRoom(room);
  if (!node) throw ApiErrors.streamNotFound();
  return nodeAnswer(ask(node), streamGone);
}

/**
 * `/v1/rooms/{room}/streams` and the same under `/v1.1`, asked of the conference node that hosts
 * the room live; OWT's other media resources answer 501/2002.
 */
export function registerStreamRoutes({ app, store, cluster }: RouteContext): void {
  for (const version of VERSIONS) {
    const streams = `${version}/rooms/:room/streams`;

    app.get<{ Params: RoomParams }>(streams, async (request) => {
      const room = await ownRoom(store, callerOf(request), request.params.room);
      return streamsOfRoom(cluster, room._id);
    });

    app.get<{ Params: StreamParams }>(`${streams}/:stream`, async (request) => {
      const room = await ownRoom(store, callerOf(request), request.params.room);
      return askAboutStream(cluster, room._id, (node) => node.call('getStream', [room._id, request.params.stream]));
    });

    app.patch<{ Params: StreamParams; Body: StreamUpdate[] }>(
      `${streams}/:stream`,
      { schema: { body: streamUpdatesSchema } },
      async (request) => {
        const room = await ownRoom(store, callerOf(request), request.params.room);
        const { stream } = request.params;
        return askAboutStream(cluster, room._id, (node) => node.call('controlStream', [room._id, stream, request.body]));
      },
    );

    app.delete<{ Params: StreamParams }>(`${streams}/:stream`, async (request, reply) => {
      const room = await ownRoom(store, callerOf(request), request.params.room);
      await askAboutStream(cluster, room._id, (node) => node.call('removeStream', [room._id, request.params.stream]));
      return reply.send();
    });

    for (const resource of UNSUPPORTED) {
      // Another service's room is as unknown here as on every other route.
      const handler = async (request: FastifyRequest<{ Params: RoomParams }>): Promise<never> => {
        await ownRoom(store, callerOf(request), request.params.room);
        throw ApiErrors.notSupported(resource);
      };
      for (const url of [`${version}/rooms/:room/${resource}`, `${version}/rooms/:room/${resource}/:id`]) {
        app.route({ method: ['GET', 'POST', 'PATCH', 'DELETE'], url, handler });
      }
    }
  }
}
