import type { FastifyPluginAsync } from 'fastify';

const home: FastifyPluginAsync = async (fastify) => {
  fastify.get('/', async (request, reply) => {
    const counts = fastify.services.repos.migrations.countByState();
    const total = counts.reduce((n, c) => n + c.n, 0);
    const affected = counts.filter((c) => c.state === 'affected' || c.state === 'unknown').reduce((n, c) => n + c.n, 0);
    return reply.page('home', { title: fastify.i18n.t(request.lang)('home.title'), stats: fastify.config.demo && total ? { affected, total } : null });
  });
};
export default home;
