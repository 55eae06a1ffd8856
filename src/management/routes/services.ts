import type { Service } from '../../store/index.js';
import { callerOf, requireSuper, type RouteContext } from '../context.js';
import { ApiErrors, RequestFailures } from '../errors.js';
import { newId, newServiceKey } from '../ids.js';
import { endRoomsLive } from './rooms.js';

interface ServiceParams {
  service: string;
}

const createServiceBody = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: { name: { type: 'string', minLength: 1, maxLength: 256 } },
};

/** A service as listed: its key is shown once, when it is created, and never again. */
function summary(service: Service): Omit<Service, 'key'> {
  return { _id: service._id, name: service.name, rooms: service.rooms };
}

/** `/services`: the super service only (SPEC §3). */
export function registerServiceRoutes({ app, store, cluster }: RouteContext): void {
  app.post<{ Body: { name: string } }>('/services', { schema: { body: createServiceBody } }, async (request) => {
    requireSuper(callerOf(request));
    const service = { _id: newId(), name: request.body.name, key: newServiceKey() };
    await store.createService(service);
    return { ...service, rooms: [] };
  });

  app.get('/services', async (request) => {
    requireSuper(callerOf(request));
    return (await store.listServices()).map(summary);
  });

  app.get<{ Params: ServiceParams }>('/services/:service', async (request) => {
    requireSuper(callerOf(request));
    const service = await store.getService(request.params.service);
    if (!service) throw ApiErrors.serviceNotFound();
    return summary(service);
  });

  app.delete<{ Params: ServiceParams }>('/services/:service', async (request, reply) => {
    const caller = callerOf(request);
    requireSuper(caller);
    if (request.params.service === caller.service._id) {
      throw ApiErrors.permissionDenied(RequestFailures.superServiceUndeletable);
    }
    const service = await store.getService(request.params.service);
    if (!service || !(await store.deleteService(service._id))) throw ApiErrors.serviceNotFound();
    // Its rooms and unused tokens went with it; whoever is in those rooms live is dropped.
    await endRoomsLive(cluster, service.rooms, request.log);
    return reply.type('text/plain; charset=utf-8').send('Service deleted');
  });
}
