import type { FastifyPluginAsync } from 'fastify';
import { overviewModel } from '../../staff/overview.js';
import { watchOverview } from '../../watch/pages.js';
import { staffKit } from './common.js';

const overview: FastifyPluginAsync = async (fastify) => {
  const { t, viewer, staffPage } = staffKit(fastify);
  const { repos, now } = fastify.services;

  fastify.get('/staff', viewer, async (req, reply) =>
    staffPage(req, reply, 'overview', {
      title: t(req)('staff.overview.title'),
      ...overviewModel(repos, now(), fastify.config.migrationDeadline, { lang: req.lang, reminderMinDays: fastify.config.reminderMinDays }),
      recentJobs: fastify.jobService.recent(5),
      watch: watchOverview(repos, now(), { enabled: fastify.config.watchEnabled, intervalMs: fastify.config.watchIntervalMs }),
    }),
  );
};

export default overview;
