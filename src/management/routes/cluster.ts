import type { WorkerSnapshot } from '../../cluster/api.js';
import type { StreamInfo } from '../../conference/api.js';
import type { ParticipantPlacement, RoomSummary, WorkerView } from '../../protocol/rest.js';
import { callerOf, requireSuper, type RoomParams, type RouteContext } from '../context.js';
import { ApiErrors } from '../errors.js';
import { askNode, participantsOfRoom } from './participants.js';
import { askAboutStream, streamsOfRoom, type StreamParams } from './streams.js';

interface ParticipantParams extends RoomParams {
  participant: string;
}

const EVERY_ROOM = { offset: 0, limit: 2 ** 31 - 1 };

function workerView(worker: WorkerSnapshot): WorkerView {
  const host = worker.info.hostname || worker.info.ip;
  return {
    id: worker.id,
    purpose: worker.purpose,
    state: worker.state,
    load: worker.load,
    maxLoad: worker.info.maxLoad,
    address: worker.info.port ? `${host}:${worker.info.port}` : host,
    tasks: worker.tasks.length,
    reservations: worker.reservations.length,
  };
}

/**
 * `/v1/cluster/...`, the super service only: the whole cluster as an operator sees it (the admin
 * page) — workers, every service's rooms, where each participant is connected, a drop, each
 * room's streams and a stop.
 */
export function registerClusterRoutes({ app, store, cluster }: RouteContext): void {
  app.get('/v1/cluster/workers', async (request): Promise<WorkerView[]> => {
    requireSuper(callerOf(request));
    return (await cluster.workers()).map(workerView);
  });

  app.get('/v1/cluster/rooms', async (request): Promise<RoomSummary[]> => {
    requireSuper(callerOf(request));
    // Only rooms a conference worker holds have participants; the others are not asked about.
    const live = new Set((await cluster.workers('conference')).flatMap((worker) => worker.tasks));
    const services = await store.listServices();
    const rooms = await Promise.all(
      services.map(async (service) =>
        (await store.listRooms(service._id, EVERY_ROOM)).map((room) => ({ room, service })),
      ),
    );
    return Promise.all(
      rooms.flat().map(async ({ room, service }) => ({
        _id: room._id,
        name: room.name,
        service: { _id: service._id, name: service.name },
        participants: live.has(room._id) ? (await participantsOfRoom(cluster, room._id)).length : 0,
      })),
    );
  });

  app.get<{ Params: RoomParams }>(
    '/v1/cluster/rooms/:room/participants',
    async (request): Promise<ParticipantPlacement[]> => {
      requireSuper(callerOf(request));
      if (!(await store.getRoom(request.params.room))) throw ApiErrors.roomNotFound();
      const participants = await participantsOfRoom(cluster, request.params.room);
      const portals = [...new Set(participants.map((participant) => participant.portal))];
      const away = new Set(
        (
          await Promise.all(
            portals.map((portal) => {
              const ids = participants.filter((participant) => participant.portal === portal).map((participant) => participant.id);
              // A portal that does not answer is gone: its participants wait to resume on another one.
              return cluster.awayOf(portal, ids).catch(() => ids);
            }),
          )
        ).flat(),
      );
      return participants.map(({ id, user, role, portal }) => ({ id, user, role, portal, connected: !away.has(id) }));
    },
  );

  app.delete<{ Params: ParticipantParams }>(
    '/v1/cluster/rooms/:room/participants/:participant',
    async (request, reply) => {
      requireSuper(callerOf(request));
      const { room, participant } = request.params;
      if (!(await store.getRoom(room))) throw ApiErrors.roomNotFound();
      const node = await cluster.nodeOfRoom(room);
      if (!node) throw ApiErrors.participantNotFound();
      await askNode(node.call('dropParticipant', [room, participant]));
      return reply.send();
    },
  );

  app.get<{ Params: RoomParams }>('/v1/cluster/rooms/:room/streams', async (request): Promise<StreamInfo[]> => {
    requireSuper(callerOf(request));
    if (!(await store.getRoom(request.params.room))) throw ApiErrors.roomNotFound();
    return streamsOfRoom(cluster, request.params.room);
  });

  app.delete<{ Params: StreamParams }>('/v1/cluster/rooms/:room/streams/:stream', async (request, reply) => {
    requireSuper(callerOf(request));
    const { room, stream } = request.params;
    if (!(await store.getRoom(room))) throw ApiErrors.roomNotFound();
    await askAboutStream(cluster, room, (node) => node.call('removeStream', [room, stream]));
    return reply.send();
  });
}
