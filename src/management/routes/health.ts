import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isLoopback } from '../../net/loopback.js';
import { signaturesEqual } from '../../protocol/signing.js';
import { ApiErrors, RequestFailures } from '../errors.js';
import type { Config } from '../../config/config.js';
import { renderMetrics } from '../../metrics.js';
import type { ClusterGateway } from '../cluster.js';
import { renderMediaMetrics } from '../metrics.js';

/** Callers on this host, or anywhere with `Authorization: Bearer <token>` when a token is configured. */
function mayReadMetrics(request: FastifyRequest, token: string): boolean {
  if (isLoopback(request.socket.remoteAddress ?? '')) return true;
  const given = /^Bearer +(.+)$/i.exec(request.headers.authorization ?? '')?.[1];
  return token !== '' && given !== undefined && signaturesEqual(token, given);
}

/**
 * The routes without MAuth: the health check, which says nothing, and the metrics, which tell
 * about traffic and are served to this host or to the holder of `management.metricsToken` (unless
 * they are off, or served on a listener of their own: `metrics.port`).
 */
export function registerHealthRoutes(app: FastifyInstance, config: Config, cluster: ClusterGateway): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  if (!config.metrics.enabled || config.metrics.port !== 0) return;
  app.get('/metrics', async (request, reply) => {
    if (!mayReadMetrics(request, config.management.metricsToken)) throw ApiErrors.permissionDenied(RequestFailures.metricsRefused);
    // The webrtc nodes' figures are asked of them at each scrape: in cluster mode they are processes of their own.
    const media = renderMediaMetrics(await cluster.mediaStats());
    return reply.type('text/plain; version=0.0.4; charset=utf-8').send(renderMetrics() + media);
  });
}
