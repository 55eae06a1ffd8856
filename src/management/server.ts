import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { fastify, LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Bus } from '../bus/index.js';
import type { Config } from '../config/config.js';
import type { Logger } from '../logger.js';
import type { Store } from '../store/index.js';
import { superServiceIdOf } from './bootstrap.js';
import { createClusterGateway } from './cluster.js';
import type { RouteContext } from './context.js';
import { ApiErrors, ErrorCodes, toApiError } from './errors.js';
import { createAuthenticator, MAUTH_REALM } from './mauth.js';
import { HttpMetrics } from './metrics.js';
import { registerClusterRoutes } from './routes/cluster.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerParticipantRoutes } from './routes/participants.js';
import { registerRoomRoutes } from './routes/rooms.js';
import { registerServiceRoutes } from './routes/services.js';
import { registerTokenRoutes } from './routes/tokens.js';
import { registerWebRoutes } from './routes/web.js';
import { completeRouteSchema, createSchemaCompiler } from './validation.js';

export interface ManagementApi {
  port: number;
  close(): Promise<void>;
}

export interface ManagementDeps {
  config: Config;
  store: Store;
  bus: Bus;
  logger: Logger;
  /** The bootstrap's sample room: the demo token endpoint's default room. */
  sampleRoomId?: string;
}

/** Any store failure reaches the caller as 500/1401, whichever route met it. */
function withDatabaseErrors(store: Store, logger: Logger): Store {
  return new Proxy(store, {
    get(target, property, receiver) {
      const member: unknown = Reflect.get(target, property, receiver);
      if (typeof member !== 'function') return member;
      return async (...args: unknown[]) => {
        try {
          return await member.apply(target, args);
        } catch (error) {
          logger.error({ err: error, operation: String(property) }, 'store operation failed');
          throw ApiErrors.database();
        }
      };
    },
  });
}

function createApp(config: Config, logger: Logger): FastifyInstance {
  const { cert, key } = config.management.tls;
  const options = {
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.management.bodyLimit,
    // Malformed URLs and over-long path parameters are refused by the router: in the API's error format too.
    frameworkErrors: (error: Error, _request: FastifyRequest, reply: FastifyReply) => {
      const apiError = toApiError(error);
      return reply.status(apiError.status).send(apiError.body);
    },
    // The OWT REST client puts a trailing slash on some paths (`rooms/{room}/tokens/`).
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true },
  };
  if (!cert || !key) return fastify(options);
  // Routes only see requests and replies, which are the same for HTTP and HTTPS servers.
  return fastify({ ...options, https: { cert: readFileSync(cert), key: readFileSync(key) } }) as unknown as FastifyInstance;
}

/** JSON bodies; an empty body (with or without a content type) is no body at all. */
function acceptJsonOrNothing(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser(['application/json', 'text/plain']);
  // The OWT REST client labels body-less requests `text/plain;charset=UTF-8`.
  app.addContentTypeParser(['application/json', 'text/plain'], { parseAs: 'string' }, (request, body, done) => {
    if (body.length === 0) done(null, undefined);
    else parseJson(request, body.toString(), done);
  });
}

/** Starts the management REST API (SPEC §3) on `config.management.host`/`port`. */
export async function startManagementApi(deps: ManagementDeps): Promise<ManagementApi> {
  const { config, logger } = deps;
  const store = withDatabaseErrors(deps.store, logger);
  const superServiceId = await superServiceIdOf(store);
  const cluster = createClusterGateway(deps.bus, config.management.rpcTimeout);
  const authenticate = createAuthenticator({
    store,
    superServiceId,
    replayWindowMs: config.management.replayWindow,
    failureDelayMs: config.management.authFailureDelay,
  });
  const metrics = new HttpMetrics();
  const app = createApp(config, logger);

  app.setValidatorCompiler(createSchemaCompiler());
  app.addHook('onRoute', completeRouteSchema);
  acceptJsonOrNothing(app);
  app.decorateRequest('caller', null);
  app.setErrorHandler((error, request, reply) => {
    const apiError = toApiError(error);
    if (apiError.code === ErrorCodes.unexpected) request.log.error({ err: error }, 'management request failed');
    if (apiError.code === ErrorCodes.clusterFailed) request.log.warn({ reason: apiError.message }, 'cluster call failed');
    if (apiError.code === ErrorCodes.authenticationFailed) reply.header('WWW-Authenticate', `MAuth realm="${MAUTH_REALM}"`);
    return reply.status(apiError.status).send(apiError.body);
  });
  app.setNotFoundHandler((_request, reply) => {
    const notFound = ApiErrors.notFound();
    return reply.status(notFound.status).send(notFound.body);
  });
  app.addHook('onResponse', async (request, reply) => {
    metrics.record(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
  });

  registerHealthRoutes(app, metrics);
  registerWebRoutes({ app, config, store, cluster }, { superServiceId, sampleRoomId: deps.sampleRoomId });
  await app.register(async (authenticated) => {
    authenticated.addHook('onRequest', async (request) => {
      request.caller = await authenticate(request.headers.authorization);
    });
    const context: RouteContext = { app: authenticated, config, store, cluster };
    registerServiceRoutes(context);
    registerRoomRoutes(context);
    registerTokenRoutes(context);
    registerParticipantRoutes(context);
    registerClusterRoutes(context);
  });

  try {
    await app.listen({ host: config.management.host, port: config.management.port });
  } catch (error) {
    await app.close();
    throw error;
  }
  const { port } = app.server.address() as AddressInfo;
  const { cert, key } = config.management.tls;
  logger.info({ port, tls: Boolean(cert && key) }, 'management API listening');
  let closing: Promise<void> | undefined;
  return {
    port,
    close: () => (closing ??= app.close()),
  };
}
