import type { AddressInfo } from 'node:net';
import { fastify, LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Bus } from '../bus/index.js';
import type { Config } from '../config/config.js';
import type { Logger } from '../logger.js';
import { isLoopback } from '../net/loopback.js';
import { openFileLimit } from '../net/open-files.js';
import { listenFailure, readSettingFile } from '../net/startup-errors.js';
import { guardSockets, OPEN_FILE_SHARES, resolveSocketLimits } from '../net/socket-guard.js';
import { parseMAuthHeader } from '../protocol/mauth.js';
import { bodyHashOf } from '../protocol/signing.js';
import type { Store } from '../store/index.js';
import { superServiceIdOf } from './bootstrap.js';
import { settleTime } from '../cluster/index.js';
import { createClusterGateway } from './cluster.js';
import type { RouteContext } from './context.js';
import { ApiErrors, AuthFailures, RequestFailures, RestCodes, toApiError } from './errors.js';
import { createAuthenticator, MAUTH_REALM } from './mauth.js';
import { recordRequest } from './metrics.js';
import { registerClusterRoutes } from './routes/cluster.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerParticipantRoutes } from './routes/participants.js';
import { registerRoomRoutes } from './routes/rooms.js';
import { registerServiceRoutes } from './routes/services.js';
import { registerStreamRoutes } from './routes/streams.js';
import { registerTokenRoutes } from './routes/tokens.js';
import { registerWebRoutes } from './routes/web.js';
import { completeRouteSchema, createSchemaCompiler, MAX_BODY_DEPTH, nestedDeeperThan } from './validation.js';

export interface ManagementApi {
  port: number;
  close(): Promise<void>;
}

export interface ManagementDeps {
  config: Config;
  store: Store;
  bus: Bus;
  logger: Logger;
  /** The bootstrap's sample room: the demo token endpoint's default room, known once the bootstrap has run. */
  sampleRoomId?: () => string | undefined;
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

/** On every answer: none may be read as another type than it says (a JSON error holding markup, say). */
const NO_SNIFF = { 'x-content-type-options': 'nosniff' };

function createApp(config: Config, logger: Logger): FastifyInstance {
  const { cert, key } = config.management.tls;
  const options = {
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.management.bodyLimit,
    // Malformed URLs and over-long path parameters are refused by the router: in the API's error format too.
    frameworkErrors: (error: Error, _request: FastifyRequest, reply: FastifyReply) => {
      const apiError = toApiError(error);
      return reply.status(apiError.status).headers(NO_SNIFF).send(apiError.body);
    },
    // The OWT REST client puts a trailing slash on some paths (`rooms/{room}/tokens/`).
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true },
  };
  if (!cert || !key) return fastify(options);
  // Routes only see requests and replies, which are the same for HTTP and HTTPS servers.
  return fastify({ ...options, https: { cert: readSettingFile('management.tls.cert', cert), key: readSettingFile('management.tls.key', key) } }) as unknown as FastifyInstance;
}

/** A request without a body has the hash of nothing. */
const NO_BODY_HASH = bodyHashOf();

/** JSON bodies; an empty body (with or without a content type) is no body at all. Its bytes' hash is kept for MAuth. */
function acceptJsonOrNothing(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.decorateRequest('receivedBodyHash', NO_BODY_HASH);
  app.removeContentTypeParser(['application/json', 'text/plain']);
  // The OWT REST client labels body-less requests `text/plain;charset=UTF-8`.
  app.addContentTypeParser(['application/json', 'text/plain'], { parseAs: 'buffer' }, (request, body, done) => {
    request.receivedBodyHash = bodyHashOf(body as Buffer);
    if (body.length === 0) return done(null, undefined);
    parseJson(request, body.toString(), (error, parsed) => {
      if (!error && nestedDeeperThan(parsed, MAX_BODY_DEPTH)) done(ApiErrors.badRequest(RequestFailures.tooDeep), undefined);
      else done(error, parsed);
    });
  });
}

