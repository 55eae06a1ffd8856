import type { Preference, WorkerInfo } from '../../cluster/api.js';
import type { CreateTokenBody } from '../../protocol/rest.js';
import { tokenKeyOf, type Room, type TokenRecord } from '../../store/index.js';
import { callerOf, ownRoom, type RoomParams, type RouteContext } from '../context.js';
import { ApiErrors, RequestFailures } from '../errors.js';
import { newId } from '../ids.js';
import { encodeToken } from '../../protocol/token.js';

const createTokenBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    user: { type: 'string', maxLength: 256 },
    role: { type: 'string', maxLength: 64 },
    preference: {
      type: 'object',
      additionalProperties: false,
      properties: { isp: { type: 'string', maxLength: 256 }, region: { type: 'string', maxLength: 256 } },
    },
  },
};

/** OWT's origin for a token requested without a preference. */
export const DEFAULT_ORIGIN: Preference = { isp: 'isp', region: 'region' };

/** Where clients reach the portal: its `via_host` when set (a proxy), else its own address. */
export function portalAddress(info: WorkerInfo): { host: string; secure: boolean } {
  const viaHost = /^(https?):\/\/(.*)$/i.exec(info.via_host);
  if (viaHost) return { host: viaHost[2]!, secure: viaHost[1]!.toLowerCase() === 'https' };
  if (info.via_host) return { host: info.via_host, secure: info.ssl };
  return { host: `${info.hostname || info.ip}:${info.port}`, secure: info.ssl };
}

export interface TokenRequest {
  room: Room;
  /** The service the token is issued for. */
  service: string;
  user: string | undefined;
  role: string;
  origin: Preference;
}

/** Validates user and role, reserves a portal for the token's code, records the token; its text form. */
export async function issueToken(
  { config, store, cluster }: Pick<RouteContext, 'config' | 'store' | 'cluster'>,
  { room, service, user, role, origin }: TokenRequest,
): Promise<string> {
  if (!user) throw ApiErrors.badRequest(RequestFailures.emptyUser);
  if (!room.roles.some((candidate) => candidate.role === role)) {
    throw ApiErrors.badRequest(RequestFailures.unknownRole(role));
  }
  const code = newId();
  const portal = await cluster.schedulePortal(code, origin, config.tokens.lifetime);
  const { host, secure } = portalAddress(portal.info);
  const token: TokenRecord = {
    _id: newId(),
    user,
    role,
    room: room._id,
    service,
    creationDate: Date.now(),
    origin,
    code,
    secure,
    host,
  };
  await store.createToken(token);
  return encodeToken(await tokenKeyOf(store), { tokenId: token._id, host, secure });
}

/** `POST /v1/rooms/{room}/tokens` → the join token as text (SPEC §3 token issuance). */
export function registerTokenRoutes(context: RouteContext): void {
  context.app.post<{ Params: RoomParams; Body: CreateTokenBody }>(
    '/v1/rooms/:room/tokens',
    { schema: { body: createTokenBody } },
    async (request, reply) => {
      const caller = callerOf(request);
      const room = await ownRoom(context.store, caller, request.params.room);
      const text = await issueToken(context, {
        room,
        service: caller.service._id,
        // MAuth's optional identity takes precedence over the body, as in OWT.
        user: caller.user ?? request.body.user,
        role: caller.role ?? request.body.role ?? '',
        origin: request.body.preference ?? DEFAULT_ORIGIN,
      });
      return reply.type('text/plain; charset=utf-8').send(text);
    },
  );
}
