import type { FastifyBaseLogger } from 'fastify';
import type { Room } from '../../store/index.js';
import type { ClusterGateway } from '../cluster.js';
import { callerOf, ownRoom, type RoomParams, type RouteContext } from '../context.js';
import { ApiErrors } from '../errors.js';
import { newId } from '../ids.js';
import {
  createRoomBodySchema,
  uniquenessViolation,
  updateRoomBodySchema,
  type CreateRoomBody,
  type RoomOptions,
  type UpdateRoomBody,
} from '../room-options.js';

/** `?page=&per_page=`: 1-based page; without either, every room. */
interface PageQuery {
  page?: number;
  per_page?: number;
}

const MAX_PER_PAGE = 1_000;
const DEFAULT_PER_PAGE = 100;

const pageQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    page: { type: 'integer', minimum: 1 },
    per_page: { type: 'integer', minimum: 1, maximum: MAX_PER_PAGE },
  },
};

function checkedOptions<T extends RoomOptions>(options: T): T {
  const violation = uniquenessViolation(options);
  if (violation) throw ApiErrors.badRequest(violation);
  return options;
}

function pageOf(query: PageQuery): { offset: number; limit: number } {
  if (query.page === undefined && query.per_page === undefined) return { offset: 0, limit: 2 ** 31 - 1 };
  const limit = query.per_page ?? DEFAULT_PER_PAGE;
  return { offset: ((query.page ?? 1) - 1) * limit, limit };
}

/** Drops everyone in rooms deleted from the store; a room the cluster cannot end now is only logged. */
export async function endRoomsLive(cluster: ClusterGateway, rooms: readonly string[], log: FastifyBaseLogger): Promise<void> {
  await Promise.all(
    rooms.map((room) =>
      cluster.endRoom(room).catch((error: unknown) => log.warn({ room, err: error }, 'could not end the deleted room live')),
    ),
  );
}

/** `/v1/rooms`: each service sees and changes only its own rooms. */
export function registerRoomRoutes({ app, store, cluster }: RouteContext): void {
  app.post<{ Body: CreateRoomBody }>('/v1/rooms', { schema: { body: createRoomBodySchema } }, async (request) => {
    const caller = callerOf(request);
    const room: Room = { _id: newId(), name: request.body.name, ...checkedOptions(request.body.options) };
    await store.createRoom(caller.service._id, room);
    return room;
  });

  app.get<{ Querystring: PageQuery }>('/v1/rooms', { schema: { querystring: pageQuerySchema } }, async (request) =>
    store.listRooms(callerOf(request).service._id, pageOf(request.query)),
  );

  app.get<{ Params: RoomParams }>('/v1/rooms/:room', async (request) =>
    ownRoom(store, callerOf(request), request.params.room),
  );

  app.put<{ Params: RoomParams; Body: UpdateRoomBody }>(
    '/v1/rooms/:room',
    { schema: { body: updateRoomBodySchema } },
    async (request) => {
      const current = await ownRoom(store, callerOf(request), request.params.room);
      const { name, ...options } = checkedOptions(request.body);
      const room: Room = { _id: current._id, name: name ?? current.name, ...options };
      if (!(await store.updateRoom(room))) throw ApiErrors.roomNotFound();
      return room;
    },
  );

  app.delete<{ Params: RoomParams }>('/v1/rooms/:room', async (request, reply) => {
    const { room } = request.params;
    await ownRoom(store, callerOf(request), room);
    if (!(await store.deleteRoom(room))) throw ApiErrors.roomNotFound();
    // The room is gone from the store either way; whoever is in it live is dropped.
    await endRoomsLive(cluster, [room], request.log);
    return reply.type('text/plain; charset=utf-8').send('Room deleted');
  });
}