/** The management REST API (SPEC §3) with every route, not listening yet. */
export async function createManagementApp(deps: ManagementDeps): Promise<FastifyInstance> {
  const { config, logger } = deps;
  const store = withDatabaseErrors(deps.store, logger);
  const superServiceId = await superServiceIdOf(store);
  const cluster = createClusterGateway(deps.bus, {
    timeoutMs: config.management.rpcTimeout,
    settleMs: settleTime(config),
    retryMs: config.cluster.joinRetryInterval,
  });
  const authenticate = createAuthenticator({
    store,
    superServiceId,
    replayWindowMs: config.management.replayWindow,
    failureDelayMs: config.management.authFailureDelay,
    requireRequestSignature: config.management.requireRequestSignature,
  });
  const app = createApp(config, logger);

  app.setValidatorCompiler(createSchemaCompiler());
  app.addHook('onRoute', completeRouteSchema);
  acceptJsonOrNothing(app);
  app.decorateRequest('caller', null);
  app.setErrorHandler((error, request, reply) => {
    const apiError = toApiError(error);
    if (apiError.code === 'api.unexpected') request.log.error({ err: error }, 'management request failed');
    if (apiError.restCode === RestCodes.clusterFailed) request.log.warn({ reason: apiError.message }, 'cluster call failed');
    if (apiError.code === 'api.authenticationFailed') {
      const service = parseMAuthHeader(request.headers.authorization ?? '')?.serviceid;
      request.log.warn({ service, address: request.ip, reason: apiError.message }, 'MAuth authentication failed');
      reply.header('WWW-Authenticate', `MAuth realm="${MAUTH_REALM}"`);
    }
    return reply.status(apiError.status).send(apiError.body);
  });
  app.setNotFoundHandler((_request, reply) => {
    const notFound = ApiErrors.notFound();
    return reply.status(notFound.status).send(notFound.body);
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.headers(NO_SNIFF);
    return payload;
  });
  app.addHook('onResponse', async (request, reply) => {
    recordRequest(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
  });

  registerHealthRoutes(app, config, cluster);
  registerWebRoutes({ app, config, store, cluster }, { superServiceId, sampleRoomId: deps.sampleRoomId ?? (() => undefined) });
  await app.register(async (authenticated) => {
    authenticated.addHook('onRequest', async (request) => {
      request.caller = await authenticate(request.headers.authorization, { method: request.method, path: request.url });
    });
    // The request method's signature covers the body's hash, which is known once the body is read.
    authenticated.addHook('preValidation', async (request) => {
      const signed = request.caller?.bodyHash;
      if (signed !== undefined && signed !== request.receivedBodyHash) throw ApiErrors.authenticationFailed(AuthFailures.bodyMismatch);
    });
    const context: RouteContext = { app: authenticated, config, store, cluster };
    registerServiceRoutes(context);
    registerRoomRoutes(context);
    registerTokenRoutes(context);
    registerParticipantRoutes(context);
    registerStreamRoutes(context);
    registerClusterRoutes(context);
  });
  return app;
}

/** Starts the management REST API (SPEC §3) on `config.management.host`/`port`. */
export async function startManagementApi(deps: ManagementDeps): Promise<ManagementApi> {
  const { config, logger } = deps;
  const app = await createManagementApp(deps);
  const socketLimits = resolveSocketLimits(config.management, OPEN_FILE_SHARES.management, openFileLimit());
  guardSockets(app.server, socketLimits, logger, false);
  try {
    await app.listen({ host: config.management.host, port: config.management.port });
  } catch (error) {
    await app.close();
    throw listenFailure('management', config.management.host, config.management.port, error);
  }
  const { port } = app.server.address() as AddressInfo;
  const { cert, key } = config.management.tls;
  const tls = Boolean(cert && key);
  logger.info({ port, tls, ...socketLimits }, 'management API listening');
  if (!tls && !isLoopback(config.management.host)) {
    logger.warn(
      { host: config.management.host, port },
      'management API listens beyond loopback without TLS: MAuth headers and join tokens cross the network in clear; ' +
        'set management.tls.cert and management.tls.key, or listen on 127.0.0.1 behind a TLS proxy',
    );
  }
  let closing: Promise<void> | undefined;
  return {
    port,
    close: () => (closing ??= app.close()),
  };
}
