import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { healthProbe } from '../db/database.js';

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);
const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * May this request read /metrics? With METRICS_TOKEN: only with `Authorization: Bearer <token>`.
 * Without it: only from this machine, and never a request a proxy forwarded (a reverse proxy on the
 * same machine connects from loopback too, so the socket's address alone would open it to everyone).
 */
function mayReadMetrics(request: FastifyRequest, token: string | undefined): boolean {
  if (token) {
    const given = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1] ?? '';
    return timingSafeEqual(digest(given), digest(token));
  }
  return LOOPBACK.has(request.socket.remoteAddress ?? '') && request.headers['x-forwarded-for'] === undefined && request.headers.forwarded === undefined;
}

/**
 * For the team that runs the service: liveness (`/healthz`, one read, cheap enough for every few
 * seconds), readiness (`/readyz`: can this process serve now? 503 with the reason), and the figures
 * (`/metrics`, Prometheus' text format, not public).
 */
const health: FastifyPluginAsync = async (fastify) => {
  const probe = healthProbe(fastify.services.db);
  const { metrics, readiness, settings } = fastify.ops;
  fastify.get('/healthz', async (request, reply) => {
    try {
      probe();
      return { status: 'ok', db: 'ok' };
    } catch (err) {
      request.log.error({ err }, 'health check: database not usable');
      return reply.code(503).send({ status: 'error', db: 'error', reason: (err as Error).message });
    }
  });
  fastify.get('/readyz', async (request, reply) => {
    const r = readiness.check();
    if (r.ready) return { status: 'ready', ...r.checks };
    request.log.warn({ readiness: r.checks }, 'not ready');
    const reason = Object.entries(r.checks)
      .filter(([, v]) => v !== 'ok')
      .map(([k, v]) => `${k}: ${v}`)
      .join('; ');
    return reply.code(503).send({ status: 'not ready', reason, ...r.checks });
  });
  fastify.get('/metrics', async (request, reply) => {
    if (!mayReadMetrics(request, settings.metricsToken)) {
      return reply
        .code(settings.metricsToken ? 401 : 403)
        .header('cache-control', 'no-store')
        .send({ status: 'error', reason: settings.metricsToken ? 'a bearer token is needed' : 'only from this machine without METRICS_TOKEN' });
    }
    reply.header('content-type', metrics.contentType).header('cache-control', 'no-store');
    return metrics.text();
  });
};
export default health;
