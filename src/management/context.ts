import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../config/config.js';
import type { Room, Store } from '../store/index.js';
import type { ClusterGateway } from './cluster.js';
import { ApiErrors } from './errors.js';
import type { Caller } from './mauth.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by MAuth on every authenticated route; null on the public ones. */
    caller: Caller | null;
    /** The hash of the body as received (of nothing when there was none), for the MAuth request method. */
    receivedBodyHash: string;
  }
}

/** What every route module needs; each registers its routes on `app`. */
export interface RouteContext {
  app: FastifyInstance;
  config: Config;
  store: Store;
  cluster: ClusterGateway;
}

export function callerOf(request: FastifyRequest): Caller {
  if (!request.caller) throw ApiErrors.unexpected();
  return request.caller;
}

export function requireSuper(caller: Caller): void {
  if (!caller.isSuper) throw ApiErrors.permissionDenied();
}

export interface RoomParams {
  room: string;
}

/** The caller's own room; another service's room is as unknown as a missing one (404/1003). */
export async function ownRoom(store: Store, caller: Caller, roomId: string): Promise<Room> {
  const found = await store.getRoom(roomId);
  if (!found || found.serviceId !== caller.service._id) throw ApiErrors.roomNotFound();
  return found.room;
}
