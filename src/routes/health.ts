import type { FastifyPluginAsync } from 'fastify';
import { healthProbe } from '../db/database.js';

/** Liveness and database readiness, for load balancers and monitoring. */
const health: FastifyPluginAsync = async (fastify) => {
  const probe = healthProbe(fastify.services.db);
  fastify.get('/healthz', async (request, reply) => {
    try {
      probe();
      return { status: 'ok', db: 'ok' };
    } catch (err) {
      request.log.error({ err }, 'health check: database not usable');
      return reply.code(503).send({ status: 'error', db: 'error', reason: (err as Error).message });
    }
  });
};
export default health;
