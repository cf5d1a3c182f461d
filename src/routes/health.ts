import type { FastifyPluginAsync } from 'fastify';

/** Liveness and database readiness, for load balancers and monitoring. */
const health: FastifyPluginAsync = async (fastify) => {
  // Prepared once: a probe hit every few seconds should not compile SQL each time.
  const probe = fastify.services.db.prepare('SELECT count(*) FROM sqlite_master');
  fastify.get('/healthz', async (request, reply) => {
    try {
      probe.get();
      return { status: 'ok', db: 'ok' };
    } catch (err) {
      request.log.error({ err }, 'health check: database not usable');
      return reply.code(503).send({ status: 'error', db: 'error', reason: (err as Error).message });
    }
  });
};
export default health;
