import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyReply } from 'fastify';
import { RateWindow } from '../../portal/rate.js';
import type { RouteContext } from '../context.js';
import { ApiErrors } from '../errors.js';
import { DEFAULT_ORIGIN, issueToken } from './tokens.js';

/** `npm run build` bundles `web/` here; the same path from `src/` (tsx) and from `dist/` (built). */
export const WEB_ASSETS_DIR = fileURLToPath(new URL('../../../dist/web/', import.meta.url));

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

/** The pages load only their own scripts and styles; sockets may go to a portal on another port or host. */
const PAGE_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self' http: https: ws: wss:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const NOT_BUILT = 'The web pages are not built yet: run "npm run build".\n';

const assetParams = {
  type: 'object',
  additionalProperties: false,
  required: ['asset'],
  properties: { asset: { type: 'string', pattern: '^[a-z0-9-]{1,64}\\.(js|css|js\\.map|css\\.map)$' } },
};

/** A user name shown to others: printable, not blank. */
const printableName = '^[^\\x00-\\x1f\\x7f]*[^\\s\\x00-\\x1f\\x7f][^\\x00-\\x1f\\x7f]*$';

interface DemoTokenBody {
  user: string;
  room?: string;
  role?: string;
}

const demoTokenBody = {
  type: 'object',
  additionalProperties: false,
  required: ['user'],
  properties: {
    user: { type: 'string', minLength: 1, maxLength: 64, pattern: printableName },
    room: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,128}$' },
    role: { type: 'string', minLength: 1, maxLength: 64 },
  },
};

const DEMO_ROLE = 'presenter';
const RATE_WINDOW_MS = 60_000;

export interface WebRouteOptions {
  superServiceId: string;
  /** The room a demo token is for when the page names none; without it the page must name one. */
  sampleRoomId: string | undefined;
}

async function sendFile(reply: FastifyReply, name: string): Promise<FastifyReply> {
  let content: Buffer;
  try {
    content = await readFile(join(WEB_ASSETS_DIR, name));
  } catch {
    return name.endsWith('.html')
      ? reply.status(503).type('text/plain; charset=utf-8').send(NOT_BUILT)
      : reply.status(404).type('text/plain; charset=utf-8').send('Not found\n');
  }
  if (name.endsWith('.html')) reply.header('content-security-policy', PAGE_POLICY);
  return reply
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    // Rebuilt assets are picked up at once; they are small and served locally.
    .header('cache-control', 'no-cache')
    .type(contentTypes[extname(name)]!)
    .send(content);
}

/**
 * The public web pages (the join page at `/`, the admin page at `/admin`) and, only when
 * `management.demo` is on, `POST /demo/token`: a join token for anyone who asks, issued as the
 * super service. That is for demos on a trusted network, never for production.
 */
export function registerWebRoutes(context: RouteContext, options: WebRouteOptions): void {
  const { app, config, store } = context;
  // A page may be linked with any query (the join page reads `?room=`).
  const anyQuery = { schema: { querystring: { type: 'object' } } };
  app.get('/', anyQuery, (_request, reply) => sendFile(reply, 'join.html'));
  app.get('/admin', anyQuery, (_request, reply) => sendFile(reply, 'admin.html'));
  app.get<{ Params: { asset: string } }>('/web/:asset', { schema: { params: assetParams } }, (request, reply) =>
    sendFile(reply, request.params.asset),
  );

  if (!config.management.demo) return;
  const demoRate = new RateWindow(RATE_WINDOW_MS);
  app.post<{ Body: DemoTokenBody }>('/demo/token', { schema: { body: demoTokenBody } }, async (request, reply) => {
    if (!demoRate.hit(request.ip, config.management.demoTokensPerIpPerMinute)) {
      throw ApiErrors.badRequest('Too many requests', 429);
    }
    const roomId = request.body.room ?? options.sampleRoomId;
    if (!roomId) throw ApiErrors.badRequest('body/room is required');
    const found = await store.getRoom(roomId);
    // The demo hands out tokens for the super service's own rooms only, never another tenant's.
    if (!found || found.serviceId !== options.superServiceId) throw ApiErrors.roomNotFound();
    const text = await issueToken(context, {
      room: found.room,
      service: options.superServiceId,
      user: request.body.user,
      role: request.body.role ?? DEMO_ROLE,
      origin: DEFAULT_ORIGIN,
    });
    return reply.type('text/plain; charset=utf-8').send(text);
  });
}
