import type { FastifyInstance } from 'fastify';
import type { HttpMetrics } from '../metrics.js';

/** The unauthenticated routes: nothing they answer is secret. */
export function registerHealthRoutes(app: FastifyInstance, metrics: HttpMetrics): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/metrics', async (_request, reply) =>
    reply.type('text/plain; version=0.0.4; charset=utf-8').send(metrics.render()),
  );
}
