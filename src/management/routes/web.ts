import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import type { WorkerSnapshot } from '../../cluster/api.js';
import { RateWindow } from '../../rate-window.js';
import type { Room } from '../../store/index.js';
import type { ClusterGateway } from '../cluster.js';
import type { RouteContext } from '../context.js';
import { ApiErrors, RequestFailures } from '../errors.js';
import { DEFAULT_ORIGIN, issueToken, portalAddress } from './tokens.js';

/** `npm run build` bundles `web/` here; the same path from `src/` (tsx) and from `dist/` (built). */
export const WEB_ASSETS_DIR = fileURLToPath(new URL('../../../dist/web/', import.meta.url));

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json; charset=utf-8',
};

/** The pages load only their own scripts and styles, and talk to this API and to `portals` (`scheme://host[:port]`). */
function pagePolicy(portals: readonly string[]): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    ["connect-src 'self'", ...portals].join(' '),
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** A host (and port) as a policy may name it; anything else a worker reports is left out of the header. */
const POLICY_HOST = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

/** Where the join page's sockets may go: every portal the cluster knows now, as tokens name them. */
async function portalSources(cluster: ClusterGateway, log: FastifyBaseLogger): Promise<string[]> {
  let portals: WorkerSnapshot[];
  try {
    portals = await cluster.workers('portal');
  } catch (error) {
    log.warn({ err: error }, 'no portal is allowed by the page policy: the cluster did not answer');
    return [];
  }
  return portals.flatMap(({ info }) => {
    const { host: address, secure } = portalAddress(info);
    // A path in a proxy's address would narrow the source to that path alone; Socket.IO has its own.
    const host = address.split('/')[0]!;
    if (!POLICY_HOST.test(host)) return [];
    return secure ? [`https://${host}`, `wss://${host}`] : [`http://${host}`, `ws://${host}`];
  });
}

const NOT_BUILT = 'The web pages are not built yet: run "npm run build".\n';

const assetParams = {
  type: 'object',
  additionalProperties: false,
  required: ['asset'],
  properties: { asset: { type: 'string', pattern: '^[a-z0-9-]{1,64}\\.(js|css|svg|js\\.map|css\\.map)$' } },
};

/** A user name shown to others: printable, not blank. */
const printableName = '^[^\\x00-\\x1f\\x7f]*[^\\s\\x00-\\x1f\\x7f][^\\x00-\\x1f\\x7f]*$';

interface DemoTokenBody {
  user: string;
  room?: string;
}

const demoTokenBody = {
  type: 'object',
  additionalProperties: false,
  required: ['user'],
  properties: {
    user: { type: 'string', minLength: 1, maxLength: 64, pattern: printableName },
    room: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,128}$' },
  },
};

/** Every demo token is for this role: the demo lets nobody choose a stronger one. */
const DEMO_ROLE = 'presenter';

/**
 * A JSON content type makes a browser ask before sending the request from another site (CORS
 * preflight), which this server never grants: other sites' pages cannot fetch demo tokens.
 */
const JSON_CONTENT_TYPE = /^application\/json\s*(;|$)/i;
const RATE_WINDOW_MS = 60_000;

export interface WebRouteOptions {
  superServiceId: string;
  /** The room a demo token is for when the page names none; without it the page must name one. */
  sampleRoomId: () => string | undefined;
}

async function sendFile(reply: FastifyReply, name: string, portals: readonly string[] = []): Promise<FastifyReply> {
  let content: Buffer;
  try {
    content = await readFile(join(WEB_ASSETS_DIR, name));
  } catch {
    return name.endsWith('.html')
      ? reply.status(503).type('text/plain; charset=utf-8').send(NOT_BUILT)
      : reply.status(404).type('text/plain; charset=utf-8').send('Not found\n');
  }
  if (name.endsWith('.html')) reply.header('content-security-policy', pagePolicy(portals));
  return reply
    .header('referrer-policy', 'no-referrer')
    // Rebuilt assets are picked up at once; they are small and served locally.
    .header('cache-control', 'no-cache')
    .type(contentTypes[extname(name)]!)
    .send(content);
}

/**
 * The public web pages (the join page at `/`, the admin page at `/admin`) and, only when
 * `management.demo` is on, `POST /demo/token`: a presenter's token for the sample room or a room
 * marked for demos, for anyone who asks, issued as the super service. That is for demos on a
 * trusted network, never for production.
 */
export function registerWebRoutes(context: RouteContext, options: WebRouteOptions): void {
  const { app, config, store, cluster } = context;
  // A page may be linked with any query (the join page reads `?room=`).
  const anyQuery = { schema: { querystring: { type: 'object' } } };
  app.get('/', anyQuery, async (request, reply) => sendFile(reply, 'join.html', await portalSources(cluster, request.log)));
  app.get('/admin', anyQuery, (_request, reply) => sendFile(reply, 'admin.html'));
  // Where browsers look for an icon when a page names none.
  app.get('/favicon.ico', (_request, reply) => sendFile(reply, 'favicon.svg'));
  app.get<{ Params: { asset: string } }>('/web/:asset', { schema: { params: assetParams } }, (request, reply) =>
    sendFile(reply, request.params.asset),
  );

  if (!config.management.demo) return;
  app.log.warn(
    'management.demo is on: POST /demo/token gives presenter tokens to anyone who can reach the management port; for demos only, never in production',
  );
  const demoRate = new RateWindow(RATE_WINDOW_MS);
  const demoRooms = new Set(config.management.demoRooms);
  // The sample room, and the super service's rooms named in `management.demoRooms`; never another tenant's.
  const isDemoRoom = ({ room, serviceId }: { room: Room; serviceId: string }) =>
    serviceId === options.superServiceId && (room._id === options.sampleRoomId() || demoRooms.has(room.name));
  const onRequest = async (request: FastifyRequest) => {
    if (!JSON_CONTENT_TYPE.test(request.headers['content-type'] ?? '')) {
      throw ApiErrors.badRequest(RequestFailures.jsonRequired, 415);
    }
  };
  app.post<{ Body: DemoTokenBody }>('/demo/token', { schema: { body: demoTokenBody }, onRequest }, async (request, reply) => {
    if (!demoRate.hit(request.ip, config.management.demoTokensPerIpPerMinute)) {
      throw ApiErrors.badRequest('Too many requests', 429);
    }
    const roomId = request.body.room ?? options.sampleRoomId();
    if (!roomId) throw ApiErrors.badRequest('body/room is required');
    const found = await store.getRoom(roomId);
    if (!found || !isDemoRoom(found)) throw ApiErrors.roomNotFound();
    const text = await issueToken(context, {
      room: found.room,
      service: options.superServiceId,
      user: request.body.user,
      role: DEMO_ROLE,
      origin: DEFAULT_ORIGIN,
    });
    request.log.info({ room: found.room._id, user: request.body.user, role: DEMO_ROLE, address: request.ip }, 'demo token issued');
    // The join page shows the room by its name; the login answer gives only its id.
    return reply.type('text/plain; charset=utf-8').header('x-room-name', encodeURIComponent(found.room.name)).send(text);
  });
}
